import { z } from 'zod';
import { isoDate, sandboxId } from './schemas.js';
import { defineTool, iso } from './tool.js';

const inputSchema = z.object({ sandbox_id: sandboxId });

const outputSchema = z.object({
  sandbox_id: z.string(),
  deleted_at: isoDate,
  resources_cleaned: z.array(z.string()),
});

export const sandboxDelete = defineTool({
  name: 'sandbox_delete',
  title: 'Delete sandbox',
  description: 'Delete a sandbox with its files and history. Cannot be undone.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.delete(args.sandbox_id);
    return {
      structured: { sandbox_id: args.sandbox_id, deleted_at: iso(r.deletedAt), resources_cleaned: r.resourcesCleaned },
      text: `Deleted ${args.sandbox_id} (${r.resourcesCleaned.join(', ')}).`,
    };
  },
});
