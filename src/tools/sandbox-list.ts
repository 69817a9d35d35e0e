import { z } from 'zod';
import { sandboxSummary, summaryOf } from './schemas.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  status: z.enum(['running', 'stopped', 'all']).default('all').describe('Which to list.'),
  template: z.string().max(64).optional().describe('Only those of this template.'),
  limit: z.number().int().min(1).max(1000).default(50).describe('At most this many; counts cover all.'),
  sort_by: z.enum(['created_at', 'name', 'last_activity']).default('created_at').describe('Sort key.'),
  order: z.enum(['asc', 'desc']).default('desc').describe('Sort order.'),
});

const outputSchema = z.object({
  sandboxes: z.array(sandboxSummary),
  total_count: z.number().int(),
  running_count: z.number().int(),
  stopped_count: z.number().int(),
});

export const sandboxList = defineTool({
  name: 'sandbox_list',
  title: 'List sandboxes',
  description: 'List the sandboxes this server created.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.list({
      status: args.status,
      template: args.template,
      limit: args.limit,
      sortBy: args.sort_by,
      order: args.order,
    });
    const lines = r.sandboxes.map((s) => `${s.id}  ${s.state.padEnd(7)}  ${s.template}  ${s.name}`);
    return {
      structured: {
        sandboxes: r.sandboxes.map((s) => summaryOf(s, sandboxes.providerName)),
        total_count: r.total,
        running_count: r.running,
        stopped_count: r.stopped,
      },
      text: [`${r.total} sandbox(es): ${r.running} running, ${r.stopped} stopped.`, ...lines].join('\n'),
    };
  },
});
