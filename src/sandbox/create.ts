import type { NetworkMode } from '../providers/provider.js';
import { invalidArgument } from '../errors.js';
import { newSandboxId } from '../ids.js';
import type { SandboxInfo, SandboxSpec } from '../providers/provider.js';
import { checkBackendOptions } from './backend-options.js';
import { newRecord, type SandboxContext } from './context.js';
import { checkEnvTotals } from './env-limits.js';
import { planInstalls } from './packages.js';
import { SetupRunner } from './setup-steps.js';
import type { Template } from './templates.js';
import type { Resources } from './shapes.js';
import { deleteSandbox } from './delete.js';

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
  /** Ports inside the sandbox to reach from the user's machine. */
  ports?: number[];
}

export interface CreateResult {
  sandbox: SandboxInfo;
  envVarNames: string[];
  packagesInstalled: string[];
  startupScriptConfigured: boolean;
  timeoutSeconds: number;
  /** URL of each port asked for. */
  urls: Record<string, string>;
}

/** The resources a sandbox gets: the request's, else the template's, else the server's defaults. */

export function resourcesFor(ctx: SandboxContext, template: Template, req: Partial<CreateRequest> = {}): Resources {
  const r = ctx.config.resources;
  return {
    cpus: req.cpus ?? Math.min(template.cpus ?? r.defaultCpus, r.maxCpus),
    memoryMb: req.memoryMb ?? Math.min(template.memoryMb ?? r.defaultMemoryMb, r.maxMemoryMb),
    network: req.network ?? ctx.config.network,
  };
}

/** What the backend is asked to make for a template. */
export function specFor(
  template: Template,
  resources: Resources,
  fields: {
    id: string;
    name: string;
    namespace: string;
    createdAt: Date;
    expiresAt: Date;
    metadata: Record<string, string>;
  },
): SandboxSpec {
  return {
    ...fields,
    ...resources,
    template: template.name,
    language: template.language,
    sources: template.sources,
    env: template.env,
  };
}

/** Ports as asked, without repeats; a sandbox without a network has none to offer. */
export function checkPorts(ports: number[] | undefined, network: NetworkMode): number[] {
  const unique = [...new Set(ports ?? [])];
  if (unique.length && network === 'none') {
    throw invalidArgument(
      'A sandbox with network "none" has no ports to reach.',
      'Create the sandbox with network "bridge" to use ports.',
    );
  }
  return unique;
}

function validate(ctx: SandboxContext, res: Resources, timeout: number): void {
  const { resources: r, lifetime } = ctx.config;
  if (res.cpus > r.maxCpus)
    throw invalidArgument(
      `cpus ${res.cpus} is above this server's limit of ${r.maxCpus}.`,
      `Ask for at most ${r.maxCpus}.`,
    );
  if (res.memoryMb > r.maxMemoryMb) {
    throw invalidArgument(
      `memory_mb ${res.memoryMb} is above this server's limit of ${r.maxMemoryMb}.`,
      `Ask for at most ${r.maxMemoryMb}.`,
    );
  }
  if (timeout > lifetime.maxSeconds) {
    throw invalidArgument(
      `timeout ${timeout}s is above the longest lifetime allowed, ${lifetime.maxSeconds}s.`,
      `Ask for at most ${lifetime.maxSeconds}.`,
    );
  }
}

/**
 * Creates a sandbox from a template (or hands out a warm one from the pool), sets its variables, installs,
 * runs the startup script; all or nothing.
 */
export async function createSandbox(
  ctx: SandboxContext,
  req: CreateRequest,
  onProgress?: (message: string) => void,
): Promise<CreateResult> {
  const template = ctx.templates.get(req.template);
  checkBackendOptions(ctx.provider, req);
  const installs = planInstalls([...template.packages, ...(req.installPackages ?? [])], template.packageManager);
  const resources = resourcesFor(ctx, template, req);
  const timeout =
    req.timeout ?? Math.min(template.timeout ?? ctx.config.lifetime.defaultSeconds, ctx.config.lifetime.maxSeconds);
  validate(ctx, resources, timeout);
  checkEnvTotals(req.envVars ?? {});
  const ports = checkPorts(req.ports, resources.network);

  // A warm sandbox is already counted against the quota; a new one must fit under it. Warm sandboxes publish no
  // ports, so a request with ports gets a new one.
  const warm = ports.length ? undefined : await ctx.pool?.claim(template, resources);
  const id = warm?.id ?? newSandboxId();
  const createdAt = new Date();
  let expiresAt = new Date(createdAt.getTime() + timeout * 1000);
  const name = req.name ?? id;
  const metadata = req.metadata ?? {};
  // A new sandbox is made while the quota's listing is under way: the backend waits for the answer only before it
  // starts anything, and a refused create leaves nothing behind.
  const admission = warm ? undefined : ctx.quota.reserve(id);
  admission?.catch(() => undefined); // answered through the create
  // The place is given back once the reservation has been answered (a refused one holds none).
  const release = warm
    ? ctx.quota.hold(id)
    : () =>
        void admission?.then(
          (giveBack) => giveBack(),
          () => undefined,
        );
  let madeId: string | undefined = warm?.id;
  try {
    const made =
      warm ??
      (await ctx.provider.create(
        {
          ...specFor(template, resources, {
            id,
            name,
            namespace: ctx.config.namespace,
            createdAt,
            expiresAt,
            metadata,
          }),
          ports,
          admission,
        },
        onProgress,
      ));
    madeId = made.id;
    // A warm sandbox's labels were written before anyone asked for it: the record holds the truth.
    const sandbox: SandboxInfo = { ...made, name, metadata, createdAt, expiresAt };
    // A warm sandbox was made with the pool's lease; backends that enforce lifetimes learn the real one, and may
    // cap it (E2B's plans count from the sandbox's start): the end they will honour is the one recorded. The
    // record written below holds it, so the backend may record it after returning (Docker, while the lease runs).
    if (warm) sandbox.expiresAt = expiresAt = await ctx.provider.setExpiry(id, expiresAt, { afterReturn: true });
    const envVarNames = Object.keys(req.envVars ?? {});
    const packagesInstalled = installs.flatMap((s) => s.packages);
    await Promise.all([
      ctx.records.put(
        newRecord(ctx, {
          id,
          name,
          metadata,
          createdAt: createdAt.toISOString(),
          expiresAt: expiresAt.toISOString(),
          envNames: envVarNames,
          packages: packagesInstalled,
          startupScript: Boolean(req.startupScript),
          ...(ports.length ? { ports } : {}),
        }),
      ),
      ctx.history.note(
        id,
        `sandbox created from template ${template.name}${warm ? ' (warm pool)' : ''} (${resources.cpus} cpus, ${resources.memoryMb} MB, network ${resources.network}, expires ${expiresAt.toISOString()})`,
        'info',
        createdAt,
      ),
    ]);

    ctx.facts.remember(sandbox);
    ctx.env.seed(id);
    const env = envVarNames.length ? await ctx.env.merge(id, req.envVars!) : {};
    if (envVarNames.length) {
      await ctx.history.note(id, `environment variables set: ${envVarNames.join(', ')}`, 'debug');
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
    ctx.log.info({ sandboxId: id, template: template.name, fromPool: Boolean(warm) }, 'sandbox created');
    const urls = ports.length ? await ctx.provider.portUrls(id, ports) : {};
    return {
      sandbox,
      envVarNames,
      packagesInstalled,
      startupScriptConfigured: Boolean(req.startupScript),
      timeoutSeconds: timeout,
      urls,
    };
  } catch (err) {
    if (madeId) {
      // A sandbox whose setup failed is not left behind.
      const failed = madeId;
      await deleteSandbox(ctx, failed, 'its setup failed').catch((e: unknown) =>
        ctx.log.warn({ sandboxId: failed, err: e }, 'could not remove a sandbox whose setup failed'),
      );
    }
    throw err;
  } finally {
    release();
  }
}
