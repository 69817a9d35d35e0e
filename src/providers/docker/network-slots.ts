import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { ErrorCode, SandboxError } from '../../errors.js';
import { LABEL_PREFIX } from '../../labels.js';
import type { Logger } from '../../logger.js';
import { ServerIdentitySchema, serverAlive, THIS_SERVER, type ServerIdentity } from '../../util/server-identity.js';
import { MANAGED_FILTER } from './label-filters.js';
import { waitAtMost } from '../../util/wait-at-most.js';

/** What a sandbox whose holder was removed says when asked to start: it never can again. */
export const slotGone = (cause?: unknown): SandboxError =>
  new SandboxError(
    ErrorCode.SANDBOX_NOT_RUNNING,
    'This sandbox cannot start again: the container that holds its network (its network slot) was removed.',
    'Delete it with sandbox_delete and create a new one; its files are gone with it.',
    cause === undefined ? undefined : { cause },
  );

/** Marks a network slot's holder container, with the namespace whose sandboxes may join it. */
export const SLOT_LABEL = `${LABEL_PREFIX}.network-slot`;
/** The server that made a holder (a ServerIdentity as JSON): one left by a killed server goes at once. */
export const SLOT_OWNER_LABEL = `${LABEL_PREFIX}.network-slot-owner`;

export interface SlotOptions {
  /**
   * A holder no container joins, not a spare, whose maker this machine cannot see alive or dead (another host, or
   * this server), this long after it was made, is left over: its sandbox was removed behind the servers' backs.
   */
  orphanAgeMs: number;
  /** The sweep for left-over holders runs at most this often (it lists the engine's sandboxes). */
  sweepEveryMs: number;
  /** This server, as holders it makes are labelled (tests give another). */
  owner: ServerIdentity;
  /**
   * A take's refill waits until creates have paused this long: in a burst each create would wait for a holder
   * started behind the one before, and the two starts share the engine (measured back to back: 1.33x `docker run
   * -d` against 1.09x without slots). A burst's creates after the first join the network themselves, as without
   * slots.
   */
  refillAfterQuietMs: number;
}

/** How long after a failed holder, or a failed join, no other is tried. */
const FAILURE_QUIET_MS = 60_000;
/**
 * How long a create waits for a holder being made: a start takes a quarter of this on a calm engine. Past it the
 * engine is slow for everyone, and the create's own start on the network is no slower than waiting on.
 */
const PENDING_WAIT_MS = 1000;

const DEFAULTS: SlotOptions = {
  orphanAgeMs: 15 * 60_000,
  sweepEveryMs: 60_000,
  owner: THIS_SERVER,
  refillAfterQuietMs: 500,
};

/** The network mode of a sandbox that joins a holder, and the holder it joins (undefined for any other mode). */
export const joinedNetworkMode = (holderId: string): string => `container:${holderId}`;
/**
 * Only a full container ID counts: a name or a prefix is looked up again at every start, and could by then name
 * another container. Any other `container:` mode is another namespace shared, and not trusted (trusted-isolation.ts).
 */
export const holderOf = (networkMode: string | undefined): string | undefined => {
  const id = networkMode?.startsWith('container:') ? networkMode.slice('container:'.length) : undefined;
  return id && /^[0-9a-f]{64}$/.test(id) ? id : undefined;
};

/**
 * Only runtimes that leave the namespace as they found it: gVisor takes the address off the namespace's interface
 * when its sandbox boots (runsc/sandbox/network.go, "Steal IP address from NIC") and finds none at the next boot in
 * the same namespace, so a sandbox that restarted inside its holder would come back without a network; VM runtimes
 * (Kata) do their own plumbing. Sandboxes under any other runtime take no slot.
 */
export const slotsSuit = (runtime: string | undefined): boolean =>
  !runtime || /^(runc|crun|io\.containerd\.runc\.v\d)$/.test(runtime);

/** Why a container is not a holder a sandbox of this namespace may join, or undefined when it is one. */
export function slotHolderMismatch(
  info: Docker.ContainerInspectInfo,
  namespace: string,
  holderId: string,
): string | undefined {
  if (info.Id !== holderId) return 'not the network slot named';
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
  // On a sandbox network (sandbox-network.ts names them), behind its filter.
  if (!/^sandbox-mcp-[0-9a-f]{8}$/.test(mode)) return `network slot on ${mode || 'no network'}`;
  if ((hc.Binds ?? []).length || (info.Mounts ?? []).some((m) => m.Type === 'bind')) return 'host bind mounts';
  return undefined;
}

interface Spare {
  id: string;
  network: string;
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
 * memory), made when the server warms up and once creates pause after a take, kept while the server runs (a server
 * on another machine, which cannot see this one alive, may sweep it once 15 minutes old: see sweep). A
 * sandbox that publishes ports at create cannot join another's namespace (the engine publishes on the namespace's
 * owner), and one under gVisor should not (slotsSuit): they take no slot.
 */
export class NetworkSlots {
  private readonly spares: Spare[] = [];
  /** Holders handed to creates under way, until their sandbox exists (handedBack). */
  private readonly handedOut = new Set<string>();
  /**
   * The holder being made: its name (given before the engine is asked, so that a sweep meanwhile keeps it) and its
   * making, which one create may wait for. Cleared as it becomes a spare, before any other event runs.
   */
  private pending?: { network: string; name: string; made: Promise<string>; awaited: boolean };
  private filling?: Promise<void>;
  private refill?: NodeJS.Timeout;
  private lastTake = 0;
  /** Whether the engine's default runtime suits slots (asked once: checkEngine). */
  private engineSuits?: boolean;
  /** After a holder could not be made (an image without `sleep`, say), none is tried until then. */
  private quietUntil = 0;
  private closed = false;
  private lastSweep = 0;

  constructor(
    private readonly docker: Docker,
    private readonly namespace: string,
    private readonly log: Logger,
    /** Spares kept ready (SANDBOX_NETWORK_SLOTS); 0 turns slots off. */
    private readonly size = 1,
    options: Partial<SlotOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  private readonly options: SlotOptions;

  /**
   * A holder on `network` for a sandbox to join, or undefined (the create joins the network itself); refills once
   * creates pause. With none ready but one being made, the first create to ask waits for what is left of its start
   * (less than its own start on the network would take); creates that ask meanwhile do not wait.
   */
  async take(network: string, image: string): Promise<string | undefined> {
    let spare = this.takeReady(network);
    const pending = this.pending;
    if (!spare && pending?.network === network && !pending.awaited) {
      pending.awaited = true;
      await waitAtMost(pending.made, PENDING_WAIT_MS);
      spare = this.takeReady(network); // a spare if it was made in time (fill's own await on it runs first)
    }
    this.lastTake = Date.now();
    if (spare) this.handedOut.add(spare.id);
    this.refillWhenQuiet(network, image);
    return spare?.id;
  }

  private refillWhenQuiet(network: string, image: string): void {
    clearTimeout(this.refill);
    this.refill = setTimeout(() => this.fill(network, image), this.options.refillAfterQuietMs);
    this.refill.unref();
  }

  /**
   * A create could not join the holder it took (stopped by an engine restart, or its image's `sleep` exits at
   * once): the other spares are likely no better. They go, and none is made for a minute.
   */
  joinFailed(): void {
    this.quietUntil = Date.now() + FAILURE_QUIET_MS;
    for (const spare of this.spares.splice(0)) void this.release(spare.id);
  }

  /** The create that took `holderId` is over: its sandbox joined the holder, or it was released. */
  handedBack(holderId: string): void {
    this.handedOut.delete(holderId);
  }

  private takeReady(network: string): Spare | undefined {
    const index = this.spares.findIndex((s) => s.network === network);
    return index >= 0 ? this.spares.splice(index, 1)[0] : undefined;
  }

  /** Makes spares on `network` up to the pool's size, one at a time, in the background. */
  fill(network: string, image: string): void {
    if (this.closed || this.size <= 0 || this.filling || Date.now() < this.quietUntil) return;
    const run = async () => {
      try {
        await this.fillUp(network, image);
      } catch (err) {
        this.quietUntil = Date.now() + FAILURE_QUIET_MS;
        this.log.warn({ err, network }, 'could not make a network slot; creates join the network for a minute');
      } finally {
        this.filling = undefined;
      }
      // A create that took the last spare while this ended found the fill still running: go on for it.
      if (this.short(network)) this.refillWhenQuiet(network, image);
    };
    this.filling = run();
  }

  private short(network: string): boolean {
    return !this.closed && this.spares.filter((s) => s.network === network).length < this.size;
  }

  private async fillUp(network: string, image: string): Promise<void> {
    // Known once asked: then the first holder's making (and `pending`) starts in this same turn.
    if (!(this.engineSuits ?? (await this.checkEngine()))) return;
    while (this.short(network)) {
      const name = `sandbox-mcp-slot-${randomBytes(6).toString('hex')}`;
      const made = this.makeHolder(name, network, image);
      this.pending = { network, name, made, awaited: false };
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
      this.spares.push({ id, network });
      // Creates came again meanwhile (a pool of two or more): the next waits for them to pause.
      if (this.short(network) && Date.now() - this.lastTake < this.options.refillAfterQuietMs)
        return this.refillWhenQuiet(network, image);
    }
  }

  /**
   * Sandboxes without SANDBOX_DOCKER_RUNTIME run under the engine's default, which may be gVisor: asked once, at
   * warm-up or the first fill (a failure to ask is asked again next time).
   */
  async checkEngine(): Promise<boolean> {
    if (this.engineSuits !== undefined) return this.engineSuits;
    const info = (await this.docker.info().catch(() => undefined)) as { DefaultRuntime?: string } | undefined;
    if (info) this.engineSuits = slotsSuit(info.DefaultRuntime);
    return this.engineSuits ?? false;
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
    const holder = this.docker.getContainer(holderId);
    // The engine looks a missing ID up as a name too: the holder must be the very container, or it is gone.
    const info = await holder.inspect().catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return undefined;
      throw err;
    });
    if (info?.Id !== holderId) throw slotGone();
    if (info.State.Running) return;
    await holder.start().catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 304) throw err; // 304: started meanwhile
    });
  }

  /**
   * Removes the namespace's left-over holders, those no container joins that are not a spare or a create's: at
   * once when their server is dead (this machine can tell), never while it lives on this machine (its own sweep
   * sees to them), else (this server's, another machine's) 15 minutes after they were made. At most once a
   * minute, whoever asks.
   */
  async sweep(): Promise<void> {
    if (this.closed || Date.now() - this.lastSweep < this.options.sweepEveryMs) return;
    this.lastSweep = Date.now();
    // What is ours is noted before the engine lists and after: a holder handed out, or made, in between is kept.
    const ours = () => [...this.spares.map((s) => s.id), ...this.handedOut, this.pending?.name];
    const before = ours();
    // Holders first, then sandboxes: a sandbox that joined a listed holder before the second listing is in it, and
    // one that joins later finds its holder gone and fails to start (its create then joins the network itself).
    const holders = await this.docker.listContainers({
      all: true,
      filters: { label: [`${SLOT_LABEL}=${this.namespace}`] },
    });
    const sandboxes = await this.docker.listContainers({ all: true, filters: MANAGED_FILTER });
    const kept = new Set([...before, ...ours()]);
    for (const c of sandboxes) kept.add(holderOf(c.HostConfig?.NetworkMode));
    for (const h of holders) {
      if (kept.has(h.Id) || h.Names.some((n) => kept.has(n.replace(/^\//, '')))) continue;
      const owner = parseOwner(h.Labels[SLOT_OWNER_LABEL]);
      const mine = owner?.instance === this.options.owner.instance;
      const alive = owner && !mine ? serverAlive(owner, this.options.owner) : undefined;
      if (alive === true) continue;
      if (alive === undefined && h.Created * 1000 > Date.now() - this.options.orphanAgeMs) continue;
      this.log.info({ holder: h.Id, ownerAlive: alive }, 'removing a network slot no sandbox joins');
      await this.release(h.Id);
    }
  }

  /** Stops refilling and removes the spares (a fill under way removes what it makes). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refill);
    const spares = this.spares.splice(0);
    await Promise.all([...spares.map((s) => this.release(s.id)), this.filling]);
  }

  private async makeHolder(name: string, network: string, image: string): Promise<string> {
    const container = await this.docker.createContainer({
      name,
      Image: image,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      User: '65534:65534',
      // A sandbox that joins takes its hostname, /etc/hosts and resolv.conf from here (the engine refuses a
      // hostname of its own on a container that joins another's network).
      Hostname: 'sandbox',
      // Not the sandbox labels (not even the namespace's): nothing that lists sandboxes sees a holder.
      Labels: { [SLOT_LABEL]: this.namespace, [SLOT_OWNER_LABEL]: JSON.stringify(this.options.owner) },
      StopTimeout: 1,
      Healthcheck: { Test: ['NONE'] }, // whatever the image declares: the holder only sleeps
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
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    return container.id;
  }
}

/** The maker a holder's label names, if it is well formed (else the age decides). */
function parseOwner(label: string | undefined): ServerIdentity | undefined {
  try {
    return ServerIdentitySchema.safeParse(JSON.parse(label ?? '')).data;
  } catch {
    return undefined; // no label, or not JSON
  }
}
