import { randomBytes } from 'node:crypto';
import { CommandExitError, type CommandHandle, type Sandbox } from 'e2b';
import { ExitMarkerScanner } from '../exit-marker.js';
import type { RunOutcome, RunSpec } from '../provider.js';
import { armRunLimits } from '../run-limits.js';
import { KILL_SWEEP, RUN_ID_VAR, RUN_WRAPPER, shellQuote } from '../run-protocol.js';

/** envd's own limit on a command, beyond ours: it only matters when this server died mid-run. */
const BACKSTOP_GRACE_MS = 30_000;

export const toArrayBuffer = (data: Buffer): ArrayBuffer => data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;

/**
 * One run through envd: the same wrapper as Docker's exec path (working directory, exit marker on both streams),
 * started in the background so the server can finish on the marker (daemons keeping the pipes open do not hold
 * the run), kill on timeout or cancellation, and sweep every process of the run.
 */
export async function runCommand(sandbox: Sandbox, spec: RunSpec): Promise<RunOutcome> {
  const started = performance.now();
  const runId = randomBytes(12).toString('hex');
  const words = ['sh', '-c', RUN_WRAPPER, 'sandbox-run', spec.cwd, ...spec.argv].map(shellQuote).join(' ');
  let command = `exec ${words}`;
  if (spec.stdin !== undefined) {
    // envd's stdin needs a round trip per chunk; a file in the sandbox takes one, and is gone before the program runs.
    const file = `/tmp/.sandbox-stdin-${runId}`;
    await sandbox.files.write(file, toArrayBuffer(spec.stdin), { user: spec.user });
    command = `exec < ${file}; rm -f ${file}; ${command}`;
  }

  const stdout = new ExitMarkerScanner(runId, (c) => spec.onOutput?.('stdout', c));
  const stderr = new ExitMarkerScanner(runId, (c) => spec.onOutput?.('stderr', c));
  let handle: CommandHandle | undefined;
  let killing: Promise<void> | undefined;
  let markersSeen: () => void = () => undefined;
  const bothMarkers = new Promise<void>((resolve) => (markersSeen = resolve));
  const onChunk = (scanner: ExitMarkerScanner) => (data: string) => {
    scanner.push(Buffer.from(data, 'utf8'));
    if (stdout.done && stderr.done) markersSeen();
  };

  handle = await sandbox.commands.run(command, {
    background: true,
    user: spec.user,
    envs: { ...spec.env, [RUN_ID_VAR]: runId },
    timeoutMs: spec.timeoutMs + BACKSTOP_GRACE_MS,
    onStdout: onChunk(stdout),
    onStderr: onChunk(stderr),
  });

  const limits = armRunLimits(spec, () => {
    killing ??= (async () => {
      await handle?.kill().catch(() => false);
      await sandbox.commands.run(`sh -c ${shellQuote(KILL_SWEEP)} sandbox-kill ${runId}`, { user: spec.user }).catch(() => undefined);
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
