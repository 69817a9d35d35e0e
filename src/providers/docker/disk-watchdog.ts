import type Docker from 'dockerode';
import { Labels } from '../../labels.js';
import type { Logger } from '../../logger.js';
import type { ProviderEvent } from '../provider.js';
import { endExecStreams } from './exec-streams.js';

/**
 * Overlay2 on ext4 cannot cap a container's writable layer, so a watchdog does: every SANDBOX_DISK_CHECK_INTERVAL
 * seconds (30 by default) it asks the engine for the size of the writable layer of each running sandbox of its
 * namespace (one request; the engine walks those containers' files, so this is neither frequent nor engine-wide)
 * and stops any sandbox over its limit. A stopped sandbox keeps its files; the agent can start it again and has a minute to delete some.
 * With several servers of one namespace on one state folder, one of them checks (a lease file).
 * Between two checks
 * a single file cannot outgrow the limit either: RLIMIT_FSIZE is set to it (see isolation.ts).
 */
/** After a sandbox it stopped runs again, this long to delete files before the quota applies again. */
const GRACE_AFTER_RESTART_MS = 60_000;

export class DiskWatchdog {
  private timer?: NodeJS.Timeout;
  private checking = false;
  /** Sandboxes it stopped, until they are seen running again. */
  private readonly stopped = new Set<string>();
  /** Sandboxes it stopped that run again: when their grace ends. */
  private readonly grace = new Map<string, number>();

  constructor(
    private readonly docker: Docker,
    private readonly namespace: string,
    private readonly limitBytes: number,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly emit: (event: ProviderEvent) => void,
    /** Servers of one namespace sharing a state folder take turns: only the lease holder checks. */
    private readonly lease?: { acquire(): Promise<boolean> },
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
      if (this.lease && !(await this.lease.acquire().catch(() => true))) return [];
      const running = await this.docker.listContainers({
        size: true,
        filters: { label: [`${Labels.managed}=true`, `${Labels.namespace}=${this.namespace}`], status: ['running'] },
      });
      const now = Date.now();
      for (const c of running) {
        const size = (c as { SizeRw?: number }).SizeRw ?? 0; // present with size: true
        const id = c.Labels[Labels.id];
        if (!id) continue;
        if (this.stopped.delete(id)) this.grace.set(id, now + GRACE_AFTER_RESTART_MS);
        if (size <= this.limitBytes) {
          this.grace.delete(id);
          continue;
        }
        if ((this.grace.get(id) ?? 0) > now) continue; // started again to make room: let it
        this.grace.delete(id);
        this.log.warn(
          { sandboxId: id, sizeBytes: size, limitBytes: this.limitBytes },
          'sandbox over its disk quota: stopping it',
        );
        await this.docker
          .getContainer(c.Id)
          .stop({ t: 0 })
          .catch(() => undefined);
        endExecStreams(c.Id);
        this.stopped.add(id);
        stopped.push(id);
        const mb = (b: number) => Math.round(b / 1024 / 1024);
        this.emit({
          sandboxId: id,
          kind: 'disk_quota',
          message: `sandbox stopped: its files took ${mb(size)} MB, over its disk quota of ${mb(this.limitBytes)} MB (SANDBOX_DISK_LIMIT_MB); start it with sandbox_configure and delete files within ${GRACE_AFTER_RESTART_MS / 1000} s`,
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
