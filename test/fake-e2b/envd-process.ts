/**
 * The fake of envd's `process.Process` Connect service, limited to what the provider calls through the SDK's
 * `sandbox.commands.run` (background) and `handle.kill`:
 *
 *   Start       (server stream)  spawns cmd+args exactly as sent (the SDK sends `/bin/bash -l -c <command>`),
 *                                streams start{pid}, data{stdout|stderr}, end{...}
 *   SendSignal  (unary)          handle.kill (SIGKILL), also SIGTERM
 *
 * As envd does (e2b-dev/infra packages/envd/internal/services/process/start.go and handler/handler.go):
 * - a process outlives the stream that started it (the request's context does not reach it);
 * - `Connect-Timeout-Ms` is the process's deadline (start.go: context.WithTimeout on context.Background):
 *   at the deadline envd kills the process (exec.CommandContext: SIGKILL, the process only) and stops reading
 *   its pipes (`Wait`: outCtx is done, cmd.Wait closes the read ends), so a background process that inherited
 *   them dies of SIGPIPE at its next write. SendSignal with SIGKILL or SIGTERM closes them too (`outCancel`);
 * - the end event comes only once the pipes are closed (`Wait` waits for outCtx): a background process holding
 *   them holds the end back until it exits or the deadline passes;
 * - output nobody listens to is read and dropped (multiplex.go), so a chatty process never blocks;
 * - stdin is never a pipe here: the SDK sends `stdin: false` and the provider never writes to a command;
 * - the end reads like Go's os.ProcessState: "exit status N", or exit code -1 and "signal: killed".
 *
 * Local runtime: commands are local child processes (see state.ts for the path simplification), each leading
 * its own process group so that close() can clean up, but signals go to the process only, as in envd.
 * Docker runtime (see docker.ts): a command is `docker exec`-ed into the sandbox's container as the requested
 * user through a wrapper whose fifos and relays stand for envd's pipes; the PID reported to the SDK is the
 * process's PID inside the container, and signals are sent inside the container to that process only. Since
 * `docker exec` only reports an exit code, a 128+N exit reads as "signal: <N>" only when the fake itself sent
 * signal N (SendSignal, a deadline, a pause or a kill); a command that dies of a signal on its own reads as
 * "exit status 128+N".
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as osConstants } from 'node:os';
import {
  ConnectRpcError,
  ServerStream,
  parseStreamRequest,
  parseUnaryRequest,
  readBody,
  sendUnary,
} from './connect.js';
import { WRAPPER_CWD_DENIED, WRAPPER_HEADER, WRAPPER_NO_CWD, type DockerRuntime } from './docker.js';
import {
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

/**
 * envd's SendSignal and deadline: the signal goes to the process only; SIGKILL and SIGTERM also close its pipes
 * (handler.go SendSignal: outCancel), which kills background writers with SIGPIPE.
 */
async function signalProcess(
  docker: DockerRuntime | undefined,
  sandbox: FakeSandbox,
  proc: FakeProcess,
  signal: NodeJS.Signals,
): Promise<void> {
  const closesPipes = signal === 'SIGKILL' || signal === 'SIGTERM';
  if (sandbox.container && docker) {
    proc.killSignal = signal;
    await docker.signal(sandbox.container, proc.pid, signal);
    if (closesPipes && proc.wrapperPid !== undefined)
      await docker.signal(sandbox.container, proc.wrapperPid, 'SIGUSR1');
  } else {
    try {
      process.kill(proc.pid, signal);
    } catch {
      // already gone
    }
    if (closesPipes) {
      proc.child.stdout?.destroy();
      proc.child.stderr?.destroy();
    }
  }
}

interface StartRequest {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  cwdPath: string;
  tag?: string;
}

/** Records a started process in its sandbox; `broadcast` sends an event to everyone attached to it. */
function register(sandbox: FakeSandbox, pid: number, child: FakeProcess['child'], r: StartRequest, user: string) {
  const config = { cmd: r.cmd, args: r.args, envs: r.envs, ...(r.cwd !== undefined ? { cwd: r.cwd } : {}) };
  const proc: FakeProcess = { pid, tag: r.tag, user, config, child, listeners: new Set() };
  sandbox.processes.set(pid, proc);
  const broadcast = (event: ProcessEventJson) => {
    for (const listener of [...proc.listeners]) listener(event);
  };
  return { proc, broadcast };
}

/** The process's deadline (start.go: the Connect-Timeout-Ms header; 0 or none means no deadline). */
function armDeadline(req: IncomingMessage, requestedAt: number, onDeadline: () => void): NodeJS.Timeout | undefined {
  const timeoutMs = Number(req.headers['connect-timeout-ms'] ?? 0);
  if (!(timeoutMs > 0)) return undefined;
  const timer = setTimeout(onDeadline, Math.max(0, timeoutMs - (Date.now() - requestedAt)));
  timer.unref();
  return timer;
}

export function createProcessService(docker?: DockerRuntime) {
  /** Local runtime: a child process on this machine, in the sandbox directory. */
  async function spawnLocal(
    sandbox: FakeSandbox,
    user: string,
    r: StartRequest,
    req: IncomingMessage,
    stream: ServerStream,
  ): Promise<void> {
    const requestedAt = Date.now();
    const { cmd, args, envs, cwdPath } = r;
    const cwdHost = toHostPath(sandbox, cwdPath);
    const cwdStat = await stat(cwdHost).catch(() => undefined);
    if (!cwdStat?.isDirectory()) throw new ConnectRpcError('invalid_argument', `cwd '${cwdPath}' does not exist`);

    // envd's environment (handler.go New): PATH, HOME, USER, LOGNAME, the sandbox env vars, then the request's.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: toHostPath(sandbox, USER_HOMES[user] ?? USER_HOMES.user!),
      USER: user,
      LOGNAME: user,
      TMPDIR: toHostPath(sandbox, '/tmp'),
      ...sandbox.envVars,
      ...envs,
    };
    const child = spawn(cmd, args, { cwd: cwdHost, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) {
      const [err] = (await once(child, 'error')) as [Error];
      throw new ConnectRpcError(
        'invalid_argument',
        `error starting process '${[cmd, ...args].join(' ')}': ${err.message}`,
      );
    }
    child.on('error', () => {});

    const { proc, broadcast } = register(sandbox, child.pid!, child, r, user);
    child.stdout!.on('data', (chunk: Buffer) => broadcast({ data: { stdout: chunk.toString('base64') } }));
    child.stderr!.on('data', (chunk: Buffer) => broadcast({ data: { stderr: chunk.toString('base64') } }));
    const deadline = armDeadline(req, requestedAt, () => void signalProcess(undefined, sandbox, proc, 'SIGKILL'));

    // 'close' comes once the process has exited and both pipes are closed: envd's Wait.
    child.once('close', (code, signal) => {
      if (deadline) clearTimeout(deadline);
      proc.end = endEvent(code, signal);
      sandbox.processes.delete(proc.pid);
      broadcast({ end: proc.end });
    });

    stream.send({ event: { start: { pid: proc.pid } } });
    attach(proc, stream, Number(req.headers['keepalive-ping-interval'] ?? 0));
  }

  /**
   * Docker runtime: `docker exec` through the wrapper, whose header line on stderr carries the in-container PIDs
   * (or says why it could not start). Output arriving before that line is held back, so the start event still
   * comes first.
   */
  async function spawnInContainer(
    sandbox: FakeSandbox,
    user: string,
    r: StartRequest,
    req: IncomingMessage,
    stream: ServerStream,
  ): Promise<void> {
    const requestedAt = Date.now();
    const container = sandbox.container!;
    const { cmd, args, envs, cwdPath } = r;
    const env: Record<string, string> = {
      HOME: USER_HOMES[user] ?? USER_HOMES.user!,
      USER: user,
      LOGNAME: user,
      ...sandbox.envVars,
      ...envs,
    };
    const child = docker!.spawnCommand(container, { user, cwd: cwdPath, env, cmd, args });
    child.on('error', () => {});

    const held: ProcessEventJson[] = [];
    let emit = (event: ProcessEventJson): void => {
      held.push(event);
    };
    let head = Buffer.alloc(0);
    let headerDone = false;
    let resolveHeader!: (line: string | undefined) => void;
    const header = new Promise<string | undefined>((resolve) => (resolveHeader = resolve));
    const marker = Buffer.from(WRAPPER_HEADER);
    child.stdout!.on('data', (chunk: Buffer) => emit({ data: { stdout: chunk.toString('base64') } }));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (headerDone) return emit({ data: { stderr: chunk.toString('base64') } });
      head = Buffer.concat([head, chunk]);
      // The header is written in one write(), but the command's stderr may come before it.
      const at = head.indexOf(marker);
      const failure = at < 0 && /^!fake-envd:[a-z-]+\n/.exec(head.toString('utf8'));
      if (failure) {
        headerDone = true;
        return resolveHeader(failure[0].trim());
      }
      const nl = at < 0 ? -1 : head.indexOf(10, at);
      if (nl < 0) return;
      headerDone = true;
      const rest = Buffer.concat([head.subarray(0, at), head.subarray(nl + 1)]);
      resolveHeader(
        head
          .subarray(at + marker.length, nl)
          .toString('utf8')
          .trim(),
      );
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
      throw new ConnectRpcError(
        'invalid_argument',
        `error starting process '${[cmd, ...args].join(' ')}': chdir ${cwdPath}: permission denied`,
      );
    }
    const pids = line === undefined ? undefined : /^(\d+) (\d+)$/.exec(line);
    if (!pids) {
      const why = head.toString('utf8').trim() || `docker exec exited with ${exit?.code ?? exit?.signal}`;
      const gone = /No such container|is not running|is paused/i.test(why);
      throw new ConnectRpcError(
        gone ? 'unavailable' : 'internal',
        `error starting process '${[cmd, ...args].join(' ')}': ${why}`,
      );
    }

    const { proc, broadcast } = register(sandbox, Number(pids[1]), child, r, user);
    proc.wrapperPid = Number(pids[2]);
    const deadline = armDeadline(
      req,
      requestedAt,
      () => void signalProcess(docker, sandbox, proc, 'SIGKILL').catch(() => undefined),
    );

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
      if (msg.stdin === true)
        throw new ConnectRpcError(
          'unimplemented',
          'stdin pipes are not supported by the fake envd (the provider never uses them)',
        );
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
      };
      if (sandbox.container && docker) await spawnInContainer(sandbox, user, request, req, stream);
      else await spawnLocal(sandbox, user, request, req, stream);
    } catch (err) {
      stream.end(err instanceof ConnectRpcError ? err : new ConnectRpcError('unknown', (err as Error).message));
    }
  }

  async function sendSignal(sandbox: FakeSandbox, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseUnaryRequest(await readBody(req));
    const proc = selectProcess(sandbox, msg.process);
    const signal = msg.signal;
    if (signal === 'SIGNAL_SIGKILL' || signal === osConstants.signals.SIGKILL)
      await signalProcess(docker, sandbox, proc, 'SIGKILL');
    else if (signal === 'SIGNAL_SIGTERM' || signal === osConstants.signals.SIGTERM)
      await signalProcess(docker, sandbox, proc, 'SIGTERM');
    else throw new ConnectRpcError('unimplemented', `invalid signal: ${String(signal)}`);
    sendUnary(res, {});
  }

  return async function handle(
    sandbox: FakeSandbox,
    user: string,
    method: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    if (method === 'Start') return start(sandbox, user, req, res);
    if (method === 'SendSignal') return sendSignal(sandbox, req, res);
    req.resume();
    throw new ConnectRpcError(
      'unimplemented',
      `process.Process/${method} is not implemented by the fake envd (the provider never calls it)`,
    );
  };
}
