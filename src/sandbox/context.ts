// The services every sandbox operation is given (SandboxContext), the interfaces of those that run in the
// background, and small helpers the operations share.
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxInfo, SandboxProvider } from '../providers/provider.js';
import type { HistoryStore } from '../store/history-store.js';
import type { SandboxRecord, SandboxRecords } from '../store/sandbox-records.js';
import type { SandboxEnv } from './sandbox-env.js';
import type { Quota } from './quota.js';
import type { HistoryEntry } from '../store/history-store.js';
import type { ExecutionState, PreparedRun, Resources } from './shapes.js';
import type { Template, TemplateCatalog } from './templates.js';
import type { SandboxFacts } from './facts.js';

/** Ready sandboxes per template (warm-pool.ts), as the operations use them. */
export interface WarmSandboxes {
  /** A ready sandbox of the template with these resources, now the caller's; undefined when none is ready. */
  claim(template: Template, wanted: Resources): Promise<SandboxInfo | undefined>;
  start(): void;
  /** Resolves once the refills under way have finished. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Executions that run on after their call returned (background-runs.ts). */
export interface BackgroundExecutions {
  start(run: PreparedRun, executionId: string): Promise<void>;
  state(sandboxId: string, executionId: string, history?: HistoryEntry[]): Promise<ExecutionState | undefined>;
  /** Ends an execution early and waits until its end is recorded. */
  stop(sandboxId: string, executionId: string): Promise<ExecutionState | undefined>;
  stopAll(waitMs?: number): Promise<void>;
}

/**
 * What the sandbox operations are given: the configuration and services, made once by SandboxService and never
 * replaced. No field is state of its own: what the operations share and change (reservations, remembered facts,
 * background executions, warm sandboxes, env values) is owned by the service that guards it.
 */
export interface SandboxContext {
  readonly config: Config;
  readonly provider: SandboxProvider;
  readonly templates: TemplateCatalog;
  readonly records: SandboxRecords;
  readonly history: HistoryStore;
  readonly env: SandboxEnv;
  readonly log: Logger;
  /** SANDBOX_MAX_SANDBOXES: reservations for creations under way, released through their handles. */
  readonly quota: Quota;
  /** Facts of a sandbox that never change (template, language, limits). */
  readonly facts: SandboxFacts;
  /** Executions running on after their call returned. */
  readonly background: BackgroundExecutions;
  /** Ready sandboxes per template, when a pool size is configured. */
  readonly pool?: WarmSandboxes;
}

export { SANDBOX_HOME as HOME_DIR } from '../providers/shared/base-env.js';

/** How long a sandbox has been up since its last start, in whole seconds (0 when stopped or unknown). */
export const uptimeSeconds = (info: Pick<SandboxInfo, 'startedAt' | 'state'>): number =>
  info.state === 'running' && info.startedAt
    ? Math.max(0, Math.round((Date.now() - info.startedAt.getTime()) / 1000))
    : 0;

/** A record of a sandbox this server keeps: nothing set on it yet but the fields given. */
export const newRecord = (
  ctx: SandboxContext,
  fields: Pick<SandboxRecord, 'id' | 'name' | 'metadata' | 'createdAt' | 'expiresAt'> & Partial<SandboxRecord>,
): SandboxRecord => ({
  provider: ctx.provider.name,
  namespace: ctx.config.namespace,
  envNames: [],
  packages: [],
  startupScript: false,
  ...fields,
});

/** Seconds, rounded to milliseconds. */
export const seconds = (ms: number): number => Math.round(ms) / 1000;
