import { newRunId } from '../../../ids.js';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../../logger.js';
import type { FileBody, OutputStream, RunOutcome, RunSpec } from '../../provider.js';
import { bodySize, writeBody } from '../../shared/file-body.js';
import { StreamDemuxer } from '../demux.js';
import { EXEC_USERS } from '../exec.js';
import { ROOT_RUN_ENV, USER_PATH_SUFFIX } from '../../shared/base-env.js';
import { DRAIN_AFTER_KILL_MS, armRunLimits } from '../../shared/run-limits.js';
import { RUN_ID_VAR } from '../../shared/run-protocol.js';
import { AGENT_SOURCE_LINE, AGENT_STDIN_LOADER } from './agent-entrypoint.js';
import { FrameReader, frameHeader, type Frame } from './agent-frames.js';

const READY_TIMEOUT_MS = 15_000;
const PREPARE_FAILED = 90;
export const PREPARE_FAILED_MESSAGE = 'the sandbox could not be prepared (home folder, account of uid 1000)';
const NO_PYTHON = 127;

interface PendingRun {
  spec: RunSpec;
  started: number;
  /** The program's exit, once reported. */
  exit?: number;
  /** Set when a kill was asked for: the run ends only when the agent says every process is gone. */
  killing: boolean;
  killed: boolean;
  finish: (exitCode: number | null) => void;
}

type AgentEvent =
  | { ev: 'ready'; pid: number }
  | { id: string; ev: 'out'; s: 1 | 2 }
  | { id: string; ev: 'exit'; code: number }
  | { id: string; ev: 'killed' }
  | { ev: 'gone' };

export class AgentUnavailable extends Error {}

/**
 * One long-lived agent process (agent.py, run by the sandbox's python3 as root, isolated) per sandbox and server, reached
 * through a single hijacked exec. Runs are requests on its stdin and events on its stdout: a run costs a process
 * spawn in the sandbox, not an exec on the engine. When the server goes away the agent's stdin closes and it
 * kills what it started.
 */
export class AgentSession {
  private readonly runs = new Map<string, PendingRun>();
  private readonly frames = new FrameReader(
    (frame) => this.onFrame(frame),
    (header) => this.outputStream(header),
  );
  private onReady?: () => void;
  private closed = false;
  /**
   * Frames waiting behind a body streamed from disk (an upload): a frame's body must follow its header whole on the
   * one socket every run shares, so what is sent meanwhile goes after it, in order.
   */
  private queue?: Promise<void>;

  private constructor(
    private readonly socket: Duplex,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `prepare` (a root shell script), then starts the agent. Throws AgentUnavailable when the image has no
   * python3 to run it, and an error when `prepare` fails.
   */
  static async start(container: Docker.Container, log: Logger, prepare: string): Promise<AgentSession> {
    // Root, so isolated from everything uid 1000 can write: `python3 -I` (no user site, no PYTHON* variables, no
    // script directory on sys.path), started in `/`; its root runs get ROOT_RUN_ENV. `-S`: no `site` either (no
    // site-packages and their `.pth` files; 2.5 ms less of python3's start: the agent uses the standard library only).
    const script = `{ ${prepare}; } || exit ${PREPARE_FAILED}; command -v python3 >/dev/null 2>&1 || exit ${NO_PYTHON}; exec python3 -I -S -u -c "$1" "$2" "$3"`;
    const exec = await container.exec({
      Cmd: ['sh', '-c', script, 'sandbox-agent', AGENT_STDIN_LOADER, JSON.stringify(ROOT_RUN_ENV), USER_PATH_SUFFIX],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: EXEC_USERS.root,
      WorkingDir: '/',
    });
    const socket = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
    const session = new AgentSession(socket, log);
    socket.write(AGENT_SOURCE_LINE);
    try {
      await session.waitReady();
    } catch (err) {
      const { ExitCode } = await exec.inspect().catch(() => ({ ExitCode: null }));
      if (ExitCode === PREPARE_FAILED) throw new Error(PREPARE_FAILED_MESSAGE);
      throw err;
    }
    return session;
  }

  /**
   * Attaches to a created container whose command is agentEntrypoint(), before it is started: the session is
   * ready when the agent, started with the container, says so. Rejects (AgentUnavailable) when the entrypoint
   * started no agent; the caller then starts one in an exec (start), which reports why.
   */
  static async attach(container: Docker.Container, log: Logger): Promise<{ ready: Promise<AgentSession> }> {
    const socket = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    const session = new AgentSession(socket, log);
    const ready = session.waitReady().then(() => session);
    // The agent may give up (no python3) before the caller has finished creating the container and taken `ready`:
    // that is an answer for the caller, not an unhandled rejection.
    ready.catch(() => undefined);
    socket.write(AGENT_SOURCE_LINE);
    return { ready };
  }

  get alive(): boolean {
    return !this.closed;
  }

  run(spec: RunSpec): Promise<RunOutcome> {
    if (this.closed) return Promise.reject(new AgentUnavailable('agent is gone'));
    const id = spec.runId ?? newRunId();
    const [uid, gid] = EXEC_USERS[spec.user].split(':').map(Number);
    return new Promise<RunOutcome>((resolve) => {
      let drainTimer: NodeJS.Timeout | undefined;
      const run: PendingRun = {
        spec,
        started: performance.now(),
        killing: false,
        killed: false,
        finish: (exitCode) => {
          limits.disarm();
          clearTimeout(drainTimer);
          this.runs.delete(id);
          resolve({
            exitCode,
            timedOut: limits.timedOut,
            cancelled: limits.cancelled,
            durationMs: performance.now() - run.started,
          });
        },
      };
      this.runs.set(id, run);
      // The stdin goes as the frame's raw body: the caller's Buffer itself, or the pieces of a streamed body as they
      // are read, never copied whole or encoded. As on the exec path, the run's processes carry its ID: another
      // server ends the run by it (killRun).
      this.send(
        { op: 'run', id, argv: spec.argv, env: { ...spec.env, [RUN_ID_VAR]: id }, cwd: spec.cwd, uid, gid },
        spec.stdin,
      );
      // Armed after the run is sent, so that a kill always follows its run on the agent's stdin.
      const limits = armRunLimits(spec, () => {
        run.killing = true;
        this.send({ op: 'kill', id });
        drainTimer = setTimeout(() => run.finish(null), DRAIN_AFTER_KILL_MS);
      });
    });
  }

  /** Has the agent fork the next run's supervisor now (it keeps it until that run comes; agent.py make_spare). */
  prepareRun(): void {
    this.send({ op: 'spare' });
  }

  close(): void {
    this.socket.destroy();
  }

  private send(message: object, body?: FileBody): void {
    if (this.closed) return;
    if (!this.queue && (body === undefined || Buffer.isBuffer(body))) {
      this.socket.write(frameHeader(message, body));
      if (body?.length) this.socket.write(body);
      return;
    }
    const queue: Promise<void> = (this.queue ?? Promise.resolve())
      .then(async () => {
        if (this.closed) return;
        this.socket.write(frameHeader(message, body === undefined ? undefined : bodySize(body)));
        if (body !== undefined) await writeBody(this.socket, body);
      })
      .catch((err: unknown) => {
        // A body that could not be sent whole leaves the agent expecting bytes that never come: end the session
        // (its runs end without an exit code; the next run starts another agent).
        this.log.error({ err }, 'a frame body could not be sent to the agent');
        this.socket.destroy();
      })
      .finally(() => {
        if (this.queue === queue) this.queue = undefined;
      });
    this.queue = queue;
  }

  private waitReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new AgentUnavailable('agent did not start in time')), READY_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.socket.destroy();
        reject(err);
      };
      let ready = false;
      this.onReady = () => {
        ready = true;
        clearTimeout(timer);
        resolve();
      };
      const demux = new StreamDemuxer((stream, payload) => {
        if (stream === 'stdout') this.frames.push(payload);
        else this.log.debug({ stderr: payload.toString('utf8').slice(0, 500) }, 'agent stderr');
      });
      this.socket.on('data', (chunk: Buffer) => demux.push(chunk));
      const end = () => {
        this.onClosed();
        if (!ready) fail(new AgentUnavailable('agent exited before it was ready (no python3 in the image?)'));
      };
      this.socket.on('end', end);
      this.socket.on('close', end);
      this.socket.on('error', end);
    });
  }

  /** Output of a run that takes it as transient views (RunSpec.transientOutput): handed on as it arrives. */
  private outputStream(header: Record<string, unknown>): ((part: Buffer) => void) | undefined {
    const event = header as AgentEvent;
    if (event.ev !== 'out') return undefined;
    const run = this.runs.get(event.id);
    const spec = run?.spec;
    if (!spec?.transientOutput || !spec.onOutput) return undefined;
    const stream: OutputStream = event.s === 2 ? 'stderr' : 'stdout';
    const onOutput = spec.onOutput;
    // The rest of a frame whose run has ended meanwhile (its time ran out) goes nowhere: its reader is gone.
    return (part) => {
      if (this.runs.get(event.id) === run) onOutput(stream, part);
    };
  }

  private onFrame(frame: Frame): void {
    const event = frame.header as AgentEvent;
    if (event.ev === 'ready') return this.onReady?.();
    if (event.ev === 'gone') return void this.socket.destroy();
    if (!('id' in event)) return;
    const run = this.runs.get(event.id);
    if (!run) return;
    if (event.ev === 'out') {
      const stream: OutputStream = event.s === 2 ? 'stderr' : 'stdout';
      if (frame.body) run.spec.onOutput?.(stream, frame.body);
    } else if (event.ev === 'exit') {
      run.exit = event.code;
    } else if (event.ev === 'killed') {
      run.killed = true;
    }
    if (run.exit !== undefined && (!run.killing || run.killed)) run.finish(run.killing ? null : run.exit);
  }

  /** The agent is gone (sandbox stopped, agent killed): its runs end without an exit code. */
  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const run of [...this.runs.values()]) run.finish(null);
  }
}
