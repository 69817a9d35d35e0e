import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxProvider } from '../providers/provider.js';
import { HistoryStore } from '../store/history-store.js';
import { SandboxRecords } from '../store/sandbox-records.js';
import { configureSandbox, type ConfigureRequest } from './configure.js';
import { uptimeSeconds, type SandboxContext } from './context.js';
import { createSandbox, type CreateRequest } from './create.js';
import { executeCode, type ExecuteHooks, type ExecuteRequest } from './execute.js';
import { listSandboxes, type ListRequest } from './list.js';
import { sandboxLogs, type LogsRequest } from './logs.js';
import { sandboxStatus } from './status.js';
import { startReaper } from './background/reaper.js';
import { SandboxEnv } from './sandbox-env.js';
import { deleteSandbox } from './delete.js';
import { stopSandbox } from './stop.js';
import { TemplateCatalog } from './templates.js';
import { uploadFile, type UploadRequest } from './upload.js';
import { Quota } from './quota.js';
import { SandboxFacts } from './facts.js';
import { WarmPool } from './background/warm-pool.js';
import { BackgroundRuns } from './background/background-runs.js';
import { downloadPath, type DownloadRequest } from './download.js';
import { executeOneOff } from './one-off.js';
import { invalidArgument, notFound } from '../errors.js';
import { isSandboxId } from '../ids.js';

/** How long after start-up the backend warms up for the first create (see startBackgroundWork). */
export const WARM_UP_DELAY_MS = 1000;

/**
 * The backend-independent policy around a provider: templates, limits, history, env persistence and expiry.
 * Each method serves one tool.
 */
export class SandboxService {
  readonly ctx: SandboxContext;
  private stopReaper?: () => void;
  private warmUpTimer?: NodeJS.Timeout;
  /** Sandboxes created through this service (this process), for SANDBOX_ON_EXIT. */
  private readonly createdHere = new Set<string>();

  constructor(config: Config, provider: SandboxProvider, log: Logger, templates?: TemplateCatalog) {
    const root = path.join(config.stateDir, 'sandboxes');
    const env = new SandboxEnv(provider);
    // One history store for every writer: it scrubs the sandbox's env_vars values and keeps the configured bounds.
    const history = new HistoryStore(root, {
      maxBytes: config.history.maxBytes,
      maxLines: config.history.maxLines,
      secrets: (id) => env.knownValues(id),
      log,
    });
    const services = {
      config,
      provider,
      templates:
        templates ??
        new TemplateCatalog({
          extraDir: config.templatesDir,
          imageOverride: config.imageOverride,
          templateImages: config.templateImages,
        }),
      records: new SandboxRecords(root, log),
      history,
      env,
      log,
      quota: new Quota(config.limits.maxSandboxes, config.namespace, async () =>
        (await provider.list()).map((s) => s.id),
      ),
      facts: new SandboxFacts(provider),
      background: new BackgroundRuns(provider, history, log),
    };
    // The warm pool is given every service but itself.
    const sizes = poolSizes(config, services.templates);
    this.ctx = sizes.size ? { ...services, pool: new WarmPool(services, sizes) } : services;
  }

  get providerName() {
    return this.ctx.provider.name;
  }

  /**
   * Starts the background work: the backend's warm-up for the first create, the expiry sweep (once at once, then
   * every SANDBOX_REAP_INTERVAL), the warm pool and the backend's own watch.
   */
  startBackgroundWork(): void {
    if (!this.stopReaper) {
      const { templates, config, provider } = this.ctx;
      const sources = templates.names().map((name) => templates.get(name).sources);
      // Not during the client's first exchanges (start-up → tools/list); a create that comes sooner does it itself.
      this.warmUpTimer = setTimeout(
        () => void provider.warmUp?.({ sources, network: config.network }).catch(() => undefined),
        WARM_UP_DELAY_MS,
      );
      this.warmUpTimer.unref();
      this.stopReaper = startReaper(this.ctx, this.ctx.config.reapIntervalSeconds);
      this.ctx.pool?.start();
      this.ctx.provider.watch?.((event) => {
        this.ctx.log.warn({ sandboxId: event.sandboxId, kind: event.kind }, event.message);
        void this.ctx.history.note(event.sandboxId, event.message, 'error').catch(() => undefined);
      });
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.warmUpTimer);
    this.stopReaper?.();
    await this.ctx.background.stopAll();
    await this.ctx.pool?.stop();
    await this.ctx.provider.close();
  }

  async create(req: CreateRequest, onProgress?: (message: string) => void) {
    const result = await createSandbox(this.ctx, req, onProgress);
    this.createdHere.add(result.sandbox.id);
    return result;
  }

  /** The IDs of the sandboxes this process created and has not deleted. */
  ownSandboxes(): string[] {
    return [...this.createdHere];
  }

  /** A run in an existing sandbox, or (`template` instead of a sandbox ID) in one made for it and deleted after. */
  execute(req: Omit<ExecuteRequest, 'sandboxId'> & { sandboxId?: string; template?: string }, hooks?: ExecuteHooks) {
    const { sandboxId, template, ...rest } = req;
    if (sandboxId !== undefined && template !== undefined) {
      throw invalidArgument(
        'Pass sandbox_id or template, not both.',
        'sandbox_id runs in that sandbox; template runs once in a new sandbox deleted after the run.',
      );
    }
    if (sandboxId === undefined) {
      if (template === undefined)
        throw invalidArgument(
          'sandbox_execute needs a sandbox_id, or a template for a one-off run.',
          'Create a sandbox with sandbox_create, or pass template (e.g. "python").',
        );
      return executeOneOff(this.ctx, template, rest, hooks);
    }
    checkId(sandboxId);
    return executeCode(this.ctx, { ...rest, sandboxId }, hooks);
  }

  download(req: DownloadRequest) {
    checkId(req.sandboxId);
    return downloadPath(this.ctx, req);
  }

  /** Ends a background execution early; its state afterwards (undefined: no such execution in this sandbox). */
  async stopExecution(sandboxId: string, executionId: string) {
    checkId(sandboxId);
    const info = await this.ctx.provider.get(sandboxId);
    const state = await this.ctx.background.stop(sandboxId, executionId);
    return state && { state, sandboxState: info.state, uptimeS: uptimeSeconds(info) };
  }

  list(req: ListRequest) {
    return listSandboxes(this.ctx, req);
  }

  status(id: string) {
    checkId(id);
    return sandboxStatus(this.ctx, id);
  }

  configure(req: ConfigureRequest) {
    checkId(req.sandboxId);
    return configureSandbox(this.ctx, req);
  }

  upload(req: UploadRequest) {
    checkId(req.sandboxId);
    return uploadFile(this.ctx, req);
  }

  logs(req: LogsRequest) {
    checkId(req.sandboxId);
    return sandboxLogs(this.ctx, req);
  }

  stop(id: string) {
    checkId(id);
    return stopSandbox(this.ctx, id);
  }

  async delete(id: string) {
    checkId(id);
    const result = await deleteSandbox(this.ctx, id);
    this.createdHere.delete(id);
    return result;
  }
}

/** Pool size per template: the template's own pool_size, else SANDBOX_POOL_SIZE for SANDBOX_POOL_TEMPLATES. */
function poolSizes(config: Config, templates: TemplateCatalog): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const t of templates.all()) {
    const size = t.poolSize ?? (config.pool.templates.includes(t.name) ? config.pool.size : 0);
    if (size > 0) sizes.set(t.name, size);
  }
  return sizes;
}

/** IDs of any other shape never reach a backend or a state path. */
function checkId(id: string): void {
  if (!isSandboxId(id)) throw notFound(id);
}
