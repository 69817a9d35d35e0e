import { invalidArgument } from '../errors.js';
import type { SandboxState } from '../providers/provider.js';
import { newRecord, seconds, type SandboxContext } from './context.js';
import { planInstalls } from './packages.js';
import { checkPorts } from './create.js';
import { SetupRunner, type StepResult } from './setup-steps.js';
import { effectiveExpiry } from './expiry.js';
import { checkEnvTotals } from './env-limits.js';

export interface ConfigureRequest {
  sandboxId: string;
  envVars?: Record<string, string>;
  installPackages?: string[];
  runCommands?: string[];
  /** Seconds from now that the sandbox should live. */
  timeout?: number;
  /** Ports to reach from the user's machine, added to those asked before. */
  ports?: number[];
  /** Kill every process and start the sandbox again, keeping files and variables (before anything else). */
  restart?: boolean;
}

export interface ConfigureResult {
  envVarNames: string[];
  packagesInstalled: string[];
  commandsExecuted: number;
  configurationTimeS: number;
  state: SandboxState;
  started: boolean;
  expiresAt: Date;
  steps: StepResult[];
  restarted: boolean;
  /** URL of every port asked for so far, by port. */
  urls: Record<string, string>;
}

/**
 * Adds variables, installs packages, runs commands and extends the lifetime of a sandbox, in that order.
 * A stopped sandbox is started first (this is how a stopped sandbox comes back).
 */
export async function configureSandbox(ctx: SandboxContext, req: ConfigureRequest): Promise<ConfigureResult> {
  const began = performance.now();
  const info = await ctx.provider.get(req.sandboxId);
  const template = ctx.templates.find(info.template);
  const installs = planInstalls(req.installPackages ?? [], template.packageManager);
  const { maxSeconds } = ctx.config.lifetime;
  if (req.timeout !== undefined && req.timeout > maxSeconds) {
    throw invalidArgument(
      `timeout ${req.timeout}s is above the longest lifetime allowed, ${maxSeconds}s.`,
      `Ask for at most ${maxSeconds}.`,
    );
  }

  const newPorts = checkPorts(req.ports, info.network);

  const id = req.sandboxId;
  let started = false;
  let restarted = false;
  if (info.state !== 'running') {
    await ctx.provider.start(id);
    started = true;
    await ctx.history.note(id, 'sandbox started again by sandbox_configure');
  }
  // After a start too: a backend whose stop keeps memory (E2B's pause) brings the old processes back with it.
  if (req.restart) {
    await ctx.provider.restart(id);
    restarted = true;
    await ctx.history.note(
      id,
      'sandbox restarted by sandbox_configure: every process killed; files and variables kept',
    );
  }

  const envVarNames = Object.keys(req.envVars ?? {});
  if (envVarNames.length) checkEnvTotals({ ...(await ctx.env.get(id)), ...req.envVars });
  const env = envVarNames.length ? await ctx.env.merge(id, req.envVars!) : await ctx.env.get(id);
  if (envVarNames.length) {
    await ctx.history.note(id, `environment variables set: ${envVarNames.join(', ')}`, 'debug');
  }

  const setup = new SetupRunner(ctx, id, env);
  for (const step of installs) await setup.install(step);
  for (const command of req.runCommands ?? []) await setup.script('command', command);

  if (!(await ctx.records.get(id))) {
    // Made by a server that kept no record (or it was lost): start one from what the backend knows.
    await ctx.records.put(
      newRecord(ctx, {
        id,
        name: info.name,
        metadata: info.metadata,
        createdAt: info.createdAt.toISOString(),
        expiresAt: (
          effectiveExpiry(info, undefined) ?? new Date(Date.now() + ctx.config.lifetime.defaultSeconds * 1000)
        ).toISOString(),
      }),
    );
  }
  const record = await ctx.records.update(id, (r) => ({
    ...r,
    envNames: [...new Set([...r.envNames, ...envVarNames])],
    packages: [...r.packages, ...installs.flatMap((s) => s.packages)],
    ...(newPorts.length || r.ports ? { ports: [...new Set([...(r.ports ?? []), ...newPorts])] } : {}),
    expiresAt: req.timeout !== undefined ? new Date(Date.now() + req.timeout * 1000).toISOString() : r.expiresAt,
  }));
  // A new timeout is the new end; otherwise the end as every server of the namespace sees it.
  let expiresAt =
    req.timeout !== undefined && record
      ? new Date(record.expiresAt)
      : (effectiveExpiry(info, record) ?? new Date(Date.now() + ctx.config.lifetime.defaultSeconds * 1000));
  // Backends that enforce lifetimes themselves learn the new end, and a resumed sandbox its old one; when the
  // backend caps it (E2B's plans), the end it will honour is what is recorded and reported.
  if (req.timeout !== undefined || started) {
    const honoured = await ctx.provider.setExpiry(id, expiresAt);
    if (honoured.getTime() !== expiresAt.getTime()) {
      expiresAt = honoured;
      await ctx.records.update(id, (r) => ({ ...r, expiresAt: honoured.toISOString() }));
    }
  }
  if (req.timeout !== undefined) {
    await ctx.history.note(id, `lifetime set to end at ${expiresAt.toISOString()}`);
  }

  const ports = record?.ports ?? newPorts;
  const urls = ports.length ? await ctx.provider.portUrls(id, ports) : {};

  return {
    envVarNames,
    restarted,
    urls,
    packagesInstalled: installs.flatMap((s) => s.packages),
    commandsExecuted: (req.runCommands ?? []).length,
    configurationTimeS: seconds(performance.now() - began),
    state: 'running',
    started,
    expiresAt,
    steps: setup.steps,
  };
}
