import type { SandboxInfo } from '../providers/provider.js';
import type { SandboxRecord } from '../store/sandbox-records.js';

const valid = (d: Date | undefined): d is Date => d !== undefined && !Number.isNaN(d.getTime());

/**
 * When a sandbox's life ends: the later of what the backend says (on Docker the latest extension written by any
 * server of the namespace) and this server's record. The later one, so that no server reaps a sandbox another has
 * just extended. Undefined when neither is a valid date: such a sandbox is never reaped on a guess.
 */
export function effectiveExpiry(info: SandboxInfo, record: SandboxRecord | undefined): Date | undefined {
  const fromRecord = record ? new Date(record.expiresAt) : undefined;
  const candidates = [info.expiresAt, fromRecord].filter(valid);
  if (candidates.length === 0) return undefined;
  return new Date(Math.max(...candidates.map((d) => d.getTime())));
}
