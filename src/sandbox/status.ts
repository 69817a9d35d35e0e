import { ErrorCode, SandboxError, truncateForMessage } from '../errors.js';
import type { ExecutionState } from './shapes.js';
import type { ResourceUsage, SandboxInfo, SandboxState } from '../providers/provider.js';
import type { HistoryEntry, LogLevel } from '../store/history-store.js';
import { HOME_DIR, uptimeSeconds, type SandboxContext } from './context.js';
import { effectiveExpiry } from './expiry.js';

/** A sandbox as listed: backend facts plus the server's record. */
export interface SandboxSummary extends SandboxInfo {
  expiresAt: Date;
  lastActivity: Date;
  /** A warm-pool sandbox nobody asked for yet. */
  warm: boolean;
}

const createdAtOf = (info: SandboxInfo, record: { createdAt: string } | undefined): Date => {
  const d = record ? new Date(record.createdAt) : info.createdAt;
  return Number.isNaN(d.getTime()) ? info.createdAt : d;
};

async function summarize(ctx: SandboxContext, info: SandboxInfo): Promise<SandboxSummary> {
  const [record, lastActivity] = await Promise.all([ctx.records.get(info.id), ctx.history.lastActivity(info.id)]);
  // The record holds what the agent asked for; labels are the fallback (a warm sandbox's were written early).
  return {
    ...info,
    name: record?.name ?? info.name,
    metadata: record?.metadata ?? info.metadata,
    createdAt: createdAtOf(info, record),
    // Shown as the creation date when no valid one exists (the reaper then sets one and never reaps on it).
    expiresAt: effectiveExpiry(info, record) ?? createdAtOf(info, record),
    lastActivity: lastActivity ?? info.createdAt,
    warm: record?.warm === true,
  };
}

export interface ListRequest {
  status?: 'running' | 'stopped' | 'all';
  template?: string;
  limit?: number;
  sortBy?: 'created_at' | 'name' | 'last_activity';
  order?: 'asc' | 'desc';
}

export interface ListResult {
  sandboxes: SandboxSummary[];
  total: number;
  running: number;
  stopped: number;
}

export async function listSandboxes(ctx: SandboxContext, req: ListRequest): Promise<ListResult> {
  const all = await Promise.all((await ctx.provider.list()).map((info) => summarize(ctx, info)));
  const matching = all.filter(
    (s) =>
      !s.warm &&
      (!req.status || req.status === 'all' || s.state === req.status) &&
      (!req.template || s.template === req.template),
  );
  const key = req.sortBy ?? 'created_at';
  const direction = (req.order ?? 'desc') === 'asc' ? 1 : -1;
  const value = (s: SandboxSummary): string | number =>
    key === 'name' ? s.name : key === 'last_activity' ? s.lastActivity.getTime() : s.createdAt.getTime();
  matching.sort((a, b) => (value(a) < value(b) ? -direction : value(a) > value(b) ? direction : 0));
  return {
    sandboxes: matching.slice(0, req.limit ?? 50),
    total: matching.length,
    running: matching.filter((s) => s.state === 'running').length,
    stopped: matching.filter((s) => s.state === 'stopped').length,
  };
}

export interface ExecutionStats {
  total: number;
  successful: number;
  failed: number;
  averageDurationS: number;
}

export interface StatusResult {
  sandbox: SandboxSummary;
  uptimeS: number;
  usage: ResourceUsage | null;
  workingDirectory: string;
  envVarCount: number;
  languageVersions: Record<string, string>;
  executions: ExecutionStats;
  /** URL of each port asked for, while the sandbox runs. */
  urls: Record<string, string>;
}

/** Counts executions from the history's end-of-run entries. */
export function executionStats(history: HistoryEntry[]): ExecutionStats {
  const runs = history.flatMap((e) => (e.run ? [e.run] : []));
  const total = runs.length;
  const duration = runs.reduce((sum, r) => sum + r.duration_ms, 0);
  return {
    total,
    successful: runs.filter((r) => r.status === 'completed').length,
    failed: runs.filter((r) => r.status !== 'completed').length,
    averageDurationS: total ? Math.round(duration / total) / 1000 : 0,
  };
}

const VERSION_PROBE =
  'for c in python3 node bash; do v=$($c --version 2>/dev/null | head -n1) && printf "%s=%s\\n" "$c" "$v"; done; true';

/** Interpreter versions inside the sandbox, asked once and kept in its record. */
async function languageVersions(ctx: SandboxContext, id: string, state: SandboxState): Promise<Record<string, string>> {
  const record = await ctx.records.get(id);
  if (record?.languageVersions) return record.languageVersions;
  if (state !== 'running') return {};
  let out = '';
  await ctx.provider.run(id, {
    argv: ['sh', '-c', VERSION_PROBE],
    user: 'user',
    env: {},
    cwd: '/',
    timeoutMs: 10_000,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') out += chunk.toString('utf8');
    },
  });
  const versions: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0)
      versions[line.slice(0, at) === 'python3' ? 'python' : line.slice(0, at)] = line
        .slice(at + 1)
        .replace(/^(Python |GNU bash, version )/, '')
        .trim();
  }
  await ctx.records.update(id, (r) => ({ ...r, languageVersions: versions }));
  return versions;
}

/** A sandbox that stops while it is being looked at (the disk watchdog, another server) has no live figures. */
const unlessStopped = <T>(promise: Promise<T>, fallback: T): Promise<T> =>
  promise.catch((err: unknown) => {
    if (err instanceof SandboxError && err.code === ErrorCode.SANDBOX_NOT_RUNNING) return fallback;
    throw err;
  });

export async function sandboxStatus(ctx: SandboxContext, id: string): Promise<StatusResult> {
  const info = await ctx.provider.get(id);
  const [summary, usage, history, record, versions] = await Promise.all([
    summarize(ctx, info),
    info.state === 'running' ? unlessStopped(ctx.provider.usage(id), null) : Promise.resolve(null),
    ctx.history.read(id),
    ctx.records.get(id),
    unlessStopped(languageVersions(ctx, id, info.state), {}),
  ]);
  return {
    sandbox: summary,
    uptimeS: uptimeSeconds(info),
    usage,
    workingDirectory: HOME_DIR,
    envVarCount: record?.envNames.length ?? 0,
    languageVersions: versions,
    executions: executionStats(history),
    urls:
      record?.ports?.length && info.state === 'running'
        ? await unlessStopped(ctx.provider.portUrls(id, record.ports), {})
        : {},
  };
}

export interface LogsRequest {
  sandboxId: string;
  lines?: number;
  logLevel?: LogLevel | 'all';
  /** That execution's entries only, with its state. */
  executionId?: string;
}

export interface LogsResult {
  entries: HistoryEntry[];
  total: number;
  oldest?: string;
  execution?: ExecutionState;
}

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The sandbox's history, newest last, at or above a level; it outlives the server process. */
export async function sandboxLogs(ctx: SandboxContext, req: LogsRequest): Promise<LogsResult> {
  await ctx.provider.get(req.sandboxId); // not found is an error, not an empty history
  const history = await ctx.history.read(req.sandboxId);
  const level = req.logLevel ?? 'all';
  let execution: ExecutionState | undefined;
  let scope = history;
  if (req.executionId !== undefined) {
    execution = await ctx.background.state(req.sandboxId, req.executionId, history);
    if (!execution) {
      throw new SandboxError(
        ErrorCode.INVALID_ARGUMENT,
        `Sandbox ${req.sandboxId} has no execution "${truncateForMessage(req.executionId)}" in its history.`,
        'Use the execution_id that sandbox_execute returned for this sandbox.',
      );
    }
    scope = history.filter((e) => e.execution_id === req.executionId);
  }
  const matching = level === 'all' ? scope : scope.filter((e) => SEVERITY[e.level] >= SEVERITY[level]);
  return {
    entries: matching.slice(-(req.lines ?? 100)),
    total: matching.length,
    oldest: history[0]?.ts,
    ...(execution ? { execution } : {}),
  };
}
