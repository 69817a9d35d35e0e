/**
 * The fake's state: sandboxes, their lifecycle (running/paused/killed, timeouts) and how a sandbox's
 * filesystem maps onto the local disk.
 *
 * Simplification (not a real VM, not chrooted): every sandbox gets a temporary directory `rootDir`, and every
 * absolute sandbox path `/x/y` lives at `<rootDir>/x/y`. `/home/user` (the default user's home and working
 * directory), `/root` and `/tmp` are created up front. The files API and a command's `cwd` are translated this
 * way, and commands get HOME=<rootDir>/home/user (or <rootDir>/root for `root`) and TMPDIR=<rootDir>/tmp.
 * Commands themselves run on this machine as the current OS user, so paths *inside a command line* are host
 * paths: use relative paths, `~` or `$HOME` in commands. This is a test double, not a security boundary.
 *
 * With the Docker runtime (`runtime: 'docker'`, see docker.ts) a sandbox is a real container instead: `rootDir`
 * is '' and `container` names it, paths need no translation, pause stops the container and resume starts it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import type { DockerRuntime } from './docker.js';

/**
 * The users an E2B template has. The local runtime runs everything as the current OS user but keeps their homes
 * apart; the Docker runtime runs as these users of the image.
 */
export const USER_HOMES: Readonly<Record<string, string>> = { user: '/home/user', root: '/root' };
export const DEFAULT_USER = 'user';

/** One `ProcessEvent` as proto3 JSON (bytes as base64). */
export type ProcessEventJson =
  | { start: { pid: number } }
  | { data: { stdout: string } | { stderr: string } }
  | { end: EndEventJson }
  | { keepalive: Record<string, never> };

export interface EndEventJson {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string;
}

export interface FakeProcess {
  pid: number;
  tag?: string;
  user: string;
  /** The ProcessConfig as requested (cmd/args/envs/cwd), as envd reports it in List. */
  config: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
  /** The local process, or (Docker runtime) the `docker exec` client. */
  child: ChildProcess;
  /** Docker runtime: the signal the fake sent into the container, so that a 128+N exit reads as that signal. */
  killSignal?: NodeJS.Signals;
  /** Streams (Start/Connect calls) receiving this process's events. */
  listeners: Set<(event: ProcessEventJson) => void>;
  end?: EndEventJson;
}

export type SandboxState = 'running' | 'paused';

export interface FakeSandbox {
  sandboxId: string;
  templateId: string;
  alias: string;
  clientId: string;
  state: SandboxState;
  metadata: Record<string, string>;
  /** Sandbox-wide env vars (`envs` at create), given to every command. */
  envVars: Record<string, string>;
  startedAt: Date;
  endAt: Date;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  envdVersion: string;
  /** '' when the sandbox was created unsecured: envd then accepts requests without a token. */
  envdAccessToken: string;
  /** lifecycle.onTimeout === 'pause' */
  autoPause: boolean;
  autoResume: boolean;
  allowInternetAccess: boolean | null;
  /** Host directory holding the sandbox's filesystem ('' with the Docker runtime). */
  rootDir: string;
  /** Docker runtime: the container that is this sandbox. */
  container?: string;
  processes: Map<number, FakeProcess>;
  /** How many times it was resumed (handy in tests). */
  resumeCount: number;
  expiryTimer?: NodeJS.Timeout;
}

export interface CreateSandboxInput {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  autoPause: boolean;
  autoResume: boolean;
  allowInternetAccess: boolean | null;
  /** v2 create is always secured (envd requires X-Access-Token); v1 create only with `secure: true`. */
  secure: boolean;
}

export interface StateOptions {
  baseDir: string;
  /** Set for the Docker runtime: sandboxes are containers. */
  docker?: DockerRuntime;
  envdVersion: string;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
}

/** E2B sandbox ids are 20 lowercase alphanumerics. */
function newSandboxId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length]).join('');
}

/** Send `signal` to the process group (children started with detached:true lead their own group), else the process. */
export function killProcessGroup(proc: FakeProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      process.kill(proc.pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * envd's ExpandAndResolve: '' means the user's home, '~' and '~/x' expand to it, relative paths are relative to
 * it. Returns a normalised absolute *sandbox* path (`..` cannot climb above `/`).
 */
export function resolveSandboxPath(path: string | undefined, user: string): string {
  const home = USER_HOMES[user] ?? USER_HOMES[DEFAULT_USER]!;
  let p = path ?? '';
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  else if (p.startsWith('~')) throw new Error(`failed to expand path '${p}' for user '${user}': cannot expand user-specific home dir`);
  return posix.resolve(home, p);
}

/** Where a sandbox path lives on this machine. */
export function toHostPath(sandbox: FakeSandbox, sandboxPath: string): string {
  return join(sandbox.rootDir, posix.resolve('/', sandboxPath));
}

/** The sandbox path of a host path inside the sandbox's root. */
export function toSandboxPath(sandbox: FakeSandbox, hostPath: string): string {
  const rel = relative(sandbox.rootDir, hostPath).split('\\').join('/');
  return rel === '' ? '/' : `/${rel}`;
}

export class FakeE2BState {
  readonly sandboxes = new Map<string, FakeSandbox>();

  constructor(private readonly options: StateOptions) {}

  /** The Docker runtime, when sandboxes are containers. */
  get docker(): DockerRuntime | undefined {
    return this.options.docker;
  }

  async create(input: CreateSandboxInput): Promise<FakeSandbox> {
    let sandboxId = newSandboxId();
    while (this.sandboxes.has(sandboxId)) sandboxId = newSandboxId();
    const docker = this.options.docker;
    let rootDir = '';
    let container: string | undefined;
    if (docker) {
      container = await docker.createContainer(sandboxId, { network: input.allowInternetAccess !== false });
    } else {
      rootDir = join(this.options.baseDir, sandboxId);
      for (const dir of ['home/user', 'root', 'tmp']) await mkdir(join(rootDir, dir), { recursive: true });
    }
    const now = new Date();
    const sandbox: FakeSandbox = {
      sandboxId,
      templateId: input.templateId,
      alias: input.templateId,
      clientId: '6532622b',
      state: 'running',
      metadata: { ...input.metadata },
      envVars: { ...input.envVars },
      startedAt: now,
      endAt: new Date(now.getTime() + input.timeoutSeconds * 1000),
      cpuCount: this.options.cpuCount,
      memoryMB: this.options.memoryMB,
      diskSizeMB: this.options.diskSizeMB,
      envdVersion: this.options.envdVersion,
      envdAccessToken: input.secure ? randomBytes(24).toString('hex') : '',
      autoPause: input.autoPause,
      autoResume: input.autoResume,
      allowInternetAccess: input.allowInternetAccess,
      rootDir,
      ...(container !== undefined ? { container } : {}),
      processes: new Map(),
      resumeCount: 0,
    };
    this.sandboxes.set(sandboxId, sandbox);
    this.scheduleExpiry(sandbox);
    return sandbox;
  }

  /** endAt = now + seconds, and the sandbox is paused or killed when it passes (like E2B's TTL). */
  setTimeout(sandbox: FakeSandbox, seconds: number): void {
    sandbox.endAt = new Date(Date.now() + seconds * 1000);
    this.scheduleExpiry(sandbox);
  }

  /** Connect only ever extends a running sandbox's timeout. */
  extendTimeout(sandbox: FakeSandbox, seconds: number): void {
    const candidate = Date.now() + seconds * 1000;
    if (candidate > sandbox.endAt.getTime()) this.setTimeout(sandbox, seconds);
  }

  /**
   * Pausing keeps the files and drops the memory: running processes are killed. The state flips at once (envd
   * calls fail from then on); with Docker the promise settles once the container has stopped.
   */
  async pause(sandbox: FakeSandbox): Promise<void> {
    sandbox.state = 'paused';
    this.clearExpiry(sandbox);
    this.killProcesses(sandbox);
    if (sandbox.container) await this.serialized(sandbox, () => this.options.docker!.stop(sandbox.container!));
  }

  async resume(sandbox: FakeSandbox, timeoutSeconds: number): Promise<void> {
    if (sandbox.container) await this.serialized(sandbox, () => this.options.docker!.start(sandbox.container!));
    sandbox.state = 'running';
    sandbox.startedAt = new Date();
    sandbox.resumeCount += 1;
    this.setTimeout(sandbox, timeoutSeconds);
  }

  async kill(sandbox: FakeSandbox): Promise<void> {
    this.sandboxes.delete(sandbox.sandboxId);
    this.clearExpiry(sandbox);
    this.killProcesses(sandbox);
    if (sandbox.container) await this.serialized(sandbox, () => this.options.docker!.remove(sandbox.container!));
    else await rm(sandbox.rootDir, { recursive: true, force: true });
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((s) => this.kill(s)));
  }

  /**
   * Kill every running command. With Docker the processes die with the container (stop or rm) and their
   * `docker exec` clients then exit; marking them makes that exit read as SIGKILL, as on E2B.
   */
  killProcesses(sandbox: FakeSandbox): void {
    for (const proc of sandbox.processes.values()) {
      if (sandbox.container) proc.killSignal = 'SIGKILL';
      else killProcessGroup(proc, 'SIGKILL');
    }
  }

  /** Run container lifecycle steps of one sandbox one after the other (a pause racing a resume or a kill). */
  private readonly lifecycle = new Map<string, Promise<void>>();
  private serialized(sandbox: FakeSandbox, step: () => Promise<void>): Promise<void> {
    const previous = this.lifecycle.get(sandbox.sandboxId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(step);
    const settled = next.catch(() => undefined);
    this.lifecycle.set(sandbox.sandboxId, settled);
    void settled.then(() => {
      if (this.lifecycle.get(sandbox.sandboxId) === settled) this.lifecycle.delete(sandbox.sandboxId);
    });
    return next;
  }

  private clearExpiry(sandbox: FakeSandbox): void {
    if (sandbox.expiryTimer) clearTimeout(sandbox.expiryTimer);
    sandbox.expiryTimer = undefined;
  }

  private scheduleExpiry(sandbox: FakeSandbox): void {
    this.clearExpiry(sandbox);
    // setTimeout's ceiling is ~24.8 days; E2B's maximum is 24h, so clamping never changes behaviour.
    const delay = Math.min(Math.max(0, sandbox.endAt.getTime() - Date.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      if (this.sandboxes.get(sandbox.sandboxId) !== sandbox || sandbox.state !== 'running') return;
      if (sandbox.autoPause) void this.pause(sandbox).catch(() => undefined);
      else void this.kill(sandbox).catch(() => undefined);
    }, delay);
    timer.unref();
    sandbox.expiryTimer = timer;
  }
}
