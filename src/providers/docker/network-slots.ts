import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { LABEL_PREFIX } from '../../labels.js';
import type { Logger } from '../../logger.js';
import { MANAGED_FILTER } from './label-filters.js';

/** Marks a network slot's holder container, with the namespace whose sandboxes may join it. */
export const SLOT_LABEL = `${LABEL_PREFIX}.network-slot`;
export interface SlotTimings {
  /** A spare nobody took in this long is removed; the next create makes another. */
  spareIdleMs: number;
  /**
   * A holder no container joins, this long after it was made, is left over (its sandbox was removed behind the
   * servers' backs, or its server was killed with a spare): any server of the namespace removes it. Longer than a
   * spare lives, so a live server's spare is never taken from under it.
   */
  orphanAgeMs: number;
  /** The sweep for left-over holders runs at most this often (it lists the engine's sandboxes). */
  sweepEveryMs: number;
}

const TIMINGS: SlotTimings = { spareIdleMs: 10 * 60_000, orphanAgeMs: 15 * 60_000, sweepEveryMs: 60_000 };

/** The network mode of a sandbox that joins a holder, and the holder it joins (undefined for any other mode). */
export const joinedNetworkMode = (holderId: string): string => `container:${holderId}`;
export const holderOf = (networkMode: string | undefined): string | undefined =>
  networkMode?.startsWith('container:') ? networkMode.slice('container:'.length) : undefined;

/** Why a container is not a holder a sandbox of this namespace may join, or undefined when it is one. */
export function slotHolderMismatch(info: Docker.ContainerInspectInfo, namespace: string): string | undefined {
  const labels = info.Config?.Labels ?? {};
  if (labels[SLOT_LABEL] !== namespace) return 'not a network slot of this namespace';
  const hc: Docker.HostConfig = info.HostConfig ?? {};
  if (
    hc.Privileged ||
    (hc.CapAdd ?? []).length ||
    !(hc.CapDrop ?? []).map((c: string) => c.toUpperCase()).includes('ALL')
  )
    return 'network slot holder with privileges';
  const mode = hc.NetworkMode ?? '';
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return `network slot in ${mode} mode`;
  if ((hc.Binds ?? []).length || (info.Mounts ?? []).some((m) => m.Type === 'bind')) return 'host bind mounts';
  return undefined;
}

interface Spare {
  id: string;
  network: string;
  timer: NodeJS.Timeout;
}

/**
 * Network namespaces made ahead for `bridge` sandboxes. On this engine (20.10) a container's start on a user-defined
 * network spends most of its time on the network: a new namespace, its veth pair, and the embedded DNS's rules,
 * installed by re-executing dockerd inside it. A container that joins a running container's namespace
 * (`container:<id>`) skips all of it: create + start measured 79 ms against 228 ms on the sandbox network and
 * 203 ms for `docker run -d` (docs/benchmarks.md). So a small container (`sleep`, no capabilities, read-only,
 * 16 MiB) holds a ready namespace on the sandbox network, filtered like any sandbox there; a create takes it and its
 * sandbox joins it, and the holder lives exactly as long as that sandbox. E2B's orchestrator does the same for its
 * microVMs: a pool of network slots made ahead of the sandboxes that take them
 * (e2b-dev/infra, packages/orchestrator/internal/sandbox/network/pool.go, `Populate` and `Get`).
 *
 * One spare per server by default (its cost is a container's: a shim and a namespace, about 10 MB of the host's
 * memory), made when the server warms up and after each take, dropped after ten idle minutes. A sandbox that
 * publishes ports at create cannot join another's namespace (the engine publishes on the namespace's owner): it
 * takes no slot.
 */
export class NetworkSlots {
  private readonly spares: Spare[] = [];
  /** The holder being made (created, not yet a spare). */
  private making?: string;
  /** Its making, for the one create that may wait for it. */
  private pending?: { network: string; made: Promise<string>; awaited: boolean };
  private filling?: Promise<void>;
  private closed = false;
  private lastSweep = 0;

  constructor(
    private readonly docker: Docker,
    private readonly namespace: string,
    private readonly log: Logger,
    /** Spares kept ready (SANDBOX_NETWORK_SLOTS); 0 turns slots off. */
    private readonly size = 1,
    private readonly timings: SlotTimings = TIMINGS,
  ) {}

  /**
   * A holder on `network` for a sandbox to join, or undefined (the create joins the network itself); refills. With
   * none ready but one being made, the first create to ask waits for it: the rest of its start is never longer
   * than the create's own start on the network would be. Creates that ask meanwhile do not wait.
   */
  async take(network: string, image: string): Promise<string | undefined> {
    let spare = this.takeReady(network);
    const pending = this.pending;
    if (!spare && pending?.network === network && !pending.awaited) {
      pending.awaited = true;
      await pending.made.catch(() => undefined);
      spare = this.takeReady(network); // made and a spare by now (fill's own await on it runs first)
    }
    this.fill(network, image);
    return spare?.id;
  }

  private takeReady(network: string): Spare | undefined {
    const index = this.spares.findIndex((s) => s.network === network);
    const spare = index >= 0 ? this.spares.splice(index, 1)[0] : undefined;
    if (spare) clearTimeout(spare.timer);
    return spare;
  }

  /** Makes spares on `network` up to the pool's size, one at a time, in the background. */
  fill(network: string, image: string): void {
    if (this.closed || this.size <= 0 || this.filling) return;
    const run = async () => {
      while (!this.closed && this.spares.filter((s) => s.network === network).length < this.size) {
        const made = this.makeHolder(network, image);
        this.pending = { network, made, awaited: false };
        let id: string;
        try {
          id = await made;
        } finally {
          this.pending = undefined;
        }
        if (this.closed) {
          await this.release(id);
          return;
        }
        const timer = setTimeout(() => this.dropIdle(id), this.timings.spareIdleMs);
        timer.unref();
        this.spares.push({ id, network, timer });
      }
    };
    this.filling = run()
      .catch((err: unknown) =>
        this.log.debug({ err, network }, 'could not make a network slot; creates join the network'),
      )
      .finally(() => (this.filling = undefined));
  }

  /** Removes a holder (its sandbox is gone, or it was never joined). */
  async release(holderId: string): Promise<void> {
    await this.docker
      .getContainer(holderId)
      .remove({ force: true })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) this.log.debug({ err, holder: holderId }, 'could not remove a network slot');
      });
  }

  /**
   * Starts the holder a sandbox joins if it is not running (the engine stopped both, say), so the sandbox can
   * start: a sandbox cannot start in the namespace of a stopped container.
   */
  async wake(holderId: string): Promise<void> {
    await this.docker
      .getContainer(holderId)
      .start()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 304) throw err; // 304: already running
      });
  }

  /** Stops the holder of a stopped sandbox, so that it costs nothing until the sandbox starts again (wake). */
  async rest(holderId: string): Promise<void> {
    await this.docker
      .getContainer(holderId)
      .stop({ t: 0 })
      .catch((err: { statusCode?: number }) => {
        // 304: stopped already; 404: gone. Otherwise it idles on until the sandbox is removed: nothing breaks.
        if (err.statusCode !== 304 && err.statusCode !== 404)
          this.log.debug({ err, holder: holderId }, 'could not stop a network slot');
      });
  }

  /**
   * Removes the namespace's left-over holders: those no container joins, made over 15 minutes ago. At most once a
   * minute, whoever asks.
   */
  async sweep(): Promise<void> {
    if (this.closed || Date.now() - this.lastSweep < this.timings.sweepEveryMs) return;
    this.lastSweep = Date.now();
    const [holders, sandboxes] = await Promise.all([
      this.docker.listContainers({ all: true, filters: { label: [`${SLOT_LABEL}=${this.namespace}`] } }),
      this.docker.listContainers({ all: true, filters: MANAGED_FILTER }),
    ]);
    const joined = new Set(sandboxes.map((c) => holderOf(c.HostConfig?.NetworkMode)).filter(Boolean));
    const mine = new Set([...this.spares.map((s) => s.id), this.making]);
    for (const h of holders) {
      if (joined.has(h.Id) || mine.has(h.Id) || h.Created * 1000 > Date.now() - this.timings.orphanAgeMs) continue;
      this.log.info({ holder: h.Id }, 'removing a network slot no sandbox joins');
      await this.release(h.Id);
    }
  }

  /** Stops refilling and removes the spares (a fill under way removes what it makes). */
  async close(): Promise<void> {
    this.closed = true;
    const spares = this.spares.splice(0);
    for (const s of spares) clearTimeout(s.timer);
    await Promise.all([...spares.map((s) => this.release(s.id)), this.filling]);
  }

  private dropIdle(id: string): void {
    const index = this.spares.findIndex((s) => s.id === id);
    if (index < 0) return;
    this.spares.splice(index, 1);
    void this.release(id);
  }

  private async makeHolder(network: string, image: string): Promise<string> {
    const container = await this.docker.createContainer({
      name: `sandbox-mcp-slot-${randomBytes(6).toString('hex')}`,
      Image: image,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      User: '65534:65534',
      // A sandbox that joins takes its hostname, /etc/hosts and resolv.conf from here (the engine refuses a
      // hostname of its own on a container that joins another's network).
      Hostname: 'sandbox',
      // Not the sandbox labels (not even the namespace's): nothing that lists sandboxes sees a holder.
      Labels: { [SLOT_LABEL]: this.namespace },
      StopTimeout: 1,
      HostConfig: {
        NetworkMode: network,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        ReadonlyRootfs: true,
        Memory: 16 * 1024 * 1024,
        MemorySwap: 16 * 1024 * 1024,
        PidsLimit: 8,
        NanoCpus: 100_000_000,
        LogConfig: { Type: 'none', Config: {} },
        RestartPolicy: { Name: 'no' },
      },
    });
    this.making = container.id;
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    } finally {
      this.making = undefined;
    }
    return container.id;
  }
}
