import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxProvider } from '../providers/provider.js';
import { HistoryStore } from '../store/history-store.js';
import { SandboxRecords } from '../store/sandbox-records.js';
import { configureSandbox, type ConfigureRequest } from './configure.js';
import type { SandboxContext } from './context.js';
import { createSandbox, type CreateRequest } from './create.js';
import { executeCode, type ExecuteHooks, type ExecuteRequest } from './execute.js';
import { listSandboxes, sandboxLogs, sandboxStatus, type ListRequest, type LogsRequest } from './inspect.js';
import { startReaper } from './reaper.js';
import { SandboxEnv } from './sandbox-env.js';
import { deleteSandbox, stopSandbox } from './teardown.js';
import { TemplateCatalog } from './templates.js';
import { uploadFile, type UploadRequest } from './upload.js';
import { WarmPool } from './warm-pool.js';
import { Mutex } from '../util/mutex.js';
import { isSandboxId } from '../ids.js';
import { notFound } from '../errors.js';

/**
 * The backend-independent policy around a provider: templates, limits, history, env persistence and expiry.
 * Each method serves one tool.
 */
export class SandboxService {
  readonly ctx: SandboxContext;
  private stopReaper?: () => void;

  constructor(config: Config, provider: SandboxProvider, log: Logger, templates?: TemplateCatalog) {
    const root = path.join(config.stateDir, 'sandboxes');
    const env = new SandboxEnv(provider);
    this.ctx = {
      config,
      provider,
      templates:
        templates ??
        new TemplateCatalog({ extraDir: config.templatesDir, imageOverride: config.imageOverride, templateImages: config.templateImages }),
      records: new SandboxRecords(root, log),
      history: new HistoryStore(root, {
        maxBytes: config.history.maxBytes,
        maxLines: config.history.maxLines,
        secrets: (id) => env.knownValues(id),
        log,
      }),
      env,
      log,
      creating: { count: 0 },
      quotaLock: new Mutex(),
      facts: new Map(),
    };
    const sizes = poolSizes(config, this.ctx.templates);
    if (sizes.size) this.ctx.pool = new WarmPool(this.ctx, sizes);
  }

  get providerName() {
    return this.ctx.provider.name;
  }

  /** Starts the background expiry sweep (it runs once at once, then every SANDBOX_REAP_INTERVAL). */
  startBackgroundWork(): void {
    if (!this.stopReaper) {
      this.stopReaper = startReaper(this.ctx, this.ctx.config.reapIntervalSeconds);
      this.ctx.pool?.start();
      this.ctx.provider.watch?.((event) => {
        this.ctx.log.warn({ sandboxId: event.sandboxId, kind: event.kind }, event.message);
        void this.ctx.history
          .append(event.sandboxId, [{ ts: new Date().toISOString(), level: 'error', source: 'system', message: event.message }])
          .catch(() => undefined);
      });
    }
  }

  async close(): Promise<void> {
    this.stopReaper?.();
    await this.ctx.pool?.stop();
    await this.ctx.provider.close();
  }

  create(req: CreateRequest, onProgress?: (message: string) => void) {
    return createSandbox(this.ctx, req, onProgress);
  }

  execute(req: ExecuteRequest, hooks?: ExecuteHooks) {
    checkId(req.sandboxId);
    return executeCode(this.ctx, req, hooks);
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

  delete(id: string) {
    checkId(id);
    return deleteSandbox(this.ctx, id);
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
