import type { NetworkMode } from '../config.js';
import { ErrorCode, SandboxError, invalidArgument } from '../errors.js';
import { newSandboxId } from '../ids.js';
import type { SandboxInfo } from '../providers/provider.js';
import type { SandboxContext } from './context.js';
import { planInstalls } from './packages.js';
import { SetupRunner } from './setup-steps.js';
import type { Template } from './templates.js';

export interface CreateRequest {
  template: string;
  name?: string;
  timeout?: number;
  envVars?: Record<string, string>;
  installPackages?: string[];
  startupScript?: string;
  metadata?: Record<string, string>;
  cpus?: number;
  memoryMb?: number;
  network?: NetworkMode;
}

export interface CreateResult {
  sandbox: SandboxInfo;
  envVarNames: string[];
  packagesInstalled: string[];
  startupScriptConfigured: boolean;
  timeoutSeconds: number;
}

async function checkQuota(ctx: SandboxContext): Promise<void> {
  const existing = (await ctx.provider.list()).length;
  const max = ctx.config.limits.maxSandboxes;
  if (existing + ctx.creating.count >= max) {
    throw new SandboxError(
      ErrorCode.QUOTA_EXCEEDED,
      `This server already has ${existing + ctx.creating.count} sandboxes, its limit (SANDBOX_MAX_SANDBOXES=${max}).`,
      'Delete sandboxes you no longer need (sandbox_list, then sandbox_delete), or raise SANDBOX_MAX_SANDBOXES.',
    );
  }
}

function resources(ctx: SandboxContext, template: Template, req: CreateRequest) {
  const { resources: r, lifetime } = ctx.config;
  const cpus = req.cpus ?? Math.min(template.cpus ?? r.defaultCpus, r.maxCpus);
  const memoryMb = req.memoryMb ?? Math.min(template.memoryMb ?? r.defaultMemoryMb, r.maxMemoryMb);
  const timeout = req.timeout ?? Math.min(template.timeout ?? lifetime.defaultSeconds, lifetime.maxSeconds);
  if (cpus > r.maxCpus) throw invalidArgument(`cpus ${cpus} is above this server's limit of ${r.maxCpus}.`, `Ask for at most ${r.maxCpus}.`);
  if (memoryMb > r.maxMemoryMb) {
    throw invalidArgument(`memory_mb ${memoryMb} is above this server's limit of ${r.maxMemoryMb}.`, `Ask for at most ${r.maxMemoryMb}.`);
  }
  if (timeout > lifetime.maxSeconds) {
    throw invalidArgument(`timeout ${timeout}s is above the longest lifetime allowed, ${lifetime.maxSeconds}s.`, `Ask for at most ${lifetime.maxSeconds}.`);
  }
  return { cpus, memoryMb, timeout };
}

/** Creates a sandbox from a template, sets its variables, installs, runs the startup script; all or nothing. */
export async function createSandbox(
  ctx: SandboxContext,
  req: CreateRequest,
  onProgress?: (message: string) => void,
): Promise<CreateResult> {
  const template = ctx.templates.get(req.template);
  const installs = planInstalls([...template.packages, ...(req.installPackages ?? [])], template.packageManager);
  const { cpus, memoryMb, timeout } = resources(ctx, template, req);
  await checkQuota(ctx);

  const id = newSandboxId();
  const createdAt = new Date();
  const expiresAt = new Date(createdAt.getTime() + timeout * 1000);
  const log = ctx.log.child({ sandboxId: id });
  ctx.creating.count++;
  let made = false;
  try {
    const sandbox = await ctx.provider.create(
      {
        id,
        name: req.name ?? id,
        template: template.name,
        language: template.language,
        image: template.image,
        dockerfile: template.dockerfile,
        e2bTemplate: template.e2bTemplate,
        cpus,
        memoryMb,
        network: req.network ?? ctx.config.network,
        createdAt,
        expiresAt,
        metadata: req.metadata ?? {},
        env: template.env,
      },
      onProgress,
    );
    made = true;
    const envVarNames = Object.keys(req.envVars ?? {});
    const packagesInstalled = installs.flatMap((s) => s.packages);
    await ctx.records.put({
      id,
      provider: ctx.provider.name,
      createdAt: createdAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      envNames: envVarNames,
      packages: packagesInstalled,
      startupScript: Boolean(req.startupScript),
    });
    await ctx.history.append(id, [
      {
        ts: createdAt.toISOString(),
        level: 'info',
        source: 'system',
        message: `sandbox created from template ${template.name} (${cpus} cpus, ${memoryMb} MB, network ${req.network ?? ctx.config.network}, expires ${expiresAt.toISOString()})`,
      },
    ]);

    ctx.env.seed(id);
    const env = envVarNames.length ? await ctx.env.merge(id, req.envVars!) : {};
    if (envVarNames.length) {
      await ctx.history.append(id, [
        { ts: new Date().toISOString(), level: 'debug', source: 'system', message: `environment variables set: ${envVarNames.join(', ')}` },
      ]);
    }
    const setup = new SetupRunner(ctx, id, env);
    for (const step of installs) {
      onProgress?.(`installing ${step.packages.join(' ')} with ${step.manager}`);
      await setup.install(step);
    }
    if (req.startupScript) {
      onProgress?.('running the startup script');
      await setup.script('startup_script', req.startupScript);
    }
    log.info({ template: template.name }, 'sandbox created');
    return { sandbox, envVarNames, packagesInstalled, startupScriptConfigured: Boolean(req.startupScript), timeoutSeconds: timeout };
  } catch (err) {
    if (made) {
      // A sandbox whose setup failed is not left behind.
      await ctx.provider.remove(id).catch((e) => log.warn({ err: e }, 'could not remove a sandbox whose setup failed'));
      await ctx.records.remove(id).catch(() => undefined);
      ctx.env.forget(id);
    }
    throw err;
  } finally {
    ctx.creating.count--;
  }
}
