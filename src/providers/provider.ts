import type { NetworkMode, ProviderName } from '../provider-names.js';

export { PROVIDER_NAMES, type NetworkMode, type ProviderName } from '../provider-names.js';

/** What every backend offers: sandboxes, runs, files and usage. Nothing here is Docker- or E2B-specific. */
export interface SandboxProvider {
  readonly name: ProviderName;
  /** Options of a sandbox this backend can apply; the policy layer refuses the others when they are asked for. */
  readonly capabilities: ProviderCapabilities;
  /** Checks that the backend answers; throws PROVIDER_UNAVAILABLE with a fix when it does not. */
  ping(): Promise<void>;
  create(spec: SandboxSpec, onProgress?: (message: string) => void): Promise<SandboxInfo>;
  /** Throws SANDBOX_NOT_FOUND for anything this server did not create. */
  get(id: string): Promise<SandboxInfo>;
  list(): Promise<SandboxInfo[]>;
  /** Runs a command to completion or timeout, streaming its output. A non-zero exit is an outcome, not an error. */
  run(id: string, spec: RunSpec): Promise<RunOutcome>;
  /**
   * Kills every process of a run of the sandbox user by its run ID (RunSpec.runId), whichever server started it
   * (another server of the namespace ends a background execution this way): the run's own `run` call then ends.
   * A run that is over, or unknown, is nothing to do.
   */
  killRun(id: string, runId: string): Promise<void>;
  writeFile(id: string, path: string, data: FileBody, options: FileOptions): Promise<WrittenFile>;
  /** The file's bytes, or null when it does not exist; a file over `maxBytes` is refused (INVALID_ARGUMENT). */
  readFile(id: string, path: string, options: ReadOptions): Promise<Buffer | null>;
  /**
   * As readFile, but the bytes go to `sink` as they arrive instead of into one Buffer (a download of megabytes
   * then never sits in the server's memory); false when the file does not exist. Optional: without it, readFile.
   */
  readFileInto?(id: string, path: string, sink: ByteSink, options: ReadOptions): Promise<boolean>;
  usage(id: string): Promise<ResourceUsage | null>;
  start(id: string): Promise<void>;
  /**
   * Moves the end of the sandbox's lifetime, where the backend enforces one itself (E2B); else nothing. Returns
   * the end the backend will honour: earlier than asked when the backend caps lifetimes (E2B's plans).
   */
  setExpiry(id: string, expiresAt: Date, options?: ExpiryOptions): Promise<Date>;
  /**
   * True when the backend knows, without asking anyone, that the sandbox is running: this server holds a live
   * connection to a process inside it, which ends when it stops or goes (Docker: its run agent). False when it
   * cannot tell; get() asks.
   */
  knownRunning?(id: string): boolean;
  /** Stops the sandbox and keeps its files; stopping a stopped sandbox does nothing. */
  stop(id: string): Promise<void>;
  /** Removes the sandbox and everything the backend kept for it, and says what that was. */
  remove(id: string): Promise<Removal>;
  /** Kills every process of the sandbox and starts it again; files (and the environment file) are kept. */
  restart(id: string): Promise<void>;
  /** URLs at which the user's machine reaches these ports of a running sandbox, by port. */
  portUrls(id: string, ports: number[]): Promise<Record<string, string>>;
  /**
   * Does the one-time work of a first create before any is asked for, in the background: what the templates would
   * be made from, the network new sandboxes join by default. Nothing is pulled or built; what fails is left for the
   * first create to do again and report.
   */
  warmUp?(hint: { sources: SandboxSources[]; network: NetworkMode }): Promise<void>;
  /** Starts the backend's own background work (Docker's disk watchdog), reporting what it did to `listener`. */
  watch?(listener: (event: ProviderEvent) => void): void;
  close(): Promise<void>;
}

export interface ExpiryOptions {
  /**
   * The caller need not wait for the new end to be on record (a warm sandbox's claim, whose record already holds
   * it). A backend that honours every end as asked, and knows that the sandbox's current end protects it for
   * minutes yet, may then write it after returning; others ignore this.
   */
  afterReturn?: boolean;
}

/** Options a backend can apply when it makes a sandbox. */
export interface ProviderCapabilities {
  /** The sandbox's CPU cores can be chosen (`cpus`); E2B's templates fix their machine size. */
  cpus: boolean;
  /** The sandbox's memory limit can be chosen (`memory_mb`). */
  memory: boolean;
}

/** What a backend removed with a sandbox, in words the agent reads (`resources_cleaned`). */
export interface Removal {
  resources: string[];
}

/**
 * Where each backend makes a template's sandbox from, filled by the template catalog; a backend reads only its
 * own entry, and a new backend adds its own.
 */
export interface SandboxSources {
  /** Docker image (pulled, or built from `dockerfile` when missing). */
  docker?: { image: string; dockerfile?: string };
  /** E2B template name or ID. */
  e2b?: { template: string };
}

/** Something the backend did on its own to a sandbox, for its history. */
export interface ProviderEvent {
  sandboxId: string;
  kind: 'disk_quota';
  message: string;
}

export type SandboxState = 'running' | 'stopped';
export type RunUser = 'user' | 'root';
export type OutputStream = 'stdout' | 'stderr';

export interface SandboxSpec {
  id: string;
  name: string;
  template: string;
  language: string;
  /** What each backend makes the sandbox from. */
  sources: SandboxSources;
  cpus: number;
  memoryMb: number;
  network: NetworkMode;
  /** SANDBOX_NAMESPACE of the server that makes it; servers see only their namespace's sandboxes. */
  namespace: string;
  createdAt: Date;
  expiresAt: Date;
  metadata: Record<string, string>;
  /** Non-secret environment of the template, baked in at creation. */
  env: Record<string, string>;
  /** Ports inside the sandbox to reach from the user's machine. */
  ports?: number[];
  /**
   * The server's admission of this sandbox (its quota check, run alongside the create): the backend starts
   * nothing before it resolves, and when it rejects leaves nothing behind and rejects with its error.
   */
  admission?: Promise<unknown>;
  /**
   * Made for the warm pool: idle until claimed, and then its first run is the one an agent waits for. A backend
   * may prepare that run ahead (Docker: the run agent forks the run's supervisor before it is asked for).
   */
  warm?: boolean;
}

export interface SandboxInfo {
  id: string;
  name: string;
  template: string;
  language: string;
  state: SandboxState;
  createdAt: Date;
  /**
   * End of life as the backend knows it (Docker: the creation label, or the latest extension any server of the
   * namespace wrote); the durable store may hold a later one. An invalid Date when it is missing or malformed.
   */
  expiresAt: Date;
  startedAt?: Date;
  metadata: Record<string, string>;
  cpus: number;
  memoryMb: number;
  network: NetworkMode;
}

export interface RunSpec {
  /** Program and arguments, run without a shell. */
  argv: string[];
  user: RunUser;
  env: Record<string, string>;
  cwd: string;
  /** Bytes for its stdin, then end of input: in memory, or streamed from disk (an upload). */
  stdin?: FileBody;
  /**
   * onOutput's chunks may be views into the connection's own buffers, valid only during the call: set by a caller
   * that copies what it keeps (a download writing to disk), so that a backend need not copy every byte first.
   */
  transientOutput?: boolean;
  timeoutMs: number;
  /**
   * The run's ID in the sandbox, which all its processes carry (RUN_ID_VAR); a fresh one when not given. Given for
   * background executions, and recorded, so that another server can end the run (killRun).
   */
  runId?: string;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

export interface RunOutcome {
  /** null when the backend could not tell (the run was killed before reporting). */
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
}

export interface FileOptions {
  /** Octal permission string such as "644". */
  mode: string;
  user: RunUser;
}

/** Bytes with a known length that are read once, in order, as they are sent (an upload spilled to disk). */
export interface StreamedBytes {
  readonly size: number;
  /** The bytes in order; a chunk may be read into again once the next is asked for: use or copy it before. */
  chunks(): Iterable<Buffer>;
}

/** A file's content to write: in memory, or streamed. */
export type FileBody = Buffer | StreamedBytes;

/** Takes a file's bytes in order as they are read. */
export interface ByteSink {
  write(chunk: Buffer): void;
}

export interface ReadOptions {
  user: RunUser;
  /** Largest file accepted (default 4 MiB). */
  maxBytes?: number;
  /** The size the file is expected to have (a stat's): a backend may gather its bytes in one buffer of that size. */
  sizeHint?: number;
}

export interface WrittenFile {
  path: string;
  sizeBytes: number;
  /** `sha256:<hex>` of the bytes as they landed in the sandbox. */
  checksum: string;
}

export interface ResourceUsage {
  /** 100 per fully used core, as docker stats reports it. */
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  /** false when the backend has not measured CPU and memory yet (E2B samples every 5 s): they read 0 then. */
  sampled?: boolean;
  pids: number;
  network: { rxBytes: number; txBytes: number };
}
