import { z } from 'zod';
import { isoDate, sandboxId, sandboxState, urls } from './schemas.js';
import { defineTool, iso } from './tool.js';

const inputSchema = z.object({ sandbox_id: sandboxId });

const outputSchema = z.object({
  sandbox: z.object({
    id: z.string(),
    name: z.string(),
    status: sandboxState,
    template: z.string(),
    provider: z.string(),
    uptime: z.number().describe('Seconds since it last started; 0 when stopped.'),
    created_at: isoDate,
    last_activity: isoDate,
    expires_at: isoDate,
    resource_usage: z.object({
      cpu_percent: z.number().describe('100 per fully used core.'),
      memory_used: z.number().describe('Bytes.'),
      memory_limit: z.number().describe('Bytes.'),
      pids: z.number().int(),
      network_io: z.object({ rx_bytes: z.number(), tx_bytes: z.number() }),
      sampled: z
        .boolean()
        .optional()
        .describe(
          'false when CPU and memory have not been measured yet (E2B samples every 5 s): cpu_percent and memory_used then read 0.',
        ),
    }),
    environment: z.object({
      working_directory: z.string(),
      env_vars: z.number().int().describe('How many variables were set through env_vars (values are never shown).'),
      language_versions: z.record(z.string(), z.string()),
    }),
    executions: z.object({
      total: z.number().int(),
      successful: z.number().int(),
      failed: z.number().int(),
      average_duration: z.number().describe('Seconds.'),
    }),
    urls: urls.describe(
      'URL of each port asked for with sandbox_create or sandbox_configure ports, while the sandbox runs.',
    ),
  }),
});

export const sandboxStatus = defineTool({
  name: 'sandbox_status',
  title: 'Sandbox status',
  description: 'One sandbox in detail: state, expiry, resource use, versions, run counts, port URLs.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { sandboxes }) {
    const r = await sandboxes.status(args.sandbox_id);
    const s = r.sandbox;
    const u = r.usage;
    const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
    return {
      structured: {
        sandbox: {
          id: s.id,
          name: s.name,
          status: s.state,
          template: s.template,
          provider: sandboxes.providerName,
          uptime: r.uptimeS,
          created_at: iso(s.createdAt),
          last_activity: iso(s.lastActivity),
          expires_at: iso(s.expiresAt),
          resource_usage: {
            cpu_percent: u?.cpuPercent ?? 0,
            memory_used: u?.memoryUsedBytes ?? 0,
            memory_limit: u?.memoryLimitBytes ?? s.memoryMb * 1024 * 1024,
            pids: u?.pids ?? 0,
            network_io: { rx_bytes: u?.network.rxBytes ?? 0, tx_bytes: u?.network.txBytes ?? 0 },
            ...(u?.sampled === false ? { sampled: false } : {}),
          },
          environment: {
            working_directory: r.workingDirectory,
            env_vars: r.envVarCount,
            language_versions: r.languageVersions,
          },
          executions: {
            total: r.executions.total,
            successful: r.executions.successful,
            failed: r.executions.failed,
            average_duration: r.executions.averageDurationS,
          },
          urls: r.urls,
        },
      },
      text:
        `${s.id} is ${s.state} (${s.template}), up ${r.uptimeS}s, expires ${iso(s.expiresAt)}; ` +
        (u
          ? u.sampled === false
            ? `cpu and memory not sampled yet (limit ${mb(u.memoryLimitBytes)}), ${u.pids} processes; `
            : `cpu ${u.cpuPercent}%, memory ${mb(u.memoryUsedBytes)} of ${mb(u.memoryLimitBytes)}, ${u.pids} processes; `
          : '') +
        `${r.executions.total} executions (${r.executions.failed} failed).` +
        Object.entries(r.urls)
          .map(([port, url]) => `\nport ${port}: ${url}`)
          .join(''),
    };
  },
});
