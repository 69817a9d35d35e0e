import { newRunId } from '../../ids.js';
import type Docker from 'dockerode';
import type { OutputStream, RunOutcome, RunSpec, RunUser } from '../provider.js';
import { StreamDemuxer } from './demux.js';
import { ExitMarkerScanner } from '../shared/exit-marker.js';
import { writeBody } from '../shared/file-body.js';
import { DRAIN_AFTER_KILL_MS, SWEEP_WAIT_MS, armRunLimits } from '../shared/run-limits.js';
import { ROOT_RUN_ENV, USER_PATH_SUFFIX } from '../shared/base-env.js';
import { RUN_ID_VAR } from '../shared/run-protocol.js';
import { EXEC_WRAPPER, SUBREAPED } from './exec-scripts.js';
import { killSweepArgv } from '../shared/kill-sweep.js';
import { trackExecStream } from './exec-streams.js';
import { waitAtMost } from '../../util/wait-at-most.js';

/** Numeric ids so that images without a `user` account still run code unprivileged. */
export const EXEC_USERS: Record<RunUser, string> = { user: '1000:1000', root: '0:0' };

/** Seconds the in-sandbox `timeout` waits beyond ours: it only matters when this server died mid-run. */
const BACKSTOP_GRACE_SECONDS = 5;

const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

/**
 * Root runs get ROOT_RUN_ENV over the container's environment, in `/`, and none of the run's variables, so that
 * nothing uid 1000 controls reaches them; user runs get the run's variables and USER_PATH_SUFFIX on PATH.
 */
function execEnv(spec: RunSpec): { env: Record<string, string>; cwd: string; argv: string[] } {
  if (spec.user === 'root') return { env: ROOT_RUN_ENV, cwd: '/', argv: spec.argv };
  // The exec's PATH is the image's, known only inside: the suffix is added there.
  return {
    env: spec.env,
    cwd: spec.cwd,
    argv: ['sh', '-c', 'PATH="$PATH:$0"; export PATH; exec "$@"', USER_PATH_SUFFIX, ...spec.argv],
  };
}

/**
 * One run: create the exec, start it hijacked (stdout and stderr multiplexed on one socket), stream the output,
 * and finish on the exit marker. Two requests to the engine when the run ends by itself.
 */
export async function runInContainer(container: Docker.Container, spec: RunSpec): Promise<RunOutcome> {
  const started = performance.now();
  const runId = spec.runId ?? newRunId();
  const withStdin = spec.stdin !== undefined;
  const backstop = Math.ceil(spec.timeoutMs / 1000) + BACKSTOP_GRACE_SECONDS;

  const { env, cwd, argv } = execEnv(spec);
  const exec = await container.exec({
    // tini outside, so that the backstop's kill of its process group reaches the wrapper and the program.
    Cmd: [
      'sh',
      '-c',
      SUBREAPED,
      'sandbox-run',
      'timeout',
      '-s',
      'KILL',
      String(backstop),
      'sh',
      '-c',
      EXEC_WRAPPER,
      'sandbox-run',
      cwd,
      ...argv,
    ],
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: EXEC_USERS[spec.user],
    WorkingDir: '/',
    Env: [...envList(env), `${RUN_ID_VAR}=${runId}`],
  });
  const socket = await exec.start({ hijack: true, stdin: withStdin });
  const untrack = trackExecStream(container.id, socket);

  return new Promise<RunOutcome>((resolve) => {
    let finished = false;
    let drainTimer: NodeJS.Timeout | undefined;

    const emit = (stream: OutputStream) => (chunk: Buffer) => spec.onOutput?.(stream, chunk);
    const stdout = new ExitMarkerScanner(runId, emit('stdout'));
    const stderr = new ExitMarkerScanner(runId, emit('stderr'));
    const demux = new StreamDemuxer((stream, payload) => (stream === 'stdout' ? stdout : stderr).push(payload));

    const finish = async () => {
      if (finished) return;
      finished = true;
      untrack();
      limits.disarm();
      clearTimeout(drainTimer);
      stdout.flush();
      stderr.flush();
      socket.destroy();
      let exitCode: number | null = stdout.done && stderr.done ? stdout.exitCode : null;
      if (exitCode === null && !limits.timedOut && !limits.cancelled) {
        // No marker: the wrapper itself was killed (out of memory, the in-sandbox backstop). Ask the engine.
        exitCode = await exec
          .inspect()
          .then((info) => (info.Running ? null : (info.ExitCode ?? null)))
          .catch(() => null);
      }
      resolve({
        exitCode,
        timedOut: limits.timedOut,
        cancelled: limits.cancelled,
        durationMs: performance.now() - started,
      });
    };

    // After a kill, the run ends once the sweep is done and the stream is over (or the drain time has passed: a
    // background process may hold the stream), so that nothing of it is left. The sweep is an exec of its own,
    // which a busy engine can take seconds to start; it is waited for, up to SWEEP_WAIT_MS.
    let swept: Promise<unknown> | undefined;
    const limits = armRunLimits(spec, () => {
      swept = waitAtMost(killRun(container, runId, spec.user), SWEEP_WAIT_MS);
      drainTimer = setTimeout(() => void swept!.then(finish), DRAIN_AFTER_KILL_MS);
    });
    const streamEnded = () => void (swept ? swept.then(finish) : finish());

    socket.on('data', (chunk: Buffer) => {
      demux.push(chunk);
      if (stdout.done && stderr.done) void finish();
    });
    socket.on('end', streamEnded);
    socket.on('close', streamEnded);
    socket.on('error', streamEnded);

    if (withStdin)
      void writeBody(socket, spec.stdin!).then(
        () => socket.end(),
        () => socket.destroy(),
      );
  });
}

/**
 * Kills every process of a run (the kill sweep, shared/kill-sweep.ts), as the run's user: the environment of the
 * run's processes is readable to that user only. The exec path knows no session of the run.
 */
export async function killRun(container: Docker.Container, runId: string, user: RunUser): Promise<void> {
  const exec = await container.exec({
    Cmd: killSweepArgv({ runId }),
    AttachStdout: true,
    AttachStderr: true,
    User: EXEC_USERS[user],
    WorkingDir: '/',
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((done) => {
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    stream.resume();
  });
}
