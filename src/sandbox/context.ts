import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxInfo, SandboxProvider } from '../providers/provider.js';
import type { HistoryStore } from '../store/history-store.js';
import type { SandboxRecords } from '../store/sandbox-records.js';
import type { SandboxEnv } from './sandbox-env.js';
import type { WarmPool } from './warm-pool.js';
import type { Mutex } from '../util/mutex.js';
import type { TemplateCatalog } from './templates.js';
import type { BackgroundRuns } from './background-runs.js';

/** Everything the sandbox operations share. */
export interface SandboxContext {
  config: Config;
  provider: SandboxProvider;
  templates: TemplateCatalog;
  records: SandboxRecords;
  history: HistoryStore;
  env: SandboxEnv;
  log: Logger;
  /** Creations under way in this server, counted against the quota before the backend lists them. */
  creating: { count: number };
  /** Serialises quota checks with their reservations. */
  quotaLock: Mutex;
  /** Facts of a sandbox that never change (template, language, limits), by ID. */
  facts: Map<string, SandboxInfo>;
  /** Executions running on after their call returned. */
  background: BackgroundRuns;
  /** Ready sandboxes per template, when a pool size is configured. */
  pool?: WarmPool;
}

export { SANDBOX_HOME as HOME_DIR } from '../providers/base-env.js';

/** Seconds, rounded to milliseconds. */
export const seconds = (ms: number): number => Math.round(ms) / 1000;

/** A sandbox's unchanging facts (its state field is stale): asked of the backend once, then remembered. */
export async function fixedFacts(ctx: SandboxContext, id: string): Promise<SandboxInfo> {
  const known = ctx.facts.get(id);
  if (known) return known;
  const info = await ctx.provider.get(id);
  ctx.facts.set(id, info);
  return info;
}
