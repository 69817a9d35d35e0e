import { z } from 'zod';
import type { Config } from '../config.js';
import { envVars, isoDate, lifetimeSeconds, metadata, packages, ports, sandboxState, urls } from './schemas.js';
import { defineTool, iso } from './tool.js';

/** The input schema states this server's caps and defaults, so a model sees what it may ask for. */
const inputSchemaFor = ({ lifetime, resources, network }: Config) =>
  z.object({
    template: z
      .string()
      .min(1)
      .max(64)
      .default('base')
      .describe('base, python, node, react, nextjs, vanilla, claude-code or minimal.'),
    name: z.string().min(1).max(64).optional().describe('Display name.'),
    timeout: lifetimeSeconds(lifetime.maxSeconds).describe("Lifetime in seconds (default: template's)."),
    env_vars: envVars.optional().describe('For every run; never echoed or logged.'),
    install_packages: packages.optional(),
    startup_script: z
      .string()
      .max(100 * 1024)
      .optional()
      .describe('Run once after installs; if it fails, the sandbox is removed.'),
    metadata: metadata.optional().describe('Your key/values.'),
    cpus: z.number().min(0.1).max(resources.maxCpus).optional().describe("CPU cores (default: template's)."),
    memory_mb: z
      .number()
      .int()
      .min(64)
      .max(resources.maxMemoryMb)
      .optional()
      .describe("Memory limit, no swap (default: template's)."),
    network: z.enum(['bridge', 'none']).default(network).describe('none: no network.'),
    ports: ports.optional(),
  });

const outputSchema = z.object({
  sandbox_id: z.string(),
  name: z.string(),
  template: z.string(),
  provider: z.string(),
  status: sandboxState,
  env_vars_configured: z.number().int().describe('How many environment variables were set.'),
  env_var_names: z.array(z.string()).describe('Names of the variables set (values are never returned).'),
  packages_installed: z.number().int().describe('How many packages were installed.'),
  packages: z.array(z.string()).describe('The packages installed, as given.'),
  startup_script_configured: z.boolean(),
  timeout: z.number().int().describe('Lifetime in seconds.'),
  expires_at: isoDate,
  metadata: z.record(z.string(), z.string()),
  created_at: isoDate,
  cpus: z.number(),
  memory_mb: z.number(),
  network: z.enum(['bridge', 'none']),
  urls: urls.optional(),
});

export const sandboxCreate = (config: Config) =>
  defineTool({
    name: 'sandbox_create',
    title: 'Create sandbox',
    description:
      'Create an isolated sandbox (Docker container or E2B microVM); code runs as an unprivileged user in /home/user.',
    inputSchema: inputSchemaFor(config),
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    async handler(args, { sandboxes }, call) {
      const r = await sandboxes.create(
        {
          template: args.template,
          name: args.name,
          timeout: args.timeout,
          envVars: args.env_vars,
          installPackages: args.install_packages,
          startupScript: args.startup_script,
          metadata: args.metadata,
          cpus: args.cpus,
          memoryMb: args.memory_mb,
          network: args.network,
          ports: args.ports,
        },
        call.progress,
      );
      const s = r.sandbox;
      return {
        structured: {
          sandbox_id: s.id,
          name: s.name,
          template: s.template,
          provider: sandboxes.providerName,
          status: s.state,
          env_vars_configured: r.envVarNames.length,
          env_var_names: r.envVarNames,
          packages_installed: r.packagesInstalled.length,
          packages: r.packagesInstalled,
          startup_script_configured: r.startupScriptConfigured,
          timeout: r.timeoutSeconds,
          expires_at: iso(s.expiresAt),
          metadata: s.metadata,
          created_at: iso(s.createdAt),
          cpus: s.cpus,
          memory_mb: s.memoryMb,
          network: s.network,
          ...(args.ports?.length ? { urls: r.urls } : {}),
        },
        text:
          `Created sandbox ${s.id} (${s.template}, ${sandboxes.providerName}); it expires at ${iso(s.expiresAt)}.` +
          Object.entries(r.urls)
            .map(([port, url]) => `\nport ${port}: ${url}`)
            .join(''),
      };
    },
  });
