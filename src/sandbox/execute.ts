import path from 'node:path';
import { invalidArgument, notRunning } from '../errors.js';
import { newExecutionId } from '../ids.js';
import type { OutputStream, RunOutcome, RunSpec } from '../providers/provider.js';
import type { HistoryEntry } from '../store/history-store.js';
import { HOME_DIR, seconds, type SandboxContext } from './context.js';
import { checkEnvTotals } from './env-limits.js';
import { OutputCapture } from './output-capture.js';
import { hintFor } from './run-hints.js';
import { collectFiles, type ReturnedFile } from './return-files.js';
import { runnerFor, type Language } from './templates.js';
import { maxExecTimeoutSeconds } from './exec-limits.js';
import type { ExecutionStatus, PreparedRun } from './shapes.js';

export interface ExecuteRequest {
  sandboxId: string;
  code: string;
  language?: Language;
  timeout?: number;
  envVars?: Record<string, string>;
  workingDir?: string;
  stdin?: string;
  captureOutput?: boolean;
  /** Start the run and return at once; its output goes to the history. */
  background?: boolean;
  /** Paths or globs, relative to the working directory, of files to hand back after the run. */
  returnFiles?: string[];
}

export interface ExecuteResult {
  executionId: string;
  sandboxId: string;
  status: ExecutionStatus;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
  language: Language;
  executionTimeS: number;
  outputTruncated: boolean;
  hint?: string;
  files?: ReturnedFile[];
  timeoutS: number;
}

export interface ExecuteHooks {
  signal?: AbortSignal;
  /** Called with output as it arrives, for progress notifications. */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

/** GNU timeout's exit status, reported for runs this server killed at their time limit. */
export const TIMEOUT_EXIT_CODE = 124;
/** Output lines kept in the history per execution and stream. */
const HISTORY_LINES = 200;

export async function prepareRun(ctx: SandboxContext, req: ExecuteRequest): Promise<PreparedRun> {
  const { limits, exec } = ctx.config;
  const codeBytes = Buffer.byteLength(req.code);
  if (codeBytes > limits.codeBytes) {
    throw invalidArgument(
      `The code is ${codeBytes} bytes; the limit is ${limits.codeBytes}.`,
      'Upload large programs with sandbox_upload and run them with a short command.',
    );
  }
  if (req.workingDir?.includes('\0')) throw invalidArgument('working_dir contains a NUL byte.');
  if (req.code.includes('\0'))
    throw invalidArgument(
      'The code contains a NUL byte.',
      'Send text; binary data goes through sandbox_upload with encoding "base64".',
    );
  if (req.background && req.returnFiles?.length) {
    throw invalidArgument(
      'return_files cannot be used with background: true.',
      'When the execution has ended (sandbox_logs with its execution_id), fetch files with sandbox_download.',
    );
  }
  const timeout = req.timeout ?? (req.background ? exec.backgroundTimeoutSeconds : exec.defaultTimeoutSeconds);
  const max = maxExecTimeoutSeconds(ctx.config, req.background === true);
  if (timeout > max) {
    throw invalidArgument(
      `timeout ${timeout}s is above the limit of ${max}s${req.background ? ' for background executions' : ''}.`,
      `Ask for at most ${max}s.`,
    );
  }

  // Template, language and memory never change, so they are looked up once; a stopped or vanished sandbox is
  // reported by the run itself, without an extra round trip here.
  const info = await ctx.facts.of(req.sandboxId);
  const template = ctx.templates.find(info.template);
  const language = req.language ?? (info.language as Language);
  const env = { ...(await ctx.env.get(req.sandboxId)), ...(req.envVars ?? {}) };
  if (req.envVars) checkEnvTotals(env, "env_vars with the sandbox's own");
  return {
    sandboxId: req.sandboxId,
    info,
    language,
    languageDefaulted: req.language === undefined,
    argv: runnerFor(template, language, req.code),
    env,
    secrets: Object.values(req.envVars ?? {}),
    cwd: path.posix.resolve(HOME_DIR, req.workingDir ?? '.'),
    stdin: req.stdin === undefined ? undefined : Buffer.from(req.stdin),
    timeoutS: timeout,
    codeBytes,
  };
}

/** What the provider runs for a prepared run, foreground or background: as the sandbox user, within its limit. */
export const runSpecOf = (
  run: PreparedRun,
  signal: AbortSignal | undefined,
  onOutput: RunSpec['onOutput'],
  runId?: string,
): RunSpec => ({
  argv: run.argv,
  user: 'user',
  env: run.env,
  cwd: run.cwd,
  stdin: run.stdin,
  timeoutMs: run.timeoutS * 1000,
  ...(runId ? { runId } : {}),
  signal,
  onOutput,
});

/** How a run's outcome reads as a status and exit code. */
export function statusOf(outcome: RunOutcome): {
  status: Exclude<ExecutionStatus, 'running'>;
  exitCode: number | null;
} {
  if (outcome.timedOut) return { status: 'timeout', exitCode: TIMEOUT_EXIT_CODE };
  if (outcome.cancelled) return { status: 'cancelled', exitCode: outcome.exitCode };
  return { status: outcome.exitCode === 0 ? 'completed' : 'failed', exitCode: outcome.exitCode };
}

export async function executeCode(
  ctx: SandboxContext,
  req: ExecuteRequest,
  hooks: ExecuteHooks = {},
): Promise<ExecuteResult> {
  const run = await prepareRun(ctx, req);
  const executionId = newExecutionId();
  if (req.background) {
    // Nobody waits for a background run's result: a sandbox that is not running must be said now, not in its log.
    const now = await ctx.provider.get(run.sandboxId);
    if (now.state !== 'running') throw notRunning(run.sandboxId);
    await ctx.background.start(run, executionId);
    return {
      executionId,
      sandboxId: run.sandboxId,
      status: 'running',
      exitCode: null,
      stdout: '',
      stderr: '',
      stdoutBytes: 0,
      stderrBytes: 0,
      language: run.language,
      executionTimeS: 0,
      outputTruncated: false,
      timeoutS: run.timeoutS,
      hint: `Running in the background for at most ${run.timeoutS}s. Follow it with sandbox_logs (execution_id "${executionId}"); end it early with sandbox_stop (sandbox_id and execution_id).`,
    };
  }

  const { limits } = ctx.config;
  const stdout = new OutputCapture(limits.outputBytes);
  const stderr = new OutputCapture(limits.outputBytes);
  const startedAt = new Date();
  const outcome = await ctx.provider.run(
    run.sandboxId,
    runSpecOf(run, hooks.signal, (stream, chunk) => {
      (stream === 'stdout' ? stdout : stderr).push(chunk);
      hooks.onOutput?.(stream, chunk);
    }),
  );

  const { status, exitCode } = statusOf(outcome);
  const result: ExecuteResult = {
    executionId,
    sandboxId: run.sandboxId,
    // A cancelled call has nobody waiting for its result; it reads as a failure in the history's counts.
    status: status === 'cancelled' ? 'failed' : status,
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutBytes: stdout.totalBytes,
    stderrBytes: stderr.totalBytes,
    language: run.language,
    executionTimeS: seconds(outcome.durationMs),
    outputTruncated: stdout.truncated || stderr.truncated,
    timeoutS: run.timeoutS,
  };
  result.hint = hintFor({
    ...result,
    status,
    timeoutS: run.timeoutS,
    memoryMb: run.info.memoryMb,
    languageDefaulted: run.languageDefaulted,
  });
  // The run's own env_vars are scrubbed too (the sandbox's are known to the store).
  await ctx.history.append(run.sandboxId, historyOf(result, startedAt, run.codeBytes), run.secrets);
  if (req.returnFiles?.length && !outcome.cancelled) {
    result.files = await collectFiles(ctx, run.sandboxId, run.cwd, req.returnFiles);
  }
  if (req.captureOutput === false) {
    result.stdout = '';
    result.stderr = '';
  }
  return result;
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.length > HISTORY_LINES
    ? [
        ...all.slice(0, HISTORY_LINES / 2),
        `[... ${all.length - HISTORY_LINES} lines left out ...]`,
        ...all.slice(-HISTORY_LINES / 2),
      ]
    : all;
}

/**
 * The history entry that opens an execution. The code itself is not stored. A background execution's says which
 * run and server it is, and until when it may run (see HistoryEntry.background).
 */
export function startEntry(
  executionId: string,
  language: Language,
  codeBytes: number,
  startedAt: Date,
  background?: HistoryEntry['background'],
): HistoryEntry {
  return {
    execution_id: executionId,
    ts: startedAt.toISOString(),
    level: 'info',
    source: 'execution',
    message: `execution started${background ? ' in the background' : ''}: ${language}, ${codeBytes} bytes of code`,
    ...(background ? { background } : {}),
  };
}

/** The history entry that closes an execution, with its machine-readable facts. */
export function endEntry(
  executionId: string,
  status: Exclude<ExecutionStatus, 'running'>,
  exitCode: number | null,
  durationMs: number,
  endedAt = new Date(),
): HistoryEntry {
  return {
    execution_id: executionId,
    ts: endedAt.toISOString(),
    level: status === 'completed' ? 'info' : 'error',
    source: 'execution',
    message: `execution ${status}${exitCode === null ? '' : ` with exit code ${exitCode}`} in ${seconds(durationMs)}s`,
    run: { status, exit_code: exitCode, duration_ms: Math.round(durationMs) },
  };
}

/** Start, output lines and end of one execution, as history entries. */
function historyOf(r: ExecuteResult, startedAt: Date, codeBytes: number): HistoryEntry[] {
  const ts = new Date().toISOString();
  const base = { execution_id: r.executionId };
  return [
    startEntry(r.executionId, r.language, codeBytes, startedAt),
    ...lines(r.stdout).map((message): HistoryEntry => ({ ...base, ts, level: 'info', source: 'stdout', message })),
    ...lines(r.stderr).map((message): HistoryEntry => ({ ...base, ts, level: 'warn', source: 'stderr', message })),
    endEntry(r.executionId, r.status as Exclude<ExecutionStatus, 'running'>, r.exitCode, r.executionTimeS * 1000),
  ];
}
