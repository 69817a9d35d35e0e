import type { HistoryEntry } from '../../store/history-store.js';
import type { ExecutionState } from '../shapes.js';
import { serverAlive, THIS_SERVER, type ServerIdentity } from '../../util/server-identity.js';

/**
 * Past its deadline, the owner still needs a moment to kill the run (the backends' sweeps, the in-sandbox
 * backstops a few seconds later) and record its end: until then a run without an end still reads as running.
 */
export const END_GRACE_MS = 60_000;

export interface HistoryStateOptions {
  now?: Date;
  /** Whether the server that started a run still runs (server-identity.ts); undefined: cannot tell. */
  alive?: (owner: ServerIdentity) => boolean | undefined;
}

/** What a background execution's start entry recorded about its run, when it is one that does. */
export const backgroundStartOf = (
  executionId: string,
  history: HistoryEntry[],
): NonNullable<HistoryEntry['background']> | undefined =>
  history.find((e) => e.execution_id === executionId && e.background)?.background;

/**
 * An execution as the history tells it. One that recorded no end is running while the server that runs it lives
 * and its time limit (plus END_GRACE_MS) has not passed; it was cut short (cancelled) once its server is gone.
 * Entries of servers that did not record their owner read as cut short, as they always did.
 */
export function stateFromHistory(
  executionId: string,
  history: HistoryEntry[],
  { now = new Date(), alive = (o) => serverAlive(o, THIS_SERVER) }: HistoryStateOptions = {},
): ExecutionState | undefined {
  const own = history.filter((e) => e.execution_id === executionId);
  if (own.length === 0) return undefined;
  const startedAt = own[0]!.ts;
  const end = own.find((e) => e.run);
  if (end?.run) return { executionId, status: end.run.status, exitCode: end.run.exit_code, startedAt, endedAt: end.ts };
  const start = backgroundStartOf(executionId, own);
  const running =
    start !== undefined && alive(start.owner) !== false && now.getTime() < Date.parse(start.deadline) + END_GRACE_MS;
  return { executionId, status: running ? 'running' : 'cancelled', exitCode: null, startedAt };
}

/** The entry another server writes before it kills an execution it does not run (see BackgroundRuns.stop). */
export const stopRequestEntry = (executionId: string, by: ServerIdentity, at = new Date()): HistoryEntry => ({
  execution_id: executionId,
  ts: at.toISOString(),
  level: 'info',
  source: 'execution',
  message: `stop asked for by another server (pid ${by.pid})`,
  stop_requested: true,
});

export const stopWasRequested = (executionId: string, history: HistoryEntry[]): boolean =>
  history.some((e) => e.execution_id === executionId && e.stop_requested === true);
