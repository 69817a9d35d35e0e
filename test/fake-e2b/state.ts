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
 * is '' and `container` names it, paths need no translation, pause freezes the container (or stops it, for a
 * filesystem-only pause) and resume thaws (or starts) it.
 *
 * The account's plan (plans.ts) caps lifetimes and how many sandboxes run at once.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import type { DockerRuntime } from './docker.js';
import { startSampling, type MetricSample } from './metrics.js';
import type { Plan } from './plans.js';

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
  /** The ProcessConfig as requested (cmd/args/envs/cwd). */
  config: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
  /** The local process, or (Docker runtime) the `docker exec` client. */
  child: ChildProcess;
  /** Docker runtime: the signal the fake sent into the container, so that a 128+N exit reads as that signal. */
  killSignal?: NodeJS.Signals;
  /** Docker runtime: the wrapper holding the process's pipes (SIGUSR1 closes them, see docker.ts). */
  wrapperPid?: number;
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
  /** v2 create always makes a secured sandbox: envd wants this in X-Access-Token. */
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
  /** How the last pause was made: with memory (processes frozen) or filesystem only (processes gone). */
  pausedWithMemory?: boolean;
  /** Metrics samples taken so far (see metrics.ts: one every 5 s while running). */
  samples: MetricSample[];
  /** How many times it was resumed (handy in tests). */
  resumeCount: number;
  expiryTimer?: NodeJS.Timeout;
  stopSampling?: () => void;
}

export interface CreateSandboxInput {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  autoPause: boolean;
  autoResume: boolean;
  allowInternetAccess: boolean | null;
}

export interface StateOptions {
  baseDir: string;
  /** Set for the Docker runtime: sandboxes are containers. */
  docker?: DockerRuntime;
  envdVersion: string;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  plan: Plan;
}

/** E2B sandbox ids are 20 lowercase alphanumerics. */
function newSandboxId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length]).join('');
}

/** Local runtime: send `signal` to the process group (children started with detached:true lead their own group). */
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
  else if (p.startsWith('~'))
    throw new Error(`failed to expand path '${p}' for user '${user}': cannot expand user-specific home dir`);
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
      envdAccessToken: randomBytes(24).toString('hex'),
      autoPause: input.autoPause,
      autoResume: input.autoResume,
      allowInternetAccess: input.allowInternetAccess,
      rootDir,
      ...(container !== undefined ? { container } : {}),
      processes: new Map(),
      samples: [],
      resumeCount: 0,
    };
    this.sandboxes.set(sandboxId, sandbox);
    this.scheduleExpiry(sandbox);
    sandbox.stopSampling = startSampling(sandbox);
    return sandbox;
  }

  get plan(): Plan {
    return this.options.plan;
  }

  /** Sandboxes that count against the plan's concurrency cap (paused ones do not). */
  get runningCount(): number {
    return [...this.sandboxes.values()].filter((s) => s.state === 'running').length;
  }

  /** endAt = now + seconds, and the sandbox is paused or killed when it passes (like E2B's TTL). */
  setTimeout(sandbox: FakeSandbox, seconds: number): void {
    sandbox.endAt = new Date(Date.now() + seconds * 1000);
    this.scheduleExpiry(sandbox);
  }

  /**
   * Pausing keeps the files, and by default the memory (packages/api/internal/handlers/sandbox_pause.go: only
   * `memory: false` asks for a filesystem-only snapshot): processes are frozen and carry on after resume.
   * Without memory, running processes are killed. The state flips at once (envd calls fail from then on).
   */
  async pause(sandbox: FakeSandbox, memory = true): Promise<void> {
    sandbox.state = 'paused';
    sandbox.pausedWithMemory = memory;
    this.clearExpiry(sandbox);
    sandbox.stopSampling?.();
    sandbox.samples = [];
    if (sandbox.container) {
      if (!memory) this.killProcesses(sandbox);
      await this.serialized(sandbox, () => this.options.docker!.pause(sandbox.container!, memory));
    } else {
      for (const proc of sandbox.processes.values()) killProcessGroup(proc, memory ? 'SIGSTOP' : 'SIGKILL');
    }
  }

  async resume(sandbox: FakeSandbox, timeoutSeconds: number): Promise<void> {
    const memory = sandbox.pausedWithMemory !== false;
    if (sandbox.container)
      await this.serialized(sandbox, () => this.options.docker!.resume(sandbox.container!, memory));
    else if (memory) for (const proc of sandbox.processes.values()) killProcessGroup(proc, 'SIGCONT');
    sandbox.state = 'running';
    // A resumed sandbox starts anew: its plan's maximum lifetime counts from here (keep_alive.go: StartTime).
    sandbox.startedAt = new Date();
    sandbox.resumeCount += 1;
    this.setTimeout(sandbox, timeoutSeconds);
    sandbox.stopSampling = startSampling(sandbox);
  }

  /**
   * E2B's KeepAliveFor (packages/api/internal/orchestrator/keep_alive.go): the new end is now + the duration,
   * capped so that the sandbox lives at most the plan's maximum from its last start; with `allowShorter` false
   * (connect) an earlier end than the current one is ignored. 'exceeded' when the sandbox already ran longer
   * than the maximum (the API answers 400).
   */
  keepAliveFor(sandbox: FakeSandbox, seconds: number, allowShorter: boolean): 'ok' | 'exceeded' {
    const now = Date.now();
    const maxMs = this.options.plan.maxLengthHours * 3600_000;
    const elapsed = now - sandbox.startedAt.getTime();
    if (elapsed > maxMs) return 'exceeded';
    const end = now + Math.max(0, Math.min(maxMs - elapsed, seconds * 1000));
    if (!allowShorter && end < sandbox.endAt.getTime()) return 'ok';
    sandbox.endAt = new Date(end);
    this.scheduleExpiry(sandbox);
    return 'ok';
  }

  async kill(sandbox: FakeSandbox): Promise<void> {
    this.sandboxes.delete(sandbox.sandboxId);
    this.clearExpiry(sandbox);
    sandbox.stopSampling?.();
    this.killProcesses(sandbox);
    if (sandbox.container) await this.serialized(sandbox, () => this.options.docker!.remove(sandbox.container!));
    else await rm(sandbox.rootDir, { recursive: true, force: true });
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((s) => this.kill(s)));
  }

  /**
   * Kill every running command. With Docker the processes die with the container (stop or rm) and their
   * `docker exec` clients then exit; marking them makes that exit read as SIGKILL, as on E2B. Locally the whole
   * process group goes, so that tests leak nothing.
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
