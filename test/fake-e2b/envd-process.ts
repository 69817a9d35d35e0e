/**
 * The fake of envd's `process.Process` Connect service, which the SDK's `sandbox.commands` uses:
 *
 *   Start       (server stream)  commands.run / commands.start: spawns cmd+args exactly as sent (the SDK sends
 *                                `/bin/bash -l -c <command>`), streams start{pid}, data{stdout|stderr}, end{...}
 *   Connect     (server stream)  commands.connect: start{pid}, then the live output and end of a running process
 *   List        (unary)          commands.list
 *   SendSignal  (unary)          commands.kill / handle.kill (SIGKILL), also SIGTERM
 *   SendInput   (unary)          commands.sendStdin (needs `stdin: true` at start)
 *   CloseStdin  (unary)          commands.closeStdin
 *
 * Commands are local child processes (see state.ts for the path simplification). Each is spawned detached so it
 * leads its own process group, and signals go to the whole group (real envd signals only the process; killing
 * the group keeps tests from leaking grandchildren). Like envd, a process outlives the stream that started it,
 * honours `Connect-Timeout-Ms` by killing it, sends keepalives every `Keepalive-Ping-Interval` seconds, and
 * reports the end like Go's os.ProcessState: "exit status N", or exit code -1 and "signal: killed".
 *
 * With the Docker runtime (see docker.ts) a command is `docker exec`-ed into the sandbox's container as the
 * requested user, with the sandbox path as cwd and no path translation. The PID reported to the SDK is the
 * process's PID inside the container (so `commands.kill(pid)` and `/proc/<pid>` agree), and signals are sent
 * inside the container to that process only, as envd does. Since `docker exec` only reports an exit code, a
 * 128+N exit reads as "signal: <N>" only when the fake itself sent signal N (SendSignal, a deadline, a pause
 * or a kill); a command that dies of a signal on its own reads as "exit status 128+N". When a background
 * grandchild keeps the output open after the command exits, Docker holds the end back for up to ~2 s.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as osConstants } from 'node:os';
import { ConnectRpcError, ServerStream, parseStreamRequest, parseUnaryRequest, readBody, sendUnary } from './connect.js';
import { WRAPPER_CWD_DENIED, WRAPPER_NO_CWD, type DockerRuntime } from './docker.js';
import {
  killProcessGroup,
  resolveSandboxPath,
  toHostPath,
  type EndEventJson,
  type FakeProcess,
  type FakeSandbox,
  type ProcessEventJson,
  USER_HOMES,
} from './state.js';

/** Go's names for the signals a command usually dies of (syscall.Signal.String()). */
const GO_SIGNAL_NAMES: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
};

/** How long to wait, after the process exits, for its pipes to drain (a background grandchild may hold them). */
const DRAIN_GRACE_MS = 100;

function endEvent(code: number | null, signal: NodeJS.Signals | null): EndEventJson {
  if (signal) {
    const status = `signal: ${GO_SIGNAL_NAMES[signal] ?? signal}`;
    return { exitCode: -1, exited: false, status, error: status };
  }
  const exitCode = code ?? -1;
  const status = `exit status ${exitCode}`;
  return exitCode === 0 ? { exitCode, exited: true, status } : { exitCode, exited: true, status, error: status };
}

function asStringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** ProcessSelector: `{pid}` or `{tag}` (a proto oneof is flattened in JSON). */
function selectProcess(sandbox: FakeSandbox, selector: unknown): FakeProcess {
  const sel = (selector ?? {}) as { pid?: unknown; tag?: unknown };
  if (sel.pid !== undefined) {
    const proc = sandbox.processes.get(Number(sel.pid));
    if (!proc) throw new ConnectRpcError('not_found', `process with pid ${String(sel.pid)} not found`);
    return proc;
  }
  if (typeof sel.tag === 'string') {
    for (const proc of sandbox.processes.values()) if (proc.tag === sel.tag) return proc;
    throw new ConnectRpcError('not_found', `process with tag ${sel.tag} not found`);
  }
  throw new ConnectRpcError('unimplemented', 'invalid input type: a process selector needs pid or tag');
}

/** Attach a stream to a process's events; the stream ends with the process's end event. */
function attach(proc: FakeProcess, stream: ServerStream, keepaliveSeconds: number): void {
  let keepalive: NodeJS.Timeout | undefined;
  const armKeepalive = () => {
    if (keepalive) clearInterval(keepalive);
    if (keepaliveSeconds > 0) {
      keepalive = setInterval(() => stream.send({ event: { keepalive: {} } }), keepaliveSeconds * 1000);
      keepalive.unref();
    }
  };
  const listener = (event: ProcessEventJson) => {
    stream.send({ event });
    if ('data' in event) armKeepalive();
    if ('end' in event) {
      detach();
      stream.end();
    }
  };
  const detach = () => {
    if (keepalive) clearInterval(keepalive);
    proc.listeners.delete(listener);
  };
  proc.listeners.add(listener);
  // A client that goes away stops listening; the process keeps running, as in envd.
  stream.onClientClose(detach);
  armKeepalive();
}

/** Send a signal the way the runtime can: the local process group, or the process inside the container. */
async function signalProcess(docker: DockerRuntime | undefined, sandbox: FakeSandbox, proc: FakeProcess, signal: NodeJS.Signals): Promise<void> {
  if (sandbox.container && docker) {
    proc.killSignal = signal;
    await docker.signal(sandbox.container, proc.pid, signal);
  } else {
    killProcessGroup(proc, signal);
  }
}

interface StartRequest {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  cwdPath: string;
  tag?: string;
  wantsStdin: boolean;
}

/** Records a started process in its sandbox; `broadcast` sends an event to everyone attached to it. */
function register(sandbox: FakeSandbox, pid: number, child: FakeProcess['child'], tag: FakeProcess['tag'], user: FakeProcess['user'], config: FakeProcess['config']) {
  const proc: FakeProcess = { pid, tag, user, config, child, listeners: new Set() };
  sandbox.processes.set(pid, proc);
  const broadcast = (event: ProcessEventJson) => {
    for (const listener of [...proc.listeners]) listener(event);
  };
  return { proc, broadcast };
}

export function createProcessService(docker?: DockerRuntime) {
  /** Local runtime: a detached child process on this machine, in the sandbox directory. */
  async function spawnLocal(sandbox: FakeSandbox, user: string, r: StartRequest, req: IncomingMessage, stream: ServerStream): Promise<void> {
    const { cmd, args, envs, cwd, cwdPath } = r;
    const cwdHost = toHostPath(sandbox, cwdPath);
    const cwdStat = await stat(cwdHost).catch(() => undefined);
    if (!cwdStat?.isDirectory()) throw new ConnectRpcError('invalid_argument', `cwd '${cwdPath}' does not exist`);

    // envd's environment: PATH, HOME, USER, LOGNAME, the sandbox env vars, then the request's envs win.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: toHostPath(sandbox, USER_HOMES[user] ?? USER_HOMES.user!),
      USER: user,
      LOGNAME: user,
      TMPDIR: toHostPath(sandbox, '/tmp'),
      ...sandbox.envVars,
      ...envs,
    };
    const child = spawn(cmd, args, { cwd: cwdHost, env, detached: true, stdio: [r.wantsStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) {
      const [err] = (await once(child, 'error')) as [Error];
      throw new ConnectRpcError('invalid_argument', `error starting process '${[cmd, ...args].join(' ')}': ${err.message}`);
    }
    child.on('error', () => {}); // e.g. EPIPE on stdin; the exit is reported through 'exit'
    child.stdin?.on('error', () => {});

    const { proc, broadcast } = register(sandbox, child.pid!, child, r.tag, user, { cmd, args, envs, ...(cwd !== undefined ? { cwd } : {}) });
    child.stdout!.on('data', (chunk: Buffer) => broadcast({ data: { stdout: chunk.toString('base64') } }));
    child.stderr!.on('data', (chunk: Buffer) => broadcast({ data: { stderr: chunk.toString('base64') } }));

    const timeoutMs = Number(req.headers['connect-timeout-ms'] ?? 0);
    const deadline = timeoutMs > 0 ? setTimeout(() => killProcessGroup(proc, 'SIGKILL'), timeoutMs) : undefined;
    deadline?.unref();

    let closed = false;
    child.once('close', () => {
      closed = true;
    });
    child.once('exit', (code, signal) => {
      if (deadline) clearTimeout(deadline);
      const finish = () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        proc.end = endEvent(code, signal);
        sandbox.processes.delete(proc.pid);
        broadcast({ end: proc.end });
      };
      if (closed) return finish();
      const grace = setTimeout(finish, DRAIN_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        finish();
      });
    });

    stream.send({ event: { start: { pid: proc.pid } } });
    attach(proc, stream, Number(req.headers['keepalive-ping-interval'] ?? 0));
  }

  /**
   * Docker runtime: `docker exec` through the wrapper, whose first stderr line is the in-container PID (or why
   * it could not start). Output arriving before that line is held back, so the start event still comes first.
   */
  async function spawnInContainer(sandbox: FakeSandbox, user: string, r: StartRequest, req: IncomingMessage, stream: ServerStream): Promise<void> {
    const requestedAt = Date.now();
    const container = sandbox.container!;
    const { cmd, args, envs, cwd, cwdPath } = r;
    const env: Record<string, string> = {
      HOME: USER_HOMES[user] ?? USER_HOMES.user!,
      USER: user,
      LOGNAME: user,
      ...sandbox.envVars,
      ...envs,
    };
    const child = docker!.spawnCommand(container, { user, cwd: cwdPath, env, cmd, args, stdin: r.wantsStdin });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});

    const held: ProcessEventJson[] = [];
    let emit = (event: ProcessEventJson): void => {
      held.push(event);
    };
    let head = Buffer.alloc(0);
    let headerDone = false;
    let resolveHeader!: (line: string | undefined) => void;
    const header = new Promise<string | undefined>((resolve) => (resolveHeader = resolve));
    child.stdout!.on('data', (chunk: Buffer) => emit({ data: { stdout: chunk.toString('base64') } }));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (headerDone) return emit({ data: { stderr: chunk.toString('base64') } });
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      headerDone = true;
      const rest = head.subarray(nl + 1);
      resolveHeader(head.subarray(0, nl).toString('utf8').trim());
      if (rest.length > 0) emit({ data: { stderr: rest.toString('base64') } });
    });

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let onExit: (() => void) | undefined;
    child.once('close', (code, signal) => {
      exit = { code, signal };
      if (!headerDone) resolveHeader(undefined);
      onExit?.();
    });

    const line = await header;
    if (line === WRAPPER_NO_CWD) throw new ConnectRpcError('invalid_argument', `cwd '${cwdPath}' does not exist`);
    if (line === WRAPPER_CWD_DENIED) {
      throw new ConnectRpcError('invalid_argument', `error starting process '${[cmd, ...args].join(' ')}': chdir ${cwdPath}: permission denied`);
    }
    if (line === undefined || !/^\d+$/.test(line)) {
      const why = head.toString('utf8').trim() || `docker exec exited with ${exit?.code ?? exit?.signal}`;
      const gone = /No such container|is not running|is paused/i.test(why);
      throw new ConnectRpcError(gone ? 'unavailable' : 'internal', `error starting process '${[cmd, ...args].join(' ')}': ${why}`);
    }

    const { proc, broadcast } = register(sandbox, Number(line), child, r.tag, user, { cmd, args, envs, ...(cwd !== undefined ? { cwd } : {}) });

    const timeoutMs = Number(req.headers['connect-timeout-ms'] ?? 0);
    const deadline =
      timeoutMs > 0
        ? setTimeout(() => void signalProcess(docker, sandbox, proc, 'SIGKILL').catch(() => undefined), Math.max(0, timeoutMs - (Date.now() - requestedAt)))
        : undefined;
    deadline?.unref();

    const finish = () => {
      if (deadline) clearTimeout(deadline);
      const { code, signal } = exit!;
      const sent = proc.killSignal;
      const bySent = sent !== undefined && (code === null || code === 128 + osConstants.signals[sent]);
      proc.end = bySent ? endEvent(null, sent) : endEvent(code, signal);
      if (sandbox.processes.get(proc.pid) === proc) sandbox.processes.delete(proc.pid);
      broadcast({ end: proc.end });
    };

    stream.send({ event: { start: { pid: proc.pid } } });
    attach(proc, stream, Number(req.headers['keepalive-ping-interval'] ?? 0));
    for (const event of held.splice(0)) broadcast(event);
    emit = broadcast;
    if (exit) finish();
    else onExit = finish;
  }

  async function start(sandbox: FakeSandbox, user: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseStreamRequest(await readBody(req));
    const stream = new ServerStream(res);
    try {
      const config = (msg.process ?? {}) as { cmd?: unknown; args?: unknown; envs?: unknown; cwd?: unknown };
      if (msg.pty) throw new ConnectRpcError('unimplemented', 'PTY processes are not supported by the fake envd');
      const cmd = typeof config.cmd === 'string' ? config.cmd : '';
      if (cmd === '') throw new ConnectRpcError('invalid_argument', 'process.cmd is required');
      const cwd = typeof config.cwd === 'string' ? config.cwd : undefined;
      let cwdPath: string;
      try {
        cwdPath = resolveSandboxPath(cwd, user);
      } catch (err) {
        throw new ConnectRpcError('invalid_argument', (err as Error).message);
      }
      const request: StartRequest = {
        cmd,
        args: Array.isArray(config.args) ? config.args.map(String) : [],
        envs: asStringRecord(config.envs),
        ...(cwd !== undefined ? { cwd } : {}),
        cwdPath,
        ...(typeof msg.tag === 'string' ? { tag: msg.tag } : {}),
        // envd keeps stdin open unless the request says `stdin: false` (the SDK's default).
        wantsStdin: msg.stdin === undefined || msg.stdin === true,
      };
      if (sandbox.container && docker) await spawnInContainer(sandbox, user, request, req, stream);
      else await spawnLocal(sandbox, user, request, req, stream);
    } catch (err) {
      stream.end(err instanceof ConnectRpcError ? err : new ConnectRpcError('unknown', (err as Error).message));
    }
  }

  async function connect(sandbox: FakeSandbox, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseStreamRequest(await readBody(req));
    const stream = new ServerStream(res);
    try {
      const proc = selectProcess(sandbox, msg.process);
      stream.send({ event: { start: { pid: proc.pid } } });
      attach(proc, stream, Number(req.headers['keepalive-ping-interval'] ?? 0));
    } catch (err) {
      stream.end(err instanceof ConnectRpcError ? err : new ConnectRpcError('unknown', (err as Error).message));
    }
  }

  async function unary(sandbox: FakeSandbox, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseUnaryRequest(await readBody(req));
    switch (method) {
      case 'List':
        return sendUnary(res, {
          processes: [...sandbox.processes.values()].map((p) => ({ config: p.config, pid: p.pid, ...(p.tag ? { tag: p.tag } : {}) })),
        });
      case 'SendSignal': {
        const proc = selectProcess(sandbox, msg.process);
        const signal = msg.signal;
        if (signal === 'SIGNAL_SIGKILL' || signal === osConstants.signals.SIGKILL) await signalProcess(docker, sandbox, proc, 'SIGKILL');
        else if (signal === 'SIGNAL_SIGTERM' || signal === osConstants.signals.SIGTERM) await signalProcess(docker, sandbox, proc, 'SIGTERM');
        else throw new ConnectRpcError('unimplemented', `invalid signal: ${String(signal)}`);
        return sendUnary(res, {});
      }
      case 'SendInput': {
        const proc = selectProcess(sandbox, msg.process);
        const input = (msg.input ?? {}) as { stdin?: unknown; pty?: unknown };
        if (typeof input.stdin !== 'string') throw new ConnectRpcError('internal', 'error writing to tty: tty not assigned to process');
        const stdin = proc.child.stdin;
        if (!stdin || stdin.writableEnded || stdin.destroyed) {
          throw new ConnectRpcError('internal', 'error writing to stdin: stdin not enabled or closed');
        }
        await new Promise<void>((resolve, reject) => stdin.write(Buffer.from(input.stdin as string, 'base64'), (e) => (e ? reject(e) : resolve()))).catch(
          (e: Error) => {
            throw new ConnectRpcError('internal', `error writing to stdin: ${e.message}`);
          },
        );
        return sendUnary(res, {});
      }
      case 'CloseStdin': {
        const proc = selectProcess(sandbox, msg.process);
        proc.child.stdin?.end();
        return sendUnary(res, {});
      }
      default:
        throw new ConnectRpcError('unimplemented', `process.Process/${method} is not implemented by the fake envd`);
    }
  }

  return async function handle(sandbox: FakeSandbox, user: string, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'Start') return start(sandbox, user, req, res);
    if (method === 'Connect') return connect(sandbox, req, res);
    return unary(sandbox, method, req, res);
  };
}
