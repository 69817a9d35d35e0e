import { z } from 'zod';
import { LANGUAGES } from '../sandbox/templates.js';
import type { SandboxSummary } from '../sandbox/summary.js';
import type { ExecutionState } from '../sandbox/shapes.js';

// Any string: the service answers SANDBOX_NOT_FOUND to anything but an ID it made (sbx-...), before a backend sees it.
export const sandboxId = z.string().describe('Sandbox ID.');

const ENV_NAME = /^[A-Za-z_]\w{0,127}$/;
// Names are checked by refine, not regex, to keep the pattern out of tools/list: agents use ordinary names.
export const envVars = z
  .record(
    z
      .string()
      .refine((k) => ENV_NAME.test(k), 'variable names are letters, digits and underscores, not starting with a digit')
      .refine((k) => k !== 'SANDBOX_RUN_ID', 'SANDBOX_RUN_ID is reserved'),
    z
      .string()
      .max(32 * 1024)
      .refine((v) => !v.includes('\0'), 'values cannot contain NUL bytes'),
  )
  .refine((r) => Object.keys(r).length <= 100, 'at most 100 variables');

export const packages = z
  .array(z.string().min(1).max(214))
  .max(100)
  .describe('Template\'s manager or a prefix: "pandas==2.2.2", "npm:lodash@4", "apt:curl".');

export const language = z.enum(LANGUAGES);
/** A sandbox's lifetime in seconds, capped at the configured longest (SANDBOX_MAX_TIMEOUT), stated in the schema. */
export const lifetimeSeconds = (maxSeconds: number) => z.number().int().min(10).max(maxSeconds).optional();
export const isoDate = z.string().describe('ISO-8601 timestamp');
export const sandboxState = z.enum(['running', 'stopped']);

export const metadata = z
  .record(z.string().max(128), z.string().max(1024))
  .refine((r) => Object.keys(r).length <= 32, 'at most 32 entries');

/** How a sandbox appears in list results. */
export const sandboxSummary = z.object({
  sandbox_id: z.string(),
  name: z.string(),
  status: sandboxState,
  template: z.string(),
  provider: z.string(),
  created_at: isoDate,
  expires_at: isoDate,
  last_activity: isoDate,
  cpus: z.number(),
  memory_mb: z.number(),
  network: z.enum(['bridge', 'none']),
  metadata: z.record(z.string(), z.string()),
});

export const summaryOf = (s: SandboxSummary, provider: string): z.input<typeof sandboxSummary> => ({
  sandbox_id: s.id,
  name: s.name,
  status: s.state,
  template: s.template,
  provider,
  created_at: s.createdAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
  last_activity: s.lastActivity.toISOString(),
  cpus: s.cpus,
  memory_mb: s.memoryMb,
  network: s.network,
  metadata: s.metadata,
});

/** A file handed back with an execution's result. */
export const returnedFile = z.object({
  path: z.string().describe('Absolute path inside the sandbox.'),
  size_bytes: z.number().int(),
  mime_type: z.string(),
  checksum: z.string().optional().describe('sha256:<hex> of the bytes returned.'),
  included: z.boolean().describe('Whether its content is in this result (an image block or an embedded resource).'),
  note: z.string().optional().describe('Why its content is not included.'),
});

/** Ports to reach from the user's machine. */
export const ports = z
  .array(z.number().int().min(1).max(65535))
  .max(20)
  .describe('Ports to expose (listen on 0.0.0.0); URLs come back in urls.');

export const urls = z
  .record(z.string(), z.string())
  .describe('URL of each port, by port number: {"8000": "http://127.0.0.1:49153"}.');

/** Where an execution stands (sandbox_logs and sandbox_stop with execution_id). */
export const executionState = z.object({
  execution_id: z.string(),
  status: z
    .enum(['running', 'completed', 'failed', 'timeout', 'cancelled'])
    .describe('cancelled: ended early by sandbox_stop, or by the end of the server that ran it.'),
  exit_code: z.number().int().nullable(),
  started_at: isoDate.nullable(),
  ended_at: isoDate.nullable(),
});

export const executionStateOf = (e: ExecutionState): z.input<typeof executionState> => ({
  execution_id: e.executionId,
  status: e.status,
  exit_code: e.exitCode,
  started_at: e.startedAt ?? null,
  ended_at: e.endedAt ?? null,
});
