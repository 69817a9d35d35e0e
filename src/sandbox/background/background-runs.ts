import type { BackgroundExecutions } from '../context.js';
import { ErrorCode, SandboxError } from '../../errors.js';
import { newRunId } from '../../ids.js';
import type { Logger } from '../../logger.js';
import type { SandboxProvider } from '../../providers/provider.js';
import type { HistoryEntry, HistoryStore } from '../../store/history-store.js';
import { endEntry, runSpecOf, startEntry, statusOf } from '../execute.js';
import type { ExecutionState, PreparedRun } from '../shapes.js';
import { HistoryLines } from '../history-lines.js';
import { stateFromHistory, stopWasRequested } from './history-state.js';
import { stopForeignExecution, type ForeignStopOptions } from './foreign-stop.js';
import { serverAlive, THIS_SERVER, type ServerIdentity } from '../../util/server-identity.js';
import { waitAtMost } from '../../util/wait-at-most.js';

/** Where an execution stands, as sandbox_logs and sandbox_stop report it. */

interface Tracked {
  sandboxId: string;
  controller: AbortController;
  state: ExecutionState;
  done: Promise<void>;
}

/** Output lines one background execution may leave in the history. */
const MAX_HISTORY_LINES = 10_000;
/** Background executions running at once per sandbox. */
const MAX_PER_SANDBOX = 16;

export interface BackgroundRunsOptions extends ForeignStopOptions {
  /** The server these runs are recorded as running in (tests make two in one process). */
  identity?: ServerIdentity;
}

/**
 * Executions that run on after their call returned. Each is an ordinary provider run with its own AbortSignal,
 * so it works on every backend: its output is written to the history as it is printed, its end (exit code or
 * time limit) is recorded there too. Only the history outlives this server: an execution still running when the
 * server ends is killed (on a clean shutdown) and reads as cancelled afterwards.
 *
 * Servers of one namespace share the history: the start entry names the run, this server and the time limit, so
 * another server reads the execution as running while this one lives, and can end it (foreign-stop.ts).
 */
export class BackgroundRuns implements BackgroundExecutions {
  private readonly runs = new Map<string, Tracked>();
  private readonly identity: ServerIdentity;

  constructor(
    private readonly provider: SandboxProvider,
    private readonly history: HistoryStore,
    private readonly log: Logger,
    private readonly options: BackgroundRunsOptions = {},
  ) {
    this.identity = options.identity ?? THIS_SERVER;
  }

  async start(run: PreparedRun, executionId: string): Promise<void> {
    const running = [...this.runs.values()].filter(
      (r) => r.sandboxId === run.sandboxId && r.state.status === 'running',
    ).length;
    if (running >= MAX_PER_SANDBOX) {
      throw new SandboxError(
        ErrorCode.QUOTA_EXCEEDED,
        `Sandbox ${run.sandboxId} already has ${running} background executions running.`,
        'End some with sandbox_stop (sandbox_id and execution_id), or wait for them to finish.',
      );
    }
    const startedAt = new Date();
    const controller = new AbortController();
    const state: ExecutionState = {
      executionId,
      status: 'running',
      exitCode: null,
      startedAt: startedAt.toISOString(),
    };
    // Counted from here, before the first await, so that concurrent calls cannot all pass the cap above.
    let started!: () => void;
    const placeholder: Tracked = {
      sandboxId: run.sandboxId,
      controller,
      state,
      done: new Promise<void>((resolve) => (started = resolve)),
    };
    this.runs.set(executionId, placeholder);
    const runId = newRunId();
    const deadline = new Date(startedAt.getTime() + run.timeoutS * 1000).toISOString();
    try {
      await this.history.append(run.sandboxId, [
        startEntry(executionId, run.language, run.codeBytes, startedAt, {
          run_id: runId,
          owner: this.identity,
          deadline,
        }),
      ]);
    } catch (err) {
      this.runs.delete(executionId);
      started();
      throw err;
    }
    const output = new HistoryLines(this.history, run.sandboxId, executionId, MAX_HISTORY_LINES, run.secrets);
    const done = this.provider
      .run(
        run.sandboxId,
        runSpecOf(run, controller.signal, (stream, chunk) => output.push(stream, chunk), runId),
      )
      .then(
        (outcome) => statusOf(outcome),
        (err: unknown) => {
          // The sandbox stopped or vanished under the run: it failed, and the history says why.
          this.log.info({ sandboxId: run.sandboxId, executionId, err }, 'background execution ended by an error');
          const message = err instanceof SandboxError ? err.message : 'The run could not go on.';
          output.push('stderr', Buffer.from(`${message}\n`));
          return { status: controller.signal.aborted ? ('cancelled' as const) : ('failed' as const), exitCode: null };
        },
      )
      .then(async (ended) => {
        await output.flush();
        const { status, exitCode } = await this.killedByAnother(run.sandboxId, executionId, ended);
        const endedAt = new Date();
        await this.history.append(run.sandboxId, [
          endEntry(executionId, status, exitCode, endedAt.getTime() - startedAt.getTime(), endedAt),
        ]);
        Object.assign(state, { status, exitCode, endedAt: endedAt.toISOString() });
      })
      .catch((err: unknown) =>
        this.log.warn({ sandboxId: run.sandboxId, executionId, err }, 'background execution not recorded'),
      );
    placeholder.done = done;
    started();
    // Finished executions are kept a while for sandbox_logs; the history has them for good.
    void done.then(() => setTimeout(() => this.runs.delete(executionId), 10 * 60_000).unref());
  }

  /**
   * A run that failed after another server asked for its end (sandbox_stop there, which killed it) was cancelled.
   * One that ended by itself meanwhile (completed, or at its time limit) keeps its own end.
   */
  private async killedByAnother(
    sandboxId: string,
    executionId: string,
    ended: Pick<ExecutionState, 'exitCode'> & { status: Exclude<ExecutionState['status'], 'running'> },
  ): Promise<typeof ended> {
    if (ended.status !== 'failed') return ended;
    const history = await this.history.read(sandboxId).catch(() => []);
    return stopWasRequested(executionId, history) ? { status: 'cancelled', exitCode: null } : ended;
  }

  /** The execution's state: this server's if it runs it, else what the history recorded. */
  async state(sandboxId: string, executionId: string, history?: HistoryEntry[]): Promise<ExecutionState | undefined> {
    const tracked = this.runs.get(executionId);
    if (tracked && tracked.sandboxId === sandboxId) return { ...tracked.state };
    return stateFromHistory(executionId, history ?? (await this.history.read(sandboxId)), {
      alive: (owner) => serverAlive(owner, this.identity),
    });
  }

  /**
   * Ends an execution early (every process it started is killed) and waits until its end is recorded. One that
   * another live server runs is killed through the backend by its run ID; that server records its end.
   */
  async stop(sandboxId: string, executionId: string): Promise<ExecutionState | undefined> {
    const tracked = this.runs.get(executionId);
    if (!tracked || tracked.sandboxId !== sandboxId) {
      return stopForeignExecution(
        { provider: this.provider, history: this.history, log: this.log, identity: this.identity },
        sandboxId,
        executionId,
        this.options,
      );
    }
    tracked.controller.abort();
    await tracked.done;
    return { ...tracked.state };
  }

  /** Ends every execution still running (at shutdown), waiting at most `waitMs` for them to be recorded. */
  async stopAll(waitMs = 5000): Promise<void> {
    const running = [...this.runs.values()].filter((r) => r.state.status === 'running');
    for (const r of running) r.controller.abort();
    await waitAtMost(Promise.all(running.map((r) => r.done)), waitMs, { unref: true });
  }
}
