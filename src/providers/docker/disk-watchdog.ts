import type Docker from 'dockerode';
import { Labels } from '../../labels.js';
import type { Logger } from '../../logger.js';
import type { ProviderEvent } from '../provider.js';

/**
 * Overlay2 on ext4 cannot cap a container's writable layer, so a watchdog does: every few seconds it asks the
 * engine for the size of every running sandbox's writable layer (one request for all) and stops any sandbox over
 * its limit. A stopped sandbox keeps its files; the agent can start it again and delete some. Between two checks
 * a single file cannot outgrow the limit either: RLIMIT_FSIZE is set to it (see isolation.ts).
 */
export class DiskWatchdog {
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly docker: Docker,
    private readonly limitBytes: number,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly emit: (event: ProviderEvent) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sweep; returns the IDs of the sandboxes it stopped. */
  async check(): Promise<string[]> {
    if (this.checking) return [];
    this.checking = true;
    const stopped: string[] = [];
    try {
      const running = await this.docker.listContainers({
        size: true,
        filters: { label: [`${Labels.managed}=true`], status: ['running'] },
      });
      for (const c of running) {
        const size = (c as { SizeRw?: number }).SizeRw ?? 0; // present with size: true
        const id = c.Labels[Labels.id];
        if (!id || size <= this.limitBytes) continue;
        this.log.warn({ sandboxId: id, sizeBytes: size, limitBytes: this.limitBytes }, 'sandbox over its disk quota: stopping it');
        await this.docker.getContainer(c.Id).stop({ t: 0 }).catch(() => undefined);
        stopped.push(id);
        const mb = (b: number) => Math.round(b / 1024 / 1024);
        this.emit({
          sandboxId: id,
          kind: 'disk_quota',
          message: `sandbox stopped: its files took ${mb(size)} MB, over its disk quota of ${mb(this.limitBytes)} MB (SANDBOX_DISK_LIMIT_MB); start it with sandbox_configure and delete files`,
        });
      }
    } catch (err) {
      this.log.debug({ err }, 'disk check failed; will try again');
    } finally {
      this.checking = false;
    }
    return stopped;
  }
}
