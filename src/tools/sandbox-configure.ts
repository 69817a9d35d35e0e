import { z } from 'zod';
import type { Config } from '../config.js';
import { envVars, isoDate, lifetimeSeconds, packages, ports, sandboxId, sandboxState, urls } from './schemas.js';
import { defineTool, iso } from './tool.js';

/** The input schema states this server's caps, so a model sees what it may ask for. */
const inputSchemaFor = ({ lifetime }: Config) =>
  z.object({
    sandbox_id: sandboxId,
    env_vars: envVars.optional().describe('For later runs; never echoed or logged.'),
    install_packages: packages.optional(),
    run_commands: z
      .array(
        z
          .string()
          .min(1)
          .max(100 * 1024),
      )
      .max(50)
      .optional()
      .describe('Shell commands, in order; stops at the first failure.'),
    timeout: lifetimeSeconds(lifetime.maxSeconds).describe('New lifetime in seconds, from now.'),
    ports: ports.optional(),
    restart: z.boolean().default(false).describe('First kill every process and start again; files are kept.'),
  });

const outputSchema = z.object({
  sandbox_id: z.string(),
  env_vars_updated: z.number().int().describe('How many environment variables were set.'),
  env_var_names: z.array(z.string()).describe('Names of the variables set (values are never returned).'),
  packages_installed: z.number().int().describe('How many packages were installed.'),
  packages: z.array(z.string()).describe('The packages installed, as given.'),
  commands_executed: z.number().int().describe('How many run_commands ran.'),
  configuration_time: z.number().describe('Seconds.'),
  status: sandboxState,
  started: z.boolean().describe('true when the sandbox was stopped and this call started it again.'),
  restarted: z.boolean().describe('true when restart was asked: no process of before is left.'),
  urls: urls.optional(),
  expires_at: isoDate,
  steps: z.array(
    z.object({
      type: z.enum(['install', 'startup_script', 'command']),
      description: z.string(),
      exit_code: z.number().int().nullable(),
      output_tail: z.string(),
      duration: z.number().describe('Seconds.'),
    }),
  ),
});

export const sandboxConfigure = (config: Config) =>
  defineTool({
    name: 'sandbox_configure',
    title: 'Configure sandbox',
    description:
      'Change a sandbox (variables, packages, commands, lifetime, ports, restart); a stopped one is started first.',
    inputSchema: inputSchemaFor(config),
    outputSchema,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    async handler(args, { sandboxes }) {
      const r = await sandboxes.configure({
        sandboxId: args.sandbox_id,
        envVars: args.env_vars,
        installPackages: args.install_packages,
        runCommands: args.run_commands,
        timeout: args.timeout,
        ports: args.ports,
        restart: args.restart,
      });
      return {
        structured: {
          sandbox_id: args.sandbox_id,
          env_vars_updated: r.envVarNames.length,
          env_var_names: r.envVarNames,
          packages_installed: r.packagesInstalled.length,
          packages: r.packagesInstalled,
          commands_executed: r.commandsExecuted,
          configuration_time: r.configurationTimeS,
          status: r.state,
          started: r.started,
          restarted: r.restarted,
          ...(Object.keys(r.urls).length ? { urls: r.urls } : {}),
          expires_at: iso(r.expiresAt),
          steps: r.steps.map((s) => ({
            type: s.kind,
            description: s.description,
            exit_code: s.exitCode,
            output_tail: s.outputTail,
            duration: s.durationS,
          })),
        },
        text:
          `Configured ${args.sandbox_id}${r.restarted ? ' (restarted: every process killed)' : r.started ? ' (started it again)' : ''}: ${r.envVarNames.length} variables, ` +
          `${r.packagesInstalled.length} packages, ${r.commandsExecuted} commands in ${r.configurationTimeS}s; expires ${iso(r.expiresAt)}.` +
          Object.entries(r.urls)
            .map(([port, url]) => `\nport ${port}: ${url}`)
            .join(''),
      };
    },
  });
