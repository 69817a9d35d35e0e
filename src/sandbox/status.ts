import { ErrorCode, SandboxError } from '../errors.js';
import type { ResourceUsage, SandboxState } from '../providers/provider.js';
import type { HistoryEntry } from '../store/history-store.js';
import { HOME_DIR, uptimeSeconds, type SandboxContext } from './context.js';
import { summarize, type SandboxSummary } from './summary.js';

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
