import { z } from 'zod';
import { LANGUAGES } from '../sandbox/templates.js';
import type { SandboxSummary } from '../sandbox/inspect.js';

export const sandboxId = z.string().min(1).max(200).describe('ID of the sandbox, as returned by sandbox_create or sandbox_list (sbx-...).');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const envVars = z
  .record(
    z.string().regex(ENV_NAME, 'variable names are letters, digits and underscores, not starting with a digit').refine((k) => k !== 'SANDBOX_RUN_ID', 'SANDBOX_RUN_ID is reserved'),
    z.string().max(32 * 1024).refine((v) => !v.includes('\0'), 'values cannot contain NUL bytes'),
  )
  .refine((r) => Object.keys(r).length <= 100, 'at most 100 variables');

export const packages = z
  .array(z.string().min(1).max(214))
  .max(100)
  .describe('Packages to install for real: bare names use the template\'s manager (pip for python, npm for node templates, apt otherwise); prefix with "pip:", "npm:" or "apt:" to choose. Versions as the manager writes them ("pandas==2.2.2", "lodash@4").');

export const language = z.enum(LANGUAGES);
export const isoDate = z.string().describe('ISO-8601 timestamp');
export const sandboxState = z.enum(['running', 'stopped']);

export const metadata = z.record(z.string().max(128), z.string().max(1024)).refine((r) => Object.keys(r).length <= 32, 'at most 32 entries');

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

