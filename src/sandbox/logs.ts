import { ErrorCode, SandboxError, truncateForMessage } from '../errors.js';
import type { HistoryEntry, LogLevel } from '../store/history-store.js';
import type { SandboxContext } from './context.js';
import type { ExecutionState } from './shapes.js';

export interface LogsRequest {
  sandboxId: string;
  lines?: number;
  logLevel?: LogLevel | 'all';
  /** That execution's entries only, with its state. */
  executionId?: string;
}

export interface LogsResult {
  entries: HistoryEntry[];
  total: number;
  oldest?: string;
  execution?: ExecutionState;
}

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The sandbox's history, newest last, at or above a level; it outlives the server process. */
export async function sandboxLogs(ctx: SandboxContext, req: LogsRequest): Promise<LogsResult> {
  await ctx.provider.get(req.sandboxId); // not found is an error, not an empty history
  const history = await ctx.history.read(req.sandboxId);
  const level = req.logLevel ?? 'all';
  let execution: ExecutionState | undefined;
  let scope = history;
  if (req.executionId !== undefined) {
    execution = await ctx.background.state(req.sandboxId, req.executionId, history);
    if (!execution) {
      throw new SandboxError(
        ErrorCode.INVALID_ARGUMENT,
        `Sandbox ${req.sandboxId} has no execution "${truncateForMessage(req.executionId)}" in its history.`,
        'Use the execution_id that sandbox_execute returned for this sandbox.',
      );
    }
    scope = history.filter((e) => e.execution_id === req.executionId);
  }
  const matching = level === 'all' ? scope : scope.filter((e) => SEVERITY[e.level] >= SEVERITY[level]);
  return {
    entries: matching.slice(-(req.lines ?? 100)),
    total: matching.length,
    oldest: history[0]?.ts,
    ...(execution ? { execution } : {}),
  };
}
