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
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as osConstants } from 'node:os';
import { ConnectRpcError, ServerStream, parseStreamRequest, parseUnaryRequest, readBody, sendUnary } from './connect.js';
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

export function createProcessService() {
  async function start(sandbox: FakeSandbox, user: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseStreamRequest(await readBody(req));
    const stream = new ServerStream(res);
    try {
      const config = (msg.process ?? {}) as { cmd?: unknown; args?: unknown; envs?: unknown; cwd?: unknown };
      if (msg.pty) throw new ConnectRpcError('unimplemented', 'PTY processes are not supported by the fake envd');
      const cmd = typeof config.cmd === 'string' ? config.cmd : '';
      if (cmd === '') throw new ConnectRpcError('invalid_argument', 'process.cmd is required');
      const args = Array.isArray(config.args) ? config.args.map(String) : [];
      const envs = asStringRecord(config.envs);
      const cwd = typeof config.cwd === 'string' ? config.cwd : undefined;

      let cwdPath: string;
      try {
        cwdPath = resolveSandboxPath(cwd, user);
      } catch (err) {
        throw new ConnectRpcError('invalid_argument', (err as Error).message);
      }
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
      // envd keeps stdin open unless the request says `stdin: false` (the SDK's default).
      const wantsStdin = msg.stdin === undefined || msg.stdin === true;
      const child = spawn(cmd, args, { cwd: cwdHost, env, detached: true, stdio: [wantsStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      if (child.pid === undefined) {
        const [err] = (await once(child, 'error')) as [Error];
        throw new ConnectRpcError('invalid_argument', `error starting process '${[cmd, ...args].join(' ')}': ${err.message}`);
      }
      child.on('error', () => {}); // e.g. EPIPE on stdin; the exit is reported through 'exit'
      child.stdin?.on('error', () => {});

      const proc: FakeProcess = {
        pid: child.pid,
        tag: typeof msg.tag === 'string' ? msg.tag : undefined,
        user,
        config: { cmd, args, envs, ...(cwd !== undefined ? { cwd } : {}) },
        child,
        listeners: new Set(),
      };
      sandbox.processes.set(proc.pid, proc);
      const broadcast = (event: ProcessEventJson) => {
        for (const listener of [...proc.listeners]) listener(event);
      };
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
        if (signal === 'SIGNAL_SIGKILL' || signal === osConstants.signals.SIGKILL) killProcessGroup(proc, 'SIGKILL');
        else if (signal === 'SIGNAL_SIGTERM' || signal === osConstants.signals.SIGTERM) killProcessGroup(proc, 'SIGTERM');
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
