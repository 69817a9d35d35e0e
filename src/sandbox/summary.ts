import type { SandboxInfo } from '../providers/provider.js';
import type { SandboxContext } from './context.js';
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

/** What sandbox_list and sandbox_status show of one sandbox. */
export async function summarize(ctx: SandboxContext, info: SandboxInfo): Promise<SandboxSummary> {
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
