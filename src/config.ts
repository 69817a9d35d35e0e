import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseAllowances, type NetworkAllowance } from './network-allowances.js';
import { PROVIDER_NAMES, type NetworkMode, type ProviderName } from './provider-names.js';

/** Integer from an environment string, with a range; empty strings count as unset. */
const int = (def: number, min: number, max: number) =>
  z.preprocess((v) => (v === undefined || v === '' ? def : v), z.coerce.number().int().min(min).max(max));
const num = (def: number, min: number, max: number) =>
  z.preprocess((v) => (v === undefined || v === '' ? def : v), z.coerce.number().min(min).max(max));
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const defaultStateDir = (): string =>
  path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'sandbox-mcp');

/** One namespace per OS user: two servers of one user share their sandboxes, other users' servers see none. */
export function defaultNamespace(): string {
  const { uid, username } = os.userInfo();
  return uid >= 0
    ? `user-${uid}`
    : `user-${username
        .toLowerCase()
        .replace(/[^a-z0-9_.-]/g, '-')
        .slice(0, 50)}`;
}

const EnvSchema = z.object({
  SANDBOX_PROVIDER: z.preprocess((v) => (v === '' ? undefined : v), z.enum(PROVIDER_NAMES).optional()),
  E2B_API_KEY: optionalString,
  E2B_DOMAIN: optionalString,
  DOCKER_HOST: optionalString,
  SANDBOX_DOCKER_RUNTIME: optionalString,

  SANDBOX_DEFAULT_TIMEOUT: int(1800, 10, 7 * 24 * 3600),
  SANDBOX_MAX_TIMEOUT: int(24 * 3600, 10, 30 * 24 * 3600),
  SANDBOX_EXEC_TIMEOUT: int(60, 1, 24 * 3600),
  SANDBOX_MAX_EXEC_TIMEOUT: int(3600, 1, 24 * 3600),
  SANDBOX_SETUP_TIMEOUT: int(600, 10, 24 * 3600),
  SANDBOX_OUTPUT_LIMIT: int(64 * 1024, 1024, 16 * 1024 * 1024),
  // The code travels as one argv string, which Linux caps at 128 KiB.
  SANDBOX_MAX_CODE_SIZE: int(100 * 1024, 1, 120 * 1024),
  SANDBOX_MAX_UPLOAD_SIZE: int(10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
  SANDBOX_MAX_DOWNLOAD_SIZE: int(5 * 1024 * 1024, 1, 256 * 1024 * 1024),
  SANDBOX_RETURN_FILES_LIMIT: int(1024 * 1024, 0, 64 * 1024 * 1024),
  SANDBOX_BACKGROUND_TIMEOUT: int(3600, 1, 30 * 24 * 3600),
  SANDBOX_PORT_HOST: z.preprocess(
    (v) => (v === '' || v === undefined ? '127.0.0.1' : v),
    z.string().regex(/^[A-Za-z0-9.:-]+$/, 'an IP address or host name'),
  ),
  SANDBOX_DEFAULT_MEMORY_MB: int(1024, 64, 1024 * 1024),
  SANDBOX_MAX_MEMORY_MB: int(8192, 64, 1024 * 1024),
  SANDBOX_DEFAULT_CPUS: num(1, 0.1, 256),
  SANDBOX_MAX_CPUS: num(4, 0.1, 256),
  SANDBOX_PIDS_LIMIT: int(512, 16, 1_000_000),
  SANDBOX_DISK_LIMIT_MB: int(2048, 0, 16 * 1024 * 1024),
  SANDBOX_DISK_CHECK_INTERVAL: int(30, 1, 3600),
  SANDBOX_MAX_SANDBOXES: int(20, 1, 10_000),
  SANDBOX_RATE_LIMIT: int(300, 1, 1_000_000),
  SANDBOX_NETWORK: z.preprocess((v) => (v === '' || v === undefined ? 'bridge' : v), z.enum(['bridge', 'none'])),
  SANDBOX_NETWORK_ALLOW: z.preprocess(
    (v) => (v === undefined ? '' : v),
    z.string().superRefine((v, ctx) => {
      try {
        parseAllowances(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  ),
  SANDBOX_NETWORK_FILTER: z.preprocess((v) => (v === '' || v === undefined ? 'on' : v), z.enum(['on', 'off'])),
  SANDBOX_NETWORK_SLOTS: int(1, 0, 16),
  SANDBOX_REAP_INTERVAL: int(30, 1, 3600),
  SANDBOX_POOL_SIZE: int(0, 0, 100),
  SANDBOX_ON_EXIT: z.preprocess((v) => (v === '' || v === undefined ? 'keep' : v), z.enum(['keep', 'stop', 'delete'])),
  SANDBOX_POOL_TEMPLATES: z.preprocess(
    (v) => (v === undefined || v === '' ? 'base,python' : v),
    z.string().regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, 'a comma-separated list of template names'),
  ),

  SANDBOX_LOG_LEVEL: z.preprocess(
    (v) => (v === '' || v === undefined ? 'info' : v),
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  ),
  SANDBOX_LOG_FILE: optionalString,
  SANDBOX_STATE_DIR: optionalString,
  SANDBOX_HISTORY_MAX_BYTES: int(4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
  SANDBOX_HISTORY_MAX_LINES: int(10_000, 100, 10_000_000),
  SANDBOX_NAMESPACE: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, ".", "_" and "-", at most 63')
      .optional(),
  ),
  SANDBOX_TEMPLATES_DIR: optionalString,
  SANDBOX_IMAGE: optionalString,
});

/** What happens to the sandboxes a server created when its client goes away or it is told to stop. */
export type ExitPolicy = 'keep' | 'stop' | 'delete';

export interface Config {
  provider: ProviderName;
  e2b: { apiKey?: string; domain?: string };
  /** `slots`: network namespaces a Docker server keeps ready for `bridge` sandboxes (network-slots.ts); 0: none. */
  docker: { host?: string; runtime?: string; slots: number };
  lifetime: { defaultSeconds: number; maxSeconds: number };
  exec: {
    defaultTimeoutSeconds: number;
    maxTimeoutSeconds: number;
    setupTimeoutSeconds: number;
    /** Default time limit of a background execution; its cap is the sandbox lifetime cap. */
    backgroundTimeoutSeconds: number;
  };
  /** Files handed back: one download's limit, and the bytes embedded in one execution's result. */
  files: { downloadBytes: number; returnBytes: number };
  /** Host (and bind address on Docker) of the URLs of sandbox ports. */
  portHost: string;
  limits: {
    outputBytes: number;
    codeBytes: number;
    uploadBytes: number;
    maxSandboxes: number;
    callsPerMinute: number;
    pids: number;
    /** Disk quota per sandbox in MB (Docker: writable layer, by watchdog); 0: none. */
    diskMb: number;
    diskCheckIntervalSeconds: number;
  };
  resources: { defaultMemoryMb: number; maxMemoryMb: number; defaultCpus: number; maxCpus: number };
  network: NetworkMode;
  /** Docker `bridge` sandboxes: what they may reach on the engine host and in private ranges (nothing by default). */
  networkPolicy: { allow: NetworkAllowance[]; filter: boolean };
  reapIntervalSeconds: number;
  onExit: ExitPolicy;
  /** Warm sandboxes kept ready for each of `templates` (templates may set their own pool_size). */
  pool: { size: number; templates: string[] };
  log: { level: string; file?: string };
  stateDir: string;
  /** Per-sandbox history bounds: past either, the oldest entries are dropped. */
  history: { maxBytes: number; maxLines: number };
  /** Whose sandboxes this server sees, counts and reaps (default: one per OS user). */
  namespace: string;
  templatesDir?: string;
  /** Image for every template (offline machines); per-template overrides come from SANDBOX_IMAGE_<NAME>. */
  imageOverride?: string;
  templateImages: Record<string, string>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads and checks the whole configuration once; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const value = env[name];
      const shown = value === undefined || /KEY|TOKEN|SECRET/.test(name) ? '' : ` (got "${value}")`;
      return `${name}${shown}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;

  const provider: ProviderName = e.SANDBOX_PROVIDER ?? (e.E2B_API_KEY ? 'e2b' : 'docker');
  if (provider === 'e2b' && !e.E2B_API_KEY) {
    throw new ConfigError(
      'SANDBOX_PROVIDER=e2b needs E2B_API_KEY: get a key at https://e2b.dev/dashboard and set E2B_API_KEY, or set SANDBOX_PROVIDER=docker.',
    );
  }
  if (e.SANDBOX_DEFAULT_TIMEOUT > e.SANDBOX_MAX_TIMEOUT) {
    throw new ConfigError('SANDBOX_DEFAULT_TIMEOUT must not exceed SANDBOX_MAX_TIMEOUT.');
  }
  if (e.SANDBOX_EXEC_TIMEOUT > e.SANDBOX_MAX_EXEC_TIMEOUT) {
    throw new ConfigError('SANDBOX_EXEC_TIMEOUT must not exceed SANDBOX_MAX_EXEC_TIMEOUT.');
  }
  // Only a value the operator set can be wrong: the default follows a lower SANDBOX_MAX_TIMEOUT.
  const backgroundSet = env.SANDBOX_BACKGROUND_TIMEOUT !== undefined && env.SANDBOX_BACKGROUND_TIMEOUT !== '';
  if (backgroundSet && e.SANDBOX_BACKGROUND_TIMEOUT > e.SANDBOX_MAX_TIMEOUT) {
    throw new ConfigError('SANDBOX_BACKGROUND_TIMEOUT must not exceed SANDBOX_MAX_TIMEOUT.');
  }
  if (e.SANDBOX_DEFAULT_MEMORY_MB > e.SANDBOX_MAX_MEMORY_MB) {
    throw new ConfigError('SANDBOX_DEFAULT_MEMORY_MB must not exceed SANDBOX_MAX_MEMORY_MB.');
  }
  if (e.SANDBOX_DEFAULT_CPUS > e.SANDBOX_MAX_CPUS) {
    throw new ConfigError('SANDBOX_DEFAULT_CPUS must not exceed SANDBOX_MAX_CPUS.');
  }
  if (e.DOCKER_HOST && !/^(unix|tcp|ssh|npipe|http|https):\/\//.test(e.DOCKER_HOST)) {
    throw new ConfigError(
      `DOCKER_HOST (got "${e.DOCKER_HOST}"): expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host.`,
    );
  }

  const templateImages: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^SANDBOX_IMAGE_([A-Z0-9_]+)$/.exec(key);
    if (m && value) templateImages[m[1]!.toLowerCase().replace(/_/g, '-')] = value;
  }

  return {
    provider,
    e2b: { apiKey: e.E2B_API_KEY, domain: e.E2B_DOMAIN },
    docker: { host: e.DOCKER_HOST, runtime: e.SANDBOX_DOCKER_RUNTIME, slots: e.SANDBOX_NETWORK_SLOTS },
    lifetime: { defaultSeconds: e.SANDBOX_DEFAULT_TIMEOUT, maxSeconds: e.SANDBOX_MAX_TIMEOUT },
    exec: {
      defaultTimeoutSeconds: e.SANDBOX_EXEC_TIMEOUT,
      maxTimeoutSeconds: e.SANDBOX_MAX_EXEC_TIMEOUT,
      setupTimeoutSeconds: e.SANDBOX_SETUP_TIMEOUT,
      backgroundTimeoutSeconds: Math.min(e.SANDBOX_BACKGROUND_TIMEOUT, e.SANDBOX_MAX_TIMEOUT),
    },
    files: { downloadBytes: e.SANDBOX_MAX_DOWNLOAD_SIZE, returnBytes: e.SANDBOX_RETURN_FILES_LIMIT },
    portHost: e.SANDBOX_PORT_HOST,
    limits: {
      outputBytes: e.SANDBOX_OUTPUT_LIMIT,
      codeBytes: e.SANDBOX_MAX_CODE_SIZE,
      uploadBytes: e.SANDBOX_MAX_UPLOAD_SIZE,
      maxSandboxes: e.SANDBOX_MAX_SANDBOXES,
      callsPerMinute: e.SANDBOX_RATE_LIMIT,
      pids: e.SANDBOX_PIDS_LIMIT,
      diskMb: e.SANDBOX_DISK_LIMIT_MB,
      diskCheckIntervalSeconds: e.SANDBOX_DISK_CHECK_INTERVAL,
    },
    resources: {
      defaultMemoryMb: e.SANDBOX_DEFAULT_MEMORY_MB,
      maxMemoryMb: e.SANDBOX_MAX_MEMORY_MB,
      defaultCpus: e.SANDBOX_DEFAULT_CPUS,
      maxCpus: e.SANDBOX_MAX_CPUS,
    },
    network: e.SANDBOX_NETWORK,
    networkPolicy: { allow: parseAllowances(e.SANDBOX_NETWORK_ALLOW), filter: e.SANDBOX_NETWORK_FILTER === 'on' },
    reapIntervalSeconds: e.SANDBOX_REAP_INTERVAL,
    onExit: e.SANDBOX_ON_EXIT,
    pool: { size: e.SANDBOX_POOL_SIZE, templates: e.SANDBOX_POOL_TEMPLATES.split(',') },
    log: { level: e.SANDBOX_LOG_LEVEL, file: e.SANDBOX_LOG_FILE },
    stateDir: e.SANDBOX_STATE_DIR ?? defaultStateDir(),
    namespace: e.SANDBOX_NAMESPACE ?? defaultNamespace(),
    history: { maxBytes: e.SANDBOX_HISTORY_MAX_BYTES, maxLines: e.SANDBOX_HISTORY_MAX_LINES },
    templatesDir: e.SANDBOX_TEMPLATES_DIR,
    imageOverride: e.SANDBOX_IMAGE,
    templateImages,
  };
}
