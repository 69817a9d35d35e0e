import { newRunId } from '../../ids.js';
import { CommandExitError, type CommandHandle, type Sandbox } from 'e2b';
import { ExitMarkerScanner } from '../shared/exit-marker.js';
import { bodyBytes } from '../shared/file-body.js';
import type { RunOutcome, RunSpec } from '../provider.js';
import { armRunLimits } from '../shared/run-limits.js';
import { USER_PATH_SUFFIX } from '../shared/base-env.js';
import { argvFileContent, argvNeedsFile, runFilesBase, runScript } from './e2b-run-script.js';
import { killSweepCommand } from '../shared/kill-sweep.js';

/** envd's own limit on a command, beyond ours: it only matters when this server died mid-run. */
const BACKSTOP_GRACE_MS = 30_000;

export const toArrayBuffer = (data: Buffer): ArrayBuffer =>
  data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;

/**
 * One run through envd, laid out by e2b-run-script.ts: the same wrapper and exit marker as Docker's exec path,
 * its output relayed so that background processes it leaves never depend on envd's pipes. The server finishes on
 * the marker (daemons keeping the relays open do not hold the run), and on a timeout or cancellation kills every
 * process of the run as root.
 *
 * The SDK decodes each stream as UTF-8 before we see it (CommandHandle's TextDecoder): valid UTF-8 arrives byte
 * for byte, even split across chunks; bytes that are not UTF-8 arrive as U+FFFD.
 */
export async function runCommand(sandbox: Sandbox, spec: RunSpec): Promise<RunOutcome> {
  const started = performance.now();
  const runId = spec.runId ?? newRunId();
  const base = runFilesBase(runId);
  const argv = [spec.cwd, ...spec.argv];
  const files: { path: string; data: ArrayBuffer }[] = [];
  const argvFile = argvNeedsFile(argv) ? `${base}.argv` : undefined;
  if (argvFile) files.push({ path: argvFile, data: toArrayBuffer(argvFileContent(argv)) });
  // envd's stdin needs a round trip per chunk; a file in the sandbox takes one, and is gone before the program runs.
  const stdinFile = spec.stdin !== undefined ? `${base}.in` : undefined;
  if (stdinFile) files.push({ path: stdinFile, data: toArrayBuffer(bodyBytes(spec.stdin!)) });
  if (files.length) await sandbox.files.write(files, { user: spec.user });
  const script = runScript({
    runId,
    argv,
    env: spec.env,
    ...(argvFile ? { argvFile } : {}),
    ...(stdinFile ? { stdinFile } : {}),
    ...(spec.user === 'user' ? { pathSuffix: USER_PATH_SUFFIX } : {}),
  });

  const stdout = new ExitMarkerScanner(runId, (c) => spec.onOutput?.('stdout', c));
  const stderr = new ExitMarkerScanner(runId, (c) => spec.onOutput?.('stderr', c));
  let killing: Promise<void> | undefined;
  let markersSeen: () => void = () => undefined;
  const bothMarkers = new Promise<void>((resolve) => (markersSeen = resolve));
  const onChunk = (scanner: ExitMarkerScanner) => (data: string) => {
    scanner.push(Buffer.from(data, 'utf8'));
    if (stdout.done && stderr.done) markersSeen();
  };

  const handle: CommandHandle = await sandbox.commands.run(script.command, {
    background: true,
    user: spec.user,
    envs: script.envs,
    timeoutMs: spec.timeoutMs + BACKSTOP_GRACE_MS,
    onStdout: onChunk(stdout),
    onStderr: onChunk(stderr),
  });

  const limits = armRunLimits(spec, () => {
    // The run's session id is the PID envd reports: its process execs into `setsid` and then the wrapper.
    killing ??= (async () => {
      await sandbox.commands
        .run(killSweepCommand({ runId, sessionId: handle.pid }), { user: 'root' })
        .catch(() => undefined);
      await handle.kill().catch(() => false);
    })();
  });

  let exitCode: number | null = null;
  try {
    const ended = handle.wait().then(
      (r) => r.exitCode,
      (err: unknown) => {
        if (err instanceof CommandExitError) return err.exitCode;
        throw err;
      },
    );
    const first = await Promise.race([ended, bothMarkers.then(() => 'markers' as const)]);
    if (first === 'markers') {
      exitCode = stdout.exitCode;
      await handle.disconnect().catch(() => undefined); // leftover daemons keep running; we stop listening
      ended.catch(() => undefined);
    } else {
      stdout.flush();
      stderr.flush();
      exitCode = stdout.done && stderr.done ? stdout.exitCode : first;
    }
  } finally {
    limits.disarm();
  }
  if (killing) {
    await killing;
    exitCode = null;
  }
  return { exitCode, timedOut: limits.timedOut, cancelled: limits.cancelled, durationMs: performance.now() - started };
}
