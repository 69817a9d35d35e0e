import { z } from 'zod';
import { executionState, executionStateOf, isoDate, sandboxId } from './schemas.js';
import { defineTool } from './tool.js';

const inputSchema = z.object({
  sandbox_id: sandboxId,
  lines: z.number().int().min(1).max(1000).default(100).describe('How many of the newest entries to return, 1 to 1000 (default 100).'),
  log_level: z.enum(['error', 'warn', 'info', 'debug', 'all']).default('all').describe('Lowest level to return (default all). stdout lines are info, stderr lines warn, failures error.'),
  include_timestamps: z.boolean().default(true).describe('Include each entry\'s timestamp (default true).'),
  execution_id: z.string().min(1).max(100).optional().describe('Only this execution\'s entries (from sandbox_execute), with its state in execution: how to follow a background run.'),
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
  description: 'Read a sandbox\'s history: lifecycle events, setup steps, and each execution with its stdout and stderr lines. It is kept on disk and survives a restart of this server.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.logs({ sandboxId: args.sandbox_id, lines: args.lines, logLevel: args.log_level, executionId: args.execution_id });
    const logs = r.entries.map((e) => ({
      ...(args.include_timestamps ? { timestamp: e.ts } : {}),
      level: e.level,
      source: e.source,
      message: e.message,
      ...(e.execution_id ? { execution_id: e.execution_id } : {}),
    }));
    const text = logs.map((l) => `${l.timestamp ? `${l.timestamp} ` : ''}${l.level.toUpperCase()} [${l.source}] ${l.message}`);
    return {
      structured: { logs, total_lines: r.total, oldest_entry: r.oldest ?? null, ...(r.execution ? { execution: executionStateOf(r.execution) } : {}) },
      text: [
        ...(r.execution ? [`execution ${r.execution.executionId}: ${r.execution.status}${r.execution.exitCode === null ? '' : ` (exit ${r.execution.exitCode})`}`] : []),
        `${logs.length} of ${r.total} entries:`,
        ...text,
      ].join('\n'),
    };
  },
});
