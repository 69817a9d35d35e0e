import { z } from 'zod';
import { isoDate, sandboxId, sandboxState } from './schemas.js';
import { defineTool, iso } from './tool.js';

const inputSchema = z.object({ sandbox_id: sandboxId });

const outputSchema = z.object({
  sandbox_id: z.string(),
  previous_status: sandboxState,
  current_status: z.literal('stopped'),
  uptime: z.number().describe('Seconds it had been running.'),
  stopped_at: isoDate,
  data_preserved: z.boolean().describe('Always true: files are kept until sandbox_delete or expiry.'),
});

export const sandboxStop = defineTool({
  name: 'sandbox_stop',
  title: 'Stop sandbox',
  description:
    'Stop a sandbox: its files are kept. On Docker its processes end; on E2B the sandbox is paused with its memory, so they carry on after a start. Stopping a stopped sandbox is not an error. Start it again with sandbox_configure; remove it with sandbox_delete.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.stop(args.sandbox_id);
    return {
      structured: {
        sandbox_id: args.sandbox_id,
        previous_status: r.previousState,
        current_status: 'stopped' as const,
        uptime: r.uptimeS,
        stopped_at: iso(r.stoppedAt),
        data_preserved: true,
      },
      text: r.previousState === 'running' ? `Stopped ${args.sandbox_id} after ${r.uptimeS}s; its files are kept.` : `${args.sandbox_id} was already stopped.`,
    };
  },
});
