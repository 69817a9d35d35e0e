import path from 'node:path';
import { invalidArgument } from '../errors.js';
import { newExecutionId } from '../ids.js';
import type { OutputStream } from '../providers/provider.js';
import type { HistoryEntry } from '../store/history-store.js';
import { HOME_DIR, fixedFacts, seconds, type SandboxContext } from './context.js';
import { checkEnvTotals } from './env-limits.js';
import { OutputCapture } from './output-capture.js';
import { runnerFor, type Language } from './templates.js';

export interface ExecuteRequest {
  sandboxId: string;
  code: string;
  language?: Language;
  timeout?: number;
  envVars?: Record<string, string>;
  workingDir?: string;
  stdin?: string;
  captureOutput?: boolean;
}

export type ExecutionStatus = 'completed' | 'failed' | 'timeout';

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

export async function executeCode(ctx: SandboxContext, req: ExecuteRequest, hooks: ExecuteHooks = {}): Promise<ExecuteResult> {
  const { limits, exec } = ctx.config;
  const codeBytes = Buffer.byteLength(req.code);
  if (codeBytes > limits.codeBytes) {
    throw invalidArgument(
      `The code is ${codeBytes} bytes; the limit is ${limits.codeBytes}.`,
      'Upload large programs with sandbox_upload and run them with a short command.',
    );
  }
  if (req.workingDir?.includes('\0')) throw invalidArgument('working_dir contains a NUL byte.');
  if (req.code.includes('\0')) throw invalidArgument('The code contains a NUL byte.', 'Send text; binary data goes through sandbox_upload with encoding "base64".');
  const timeout = req.timeout ?? exec.defaultTimeoutSeconds;
  if (timeout > exec.maxTimeoutSeconds) {
    throw invalidArgument(`timeout ${timeout}s is above the limit of ${exec.maxTimeoutSeconds}s.`, `Ask for at most ${exec.maxTimeoutSeconds}s.`);
  }

  // Template, language and memory never change, so they are looked up once; a stopped or vanished sandbox is
  // reported by the run itself, without an extra round trip here.
  const info = await fixedFacts(ctx, req.sandboxId);
  const template = ctx.templates.find(info.template);
  const language = req.language ?? (info.language as Language);
  const argv = runnerFor(template, language, req.code);
  const env = { ...(await ctx.env.get(req.sandboxId)), ...(req.envVars ?? {}) };
  if (req.envVars) checkEnvTotals(env, 'env_vars with the sandbox\'s own');

  const executionId = newExecutionId();
  const stdout = new OutputCapture(limits.outputBytes);
  const stderr = new OutputCapture(limits.outputBytes);
  const startedAt = new Date();
  const outcome = await ctx.provider.run(req.sandboxId, {
    argv,
    user: 'user',
    env,
    cwd: path.posix.resolve(HOME_DIR, req.workingDir ?? '.'),
    stdin: req.stdin === undefined ? undefined : Buffer.from(req.stdin),
    timeoutMs: timeout * 1000,
    signal: hooks.signal,
    onOutput: (stream, chunk) => {
      (stream === 'stdout' ? stdout : stderr).push(chunk);
      hooks.onOutput?.(stream, chunk);
    },
  });

  const status: ExecutionStatus = outcome.timedOut ? 'timeout' : outcome.exitCode === 0 ? 'completed' : 'failed';
  const exitCode = outcome.timedOut ? TIMEOUT_EXIT_CODE : outcome.exitCode;
  const result: ExecuteResult = {
    executionId,
    sandboxId: req.sandboxId,
    status,
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutBytes: stdout.totalBytes,
    stderrBytes: stderr.totalBytes,
    language,
    executionTimeS: seconds(outcome.durationMs),
    outputTruncated: stdout.truncated || stderr.truncated,
    hint: hintFor(status, exitCode, timeout, info.memoryMb, outcome.cancelled),
  };
  // The run's own env_vars are scrubbed too (the sandbox's are known to the store).
  await ctx.history.append(req.sandboxId, historyOf(result, startedAt, codeBytes), Object.values(req.envVars ?? {}));
  if (req.captureOutput === false) {
    result.stdout = '';
    result.stderr = '';
  }
  return result;
}

function hintFor(status: ExecutionStatus, exitCode: number | null, timeout: number, memoryMb: number, cancelled: boolean): string | undefined {
  if (cancelled) return 'The run was cancelled by the client; its processes were killed.';
  if (status === 'timeout') return `The run was killed after ${timeout}s with all its processes. Pass a larger timeout, or run long jobs in the background (nohup ... &).`;
  if (exitCode === 137) return `The process was killed (SIGKILL), most likely for going over the sandbox's memory limit of ${memoryMb} MB. Use less memory, or create a sandbox with a larger memory_mb.`;
  if (exitCode === 127) return 'Command not found: install it with sandbox_configure install_packages.';
  return undefined;
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.length > HISTORY_LINES ? [...all.slice(0, HISTORY_LINES / 2), `[... ${all.length - HISTORY_LINES} lines left out ...]`, ...all.slice(-HISTORY_LINES / 2)] : all;
}

/** Start, output lines and end of one execution, as history entries. The code itself is not stored. */
function historyOf(r: ExecuteResult, startedAt: Date, codeBytes: number): HistoryEntry[] {
  const ts = new Date().toISOString();
  const base = { execution_id: r.executionId };
  return [
    { ...base, ts: startedAt.toISOString(), level: 'info', source: 'execution', message: `execution started: ${r.language}, ${codeBytes} bytes of code` },
    ...lines(r.stdout).map((message): HistoryEntry => ({ ...base, ts, level: 'info', source: 'stdout', message })),
    ...lines(r.stderr).map((message): HistoryEntry => ({ ...base, ts, level: 'warn', source: 'stderr', message })),
    {
      ...base,
      ts,
      level: r.status === 'completed' ? 'info' : 'error',
      source: 'execution',
      message: `execution ${r.status}${r.exitCode === null ? '' : ` with exit code ${r.exitCode}`} in ${r.executionTimeS}s`,
      run: { status: r.status, exit_code: r.exitCode, duration_ms: Math.round(r.executionTimeS * 1000) },
    },
  ];
}
