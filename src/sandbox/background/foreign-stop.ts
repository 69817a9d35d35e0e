import { ErrorCode, isSandboxError, SandboxError } from '../../errors.js';
import { isRunId } from '../../ids.js';
import type { Logger } from '../../logger.js';
import type { SandboxProvider } from '../../providers/provider.js';
import type { HistoryStore } from '../../store/history-store.js';
import type { ExecutionState } from '../shapes.js';
import { backgroundStartOf, stateFromHistory, stopRequestEntry } from './history-state.js';
import { serverAlive, type ServerIdentity } from '../../util/server-identity.js';

export interface ForeignStopOptions {
  /** How long to wait for the owner to record the end once its run is killed. */
  stopWaitMs?: number;
  /** How often the history is read meanwhile. */
  pollMs?: number;
}

interface Deps {
  provider: SandboxProvider;
  history: HistoryStore;
  log: Logger;
  identity: ServerIdentity;
}

const STOP_WAIT_MS = 20_000;
const POLL_MS = 250;

/**
 * sandbox_stop of an execution this server does not run. Running in another live server of the namespace: a
 * stop request goes into the history (so that its owner records the end as cancelled), the run is killed through
 * the backend by the run ID its start entry recorded, and the owner's end entry is awaited, bounded. Cut short
 * (its server died): whatever of it may be left is killed too, and it stays cancelled. Ended: its end, untouched.
 */
export async function stopForeignExecution(
  deps: Deps,
  sandboxId: string,
  executionId: string,
  { stopWaitMs = STOP_WAIT_MS, pollMs = POLL_MS }: ForeignStopOptions = {},
): Promise<ExecutionState | undefined> {
  const { provider, history, log, identity } = deps;
  const alive = (owner: ServerIdentity) => serverAlive(owner, identity);
  const entries = await history.read(sandboxId);
  const state = stateFromHistory(executionId, entries, { alive });
  const start = backgroundStartOf(executionId, entries);
  if (!state || !start || state.endedAt || !isRunId(start.run_id)) return state;

  if (state.status !== 'running') {
    // Its server is gone: on some paths (one exec per run, E2B) its processes outlive it until their backstop.
    await provider
      .killRun(sandboxId, start.run_id)
      .catch((err: unknown) => log.debug({ sandboxId, executionId, err }, 'sweep of an orphaned run failed'));
    return state;
  }

  await history.append(sandboxId, [stopRequestEntry(executionId, identity)]);
  try {
    await provider.killRun(sandboxId, start.run_id);
  } catch (err) {
    // A stopped sandbox has ended the run already; its owner records that. Other failures are the answer.
    if (!isSandboxError(err) || err.code !== ErrorCode.SANDBOX_NOT_RUNNING) throw err;
  }
  const until = Date.now() + stopWaitMs;
  for (;;) {
    const now = stateFromHistory(executionId, await history.read(sandboxId), { alive });
    if (now && now.status !== 'running') return now;
    if (Date.now() >= until) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  log.warn({ sandboxId, executionId, owner: start.owner }, 'execution of another server did not end when killed');
  throw new SandboxError(
    ErrorCode.EXECUTION_ERROR,
    `Execution ${executionId} runs in another server (pid ${start.owner.pid}), and it did not end within ${Math.round(stopWaitMs / 1000)}s of being killed here.`,
    `It ends at its time limit (${start.deadline}) at the latest. sandbox_stop from the session that started it ends it there; sandbox_stop without execution_id stops the whole sandbox, every process in it.`,
  );
}
