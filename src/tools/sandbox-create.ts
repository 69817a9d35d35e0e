import { z } from 'zod';
import { envVars, isoDate, metadata, packages, ports, sandboxState, urls } from './schemas.js';
import { defineTool, iso } from './tool.js';

const inputSchema = z.object({
  template: z.string().min(1).max(64).default('base').describe('Template name: base, python, node, react, nextjs, vanilla, claude-code, minimal (aliases: general, nodejs, python3). Default "base".'),
  name: z.string().min(1).max(64).optional().describe('A name to recognise the sandbox by; defaults to its ID.'),
  timeout: z.number().int().min(10).optional().describe('Lifetime in seconds; after it the sandbox is stopped and removed. Default from the template (1800), capped by the server (SANDBOX_MAX_TIMEOUT).'),
  env_vars: envVars.optional().describe('Environment variables for every later execution. Values are never echoed back or logged.'),
  install_packages: packages.optional(),
  startup_script: z.string().max(100 * 1024).optional().describe('Shell script run once (as the sandbox user, in /home/user) after the packages are installed; if it fails, the sandbox is removed and the error carries its output.'),
  metadata: metadata.optional().describe('Your own string key/values, returned by sandbox_list.'),
  cpus: z.number().min(0.1).max(256).optional().describe('CPU cores (fractions allowed). Default from the template.'),
  memory_mb: z.number().int().min(64).optional().describe('Memory limit in MB (no swap beyond it). Default from the template.'),
  network: z.enum(['bridge', 'none']).optional().describe('"bridge": outbound network (the default unless the server sets SANDBOX_NETWORK); "none": no network at all.'),
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

export const sandboxCreate = defineTool({
  name: 'sandbox_create',
  title: 'Create sandbox',
  description:
    'Create an isolated sandbox (a container on the local Docker engine, or an E2B microVM) from a template, optionally with environment variables, packages and a startup script. Returns its sandbox_id for the other tools. Code in it runs as an unprivileged user in /home/user.',
  inputSchema,
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
        Object.entries(r.urls).map(([port, url]) => `\nport ${port}: ${url}`).join(''),
    };
  },
});
