import { z } from 'zod';
import { invalidArgument } from '../errors.js';
import { executionState, executionStateOf, isoDate, sandboxId, sandboxState } from './schemas.js';
import { defineTool, iso } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  execution_id: z.string().min(1).max(100).optional().describe('Only this background run; the sandbox keeps running.'),
});

const outputSchema = z.object({
  sandbox_id: z.string(),
  previous_status: sandboxState,
  current_status: sandboxState.describe('"stopped", or "running" when only an execution was stopped.'),
  uptime: z.number().describe('Seconds it had been running.'),
  stopped_at: isoDate,
  data_preserved: z.boolean().describe('Always true: files are kept until sandbox_delete or expiry.'),
  execution: executionState.optional().describe("With execution_id: the execution's state after the stop."),
});

export const sandboxStop = defineTool({
  name: 'sandbox_stop',
  title: 'Stop sandbox',
  description: 'Stop a sandbox, keeping its files (E2B: paused with memory); sandbox_configure starts it again.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    if (args.execution_id !== undefined) {
      const stopped = await sandboxes.stopExecution(args.sandbox_id, args.execution_id);
      if (!stopped)
        throw invalidArgument(
          `Sandbox ${args.sandbox_id} has no execution "${args.execution_id.slice(0, 100)}".`,
          'Use the execution_id that sandbox_execute returned for this sandbox.',
        );
      return {
        structured: {
          sandbox_id: args.sandbox_id,
          previous_status: stopped.sandboxState,
          current_status: stopped.sandboxState,
          uptime: stopped.uptimeS,
          stopped_at: iso(new Date()),
          data_preserved: true,
          execution: executionStateOf(stopped.state),
        },
        text: `Execution ${stopped.state.executionId} is ${stopped.state.status}${stopped.state.exitCode === null ? '' : ` (exit ${stopped.state.exitCode})`}; the sandbox is left ${stopped.sandboxState}.`,
      };
    }
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
      text:
        r.previousState === 'running'
          ? `Stopped ${args.sandbox_id} after ${r.uptimeS}s; its files are kept.`
          : `${args.sandbox_id} was already stopped.`,
    };
  },
});
