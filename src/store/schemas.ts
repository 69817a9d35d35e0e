import { z } from 'zod';
import { PROVIDER_NAMES } from '../providers/provider.js';
import { ServerIdentitySchema } from '../util/server-identity.js';

/**
 * What a state file must hold to be used. Files on disk are input like any other (another version of the server, a
 * crash, a hand edit): what does not parse is logged and treated as missing, never trusted.
 */
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 date');

export const SandboxRecordSchema = z.object({
  id: z.string(),
  provider: z.enum(PROVIDER_NAMES),
  namespace: z.string().optional(),
  name: z.string(),
  metadata: z.record(z.string(), z.string()),
  createdAt: isoDate,
  expiresAt: isoDate,
  warm: z.boolean().optional(),
  envNames: z.array(z.string()),
  packages: z.array(z.string()),
  startupScript: z.boolean(),
  languageVersions: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.number().int()).optional(),
});

export const HistoryEntrySchema = z.object({
  ts: isoDate,
  level: z.enum(['error', 'warn', 'info', 'debug']),
  source: z.enum(['system', 'execution', 'stdout', 'stderr']),
  message: z.string(),
  execution_id: z.string().optional(),
  run: z
    .object({
      status: z.enum(['completed', 'failed', 'timeout', 'cancelled']),
      exit_code: z.number().int().nullable(),
      duration_ms: z.number().nonnegative(),
    })
    .optional(),
  background: z
    .object({
      run_id: z.string(),
      owner: ServerIdentitySchema,
      deadline: isoDate,
    })
    .optional(),
  stop_requested: z.boolean().optional(),
});

/** True when A and B are the same type: the stores check that their types and these schemas agree. */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
