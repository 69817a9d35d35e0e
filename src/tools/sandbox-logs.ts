import { z } from 'zod';
import { executionState, executionStateOf, isoDate, sandboxId } from './schemas.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  lines: z.number().int().min(1).max(1000).default(100).describe('Newest entries to return.'),
  log_level: z
    .enum(['error', 'warn', 'info', 'debug', 'all'])
    .default('all')
    .describe('stdout is info, stderr warn, failures error.'),
  include_timestamps: z.boolean().default(true).describe('Include timestamps.'),
  execution_id: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("Only this run's entries and state (to follow a background run)."),
});

const outputSchema = z.object({
  logs: z.array(
    z.object({
      timestamp: isoDate.optional(),
      level: z.enum(['error', 'warn', 'info', 'debug']),
      source: z.enum(['system', 'execution', 'stdout', 'stderr']),
      message: z.string(),
      execution_id: z.string().optional(),
    }),
  ),
  total_lines: z.number().int().describe('Entries at the requested level in the whole history.'),
  oldest_entry: isoDate.nullable().describe('Timestamp of the oldest entry kept.'),
  execution: executionState.optional().describe('With execution_id: where that execution stands.'),
});

export const sandboxLogs = defineTool({
  name: 'sandbox_logs',
  title: 'Sandbox logs',
  description: "A sandbox's history (kept across restarts): lifecycle, setup steps, each run's stdout and stderr.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.logs({
      sandboxId: args.sandbox_id,
      lines: args.lines,
      logLevel: args.log_level,
      executionId: args.execution_id,
    });
    const logs = r.entries.map((e) => ({
      ...(args.include_timestamps ? { timestamp: e.ts } : {}),
      level: e.level,
      source: e.source,
      message: e.message,
      ...(e.execution_id ? { execution_id: e.execution_id } : {}),
    }));
    const text = logs.map(
      (l) => `${l.timestamp ? `${l.timestamp} ` : ''}${l.level.toUpperCase()} [${l.source}] ${l.message}`,
    );
    return {
      structured: {
        logs,
        total_lines: r.total,
        oldest_entry: r.oldest ?? null,
        ...(r.execution ? { execution: executionStateOf(r.execution) } : {}),
      },
      text: [
        ...(r.execution
          ? [
              `execution ${r.execution.executionId}: ${r.execution.status}${r.execution.exitCode === null ? '' : ` (exit ${r.execution.exitCode})`}`,
            ]
          : []),
        `${logs.length} of ${r.total} entries:`,
        ...text,
      ].join('\n'),
    };
  },
});
