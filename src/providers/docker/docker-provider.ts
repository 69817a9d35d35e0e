import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import type {
  ExpiryOptions,
  ByteSink,
  FileBody,
  FileOptions,
  NetworkMode,
  ProviderEvent,
  ReadOptions,
  Removal,
  ResourceUsage,
  RunOutcome,
  RunSpec,
  SandboxInfo,
  SandboxProvider,
  SandboxSources,
  SandboxSpec,
  WrittenFile,
} from '../provider.js';
import { AgentSession, AgentUnavailable, PREPARE_FAILED_MESSAGE } from './agent/agent-session.js';
import { DiskWatchdog } from './disk-watchdog.js';
import { DOCKER_CAPABILITIES } from './docker-capabilities.js';
import { dockerSource } from './docker-source.js';
import { engineMessage, engineUnavailable, mapDockerError } from './docker-errors.js';
import { killRun, runInContainer } from './exec.js';
import { endExecStreams } from './exec-streams.js';
import { readFile, readFileInto, writeFile } from './files.js';
import { outOfProcesses } from '../shared/file-errors.js';
import { ErrorCode, isSandboxError } from '../../errors.js';
import { ImageCache } from './images.js';
import { NetworkSlotUnusable, PREPARE_SCRIPT, createContainer, listManaged } from './lifecycle.js';
import { NetworkSlots, holderOf, slotGone, slotsSuit, type SlotOptions } from './network-slots.js';
import { ExpiryVolumes } from './expiry-volumes.js';
import { defaultNamespace } from '../../config.js';
import { OwnedContainers, infoFromInspect } from './owned-containers.js';
import { bridgeAddress, PortForwards, publishedPort } from './port-forwards.js';
import { relayThroughExec } from './port-relay.js';
import { readUsage } from './stats.js';
import { SandboxNetwork, type SandboxNetworkOptions } from './sandbox-network.js';
import { LeaseFile } from '../../util/lease-file.js';
import { waitAtMost } from '../../util/wait-at-most.js';

/** Process slots a file command takes at once on the exec path: exec, init, shells, relays, the tools. */
const FILE_COMMAND_PIDS = 16;
/**
 * An end may be written after setExpiry returns only while the sandbox's creation label protects it from every
 * reaper for at least this long (a warm sandbox is claimed with 15 minutes or more of its lease left).
 */
const WRITE_AFTER_RETURN_MARGIN_MS = 5 * 60_000;
/** A failed write made after returning is tried once more after this long. */
const WRITE_RETRY_MS = 1000;

export interface DockerProviderOptions {
  pidsLimit: number;
  /** SANDBOX_NAMESPACE: the only sandboxes this provider lists, touches and watches (default: the OS user's). */
  namespace?: string;
  /** Run through the in-sandbox agent where the image has python3 (default); false: one exec per run. */
  agent?: boolean;
  /** OCI runtime for sandboxes, such as `runsc` (gVisor). */
  runtime?: string;
  /** Disk quota per sandbox's writable layer, enforced by the watchdog; 0 or unset: none. */
  diskLimitMb?: number;
  /** Seconds between disk checks (default 30: each check makes the engine measure every sandbox's files). */
  diskCheckIntervalSeconds?: number;
  /** Address sandbox ports are published and forwarded on, and the host of their URLs (default 127.0.0.1). */
  portHost?: string;
  /** How ports added after create are forwarded: `auto` (the bridge address, else an exec relay) or `exec`. */
  portForward?: 'auto' | 'exec';
  /** A file through which servers sharing a state folder take turns at the disk check. */
  diskWatchLeaseFile?: string;
  /** What `bridge` sandboxes may reach beyond the internet; default: nothing on the host or in private ranges. */
  network?: SandboxNetworkOptions;
  /** Network namespaces kept ready for `bridge` sandboxes (network-slots.ts); default 1, 0: none. */
  networkSlots?: number;
  /** Their timings, for tests. */
  networkSlotOptions?: Partial<SlotOptions>;
}

/** Sandboxes as containers on a Docker Engine, spoken to through its HTTP API. */
export class DockerProvider implements SandboxProvider {
  readonly name = 'docker' as const;
  readonly capabilities = DOCKER_CAPABILITIES;
  private readonly owned: OwnedContainers;
  private readonly expiries: ExpiryVolumes;
  private readonly namespace: string;
  private readonly images: ImageCache;
  private watchdog?: DiskWatchdog;
  private warming?: Promise<void>;
  private readonly forwards: PortForwards;
  readonly network: SandboxNetwork;
  private readonly slots: NetworkSlots;
  /** Agent sessions by sandbox: null where the image cannot run one. */
  private readonly agents = new Map<string, Promise<AgentSession | null>>();
  /** The sessions of `agents` that are ready, for answers that must not wait (knownRunning). */
  private readonly readyAgents = new Map<string, AgentSession>();
  /** The end each sandbox made here was created with (its label), until its lifetime is first set. */
  private readonly creationLeases = new Map<string, Date>();
  /**
   * Expiry writes under way, by sandbox, with the end each writes: the next write and a removal wait for them, and
   * this server's reads say that end already (written last, it is the one every server will read).
   */
  private readonly expiryWrites = new Map<string, { expiresAt: Date; done: Promise<void> }>();

  constructor(
    private readonly docker: Docker,
    private readonly options: DockerProviderOptions,
    private readonly log: Logger,
  ) {
    this.namespace = options.namespace ?? defaultNamespace();
    this.owned = new OwnedContainers(docker, this.namespace, log);
    this.expiries = new ExpiryVolumes(docker, this.namespace);
    this.images = new ImageCache(docker, log);
    this.forwards = new PortForwards(options.portHost ?? '127.0.0.1', log, options.portForward);
    this.network = new SandboxNetwork(docker, options.network ?? { allow: [], filter: true }, log);
    this.slots = new NetworkSlots(
      docker,
      this.namespace,
      log,
      slotsSuit(options.runtime) ? (options.networkSlots ?? 1) : 0,
      options.networkSlotOptions,
    );
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw engineUnavailable(err);
    }
  }

  async create(spec: SandboxSpec, onProgress?: (message: string) => void): Promise<SandboxInfo> {
    const { image, dockerfile } = dockerSource(spec);
    await this.images.ensure(image, dockerfile, onProgress);
    const networkName =
      spec.network === 'bridge'
        ? await this.network.ensure(image).catch((err) => Promise.reject(mapDockerError(err)))
        : undefined;
    // The agent starts as the container's command, its stdin and stdout attached before the start (no exec after it).
    let attached: Promise<AgentSession> | undefined;
    const attachAgent =
      this.options.agent === false
        ? undefined
        : async (c: Docker.Container) => {
            attached = (await AgentSession.attach(c, this.log.child({ sandboxId: spec.id }))).ready;
          };
    const make = (networkSlot?: string) =>
      createContainer(this.docker, spec, { ...this.options, image, networkName, networkSlot, attachAgent }).catch(
        (err) => {
          // The image (or our network) may have been removed since we last saw it; the next create makes it again.
          if (
            !(err instanceof NetworkSlotUnusable) &&
            (err as { cause?: { statusCode?: number } }).cause?.statusCode === 404
          ) {
            this.images.invalidate(image);
            this.network.forget();
          }
          throw err;
        },
      );
    // A bridge sandbox joins a network namespace made ahead when one is ready (network-slots.ts).
    const slot = networkName && !spec.ports?.length ? await this.slots.take(networkName, image) : undefined;
    const container = await make(slot)
      .catch(async (err) => {
        // Refused (the quota) or failed: the holder taken for it is joined by nothing; it goes too.
        if (slot) await this.slots.release(slot);
        if (!(err instanceof NetworkSlotUnusable)) throw err;
        this.slots.joinFailed();
        this.log.info(
          { sandboxId: spec.id, holder: slot, err: err.cause },
          'network slot unusable; the sandbox joins the network itself',
        );
        return make(undefined);
      })
      .finally(() => slot && this.slots.handedBack(slot));
    this.log.debug({ sandboxId: spec.id, container: container.id }, 'container started');
    this.creationLeases.set(spec.id, spec.expiresAt);
    if (attached) this.adoptAttached(spec.id, attached);
    else void this.agentFor(spec.id).catch(() => undefined); // prepare and start the agent while the caller goes on
    if (spec.warm)
      void this.agents.get(spec.id)?.then(
        (session) => session?.prepareRun(),
        () => undefined,
      );
    const { admission: _admitted, warm: _warm, ...info } = spec;
    return { ...info, state: 'running', startedAt: new Date() };
  }

  /**
   * A server's first create would check its image, then make the sandbox network and install its filter (a short
   * privileged container, the longest of the three): done here when the server starts, with an image already on
   * the engine, so that the first sandbox costs what the next ones do.
   */
  warmUp(hint: { sources: SandboxSources[]; network: NetworkMode }): Promise<void> {
    this.warming ??= this.warmUpOnce(hint);
    return this.warming;
  }

  private async warmUpOnce(hint: { sources: SandboxSources[]; network: NetworkMode }): Promise<void> {
    const images = [...new Set(hint.sources.flatMap((s) => (s.docker?.image ? [s.docker.image] : [])))];
    const present = await Promise.all(images.map((image) => this.images.isPresent(image)));
    const helperImage = images.find((_, i) => present[i]);
    if (hint.network !== 'bridge' || !helperImage) return;
    const network = await this.network.ensure(helperImage).catch(() => undefined);
    if (network && (await this.slots.checkEngine())) this.slots.fill(network, helperImage);
  }

  /**
   * Waits (10 s at most) for the warm-up and the network filter's installation under way: a server that left in
   * their middle would leave the filter's helper container behind, exited.
   */
  private async settleWarmUp(): Promise<void> {
    const warming = (this.warming ?? Promise.resolve()).catch(() => undefined);
    await waitAtMost(
      warming.then(() => this.network.settled()),
      10_000,
    );
  }

  /** Its facts, with the lifetime's latest extension by any server of the namespace. */
  async get(id: string): Promise<SandboxInfo> {
    // Both asked at once (status reads wait for them); a missing sandbox is said first.
    const extension = this.expiries.of(id).catch((err) => Promise.reject(mapDockerError(err)));
    extension.catch(() => undefined);
    const info = infoFromInspect(await this.owned.inspect(id));
    const extended = this.expiryWrites.get(id)?.expiresAt ?? (await extension);
    return extended ? { ...info, expiresAt: extended } : info;
  }

  async list(): Promise<SandboxInfo[]> {
    try {
      const [sandboxes, extensions] = await Promise.all([
        listManaged(this.docker, this.namespace),
        this.expiries.all(),
      ]);
      const live = new Set(sandboxes.map((s) => s.id));
      for (const id of this.creationLeases.keys()) if (!live.has(id)) this.creationLeases.delete(id); // removed elsewhere
      if ([...extensions.keys()].some((id) => !live.has(id))) void this.expiries.prune(live).catch(() => undefined);
      void this.slots.sweep().catch((err: unknown) => this.log.debug({ err }, 'network slot sweep failed'));
      for (const [id, write] of this.expiryWrites) extensions.set(id, write.expiresAt);
      return sandboxes.map((s) => (extensions.has(s.id) ? { ...s, expiresAt: extensions.get(s.id)! } : s));
    } catch (err) {
      throw mapDockerError(err);
    }
  }

  async run(id: string, spec: RunSpec): Promise<RunOutcome> {
    const agent = await this.agentFor(id);
    if (agent?.alive) {
      try {
        return await agent.run(spec);
      } catch (err) {
        if (!(err instanceof AgentUnavailable)) throw err;
      }
    }
    return this.withContainer(id, (c) => runInContainer(c, spec));
  }

  /**
   * One exec of the exec path's sweep, whichever path (agent or exec) the run took: both give its processes the
   * run's ID. It runs as the sandbox user, who can read their environments.
   */
  async killRun(id: string, runId: string): Promise<void> {
    await this.withContainer(id, (c) => killRun(c, runId, 'user'));
  }

  async writeFile(id: string, path: string, data: FileBody, options: FileOptions): Promise<WrittenFile> {
    return this.explainFileFailure(id, () => writeFile((spec) => this.run(id, spec), path, data, options));
  }

  async readFile(id: string, path: string, options: ReadOptions): Promise<Buffer | null> {
    return this.explainFileFailure(id, () =>
      readFile((spec) => this.run(id, spec), path, options.user, options.maxBytes, options.sizeHint),
    );
  }

  async readFileInto(id: string, path: string, sink: ByteSink, options: ReadOptions): Promise<boolean> {
    return this.explainFileFailure(id, () =>
      readFileInto((spec) => this.run(id, spec), path, options.user, options.maxBytes ?? 4 * 1024 * 1024, sink),
    );
  }

  /**
   * A file command that fails without saying why may have found no process slot left: the helper (or a shell it
   * forks) could not start, and what it would have said was lost with it. Such a failure is reported as the full
   * process table it is, when the sandbox is at its pids limit.
   */
  private async explainFileFailure<T>(id: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (!isSandboxError(err) || (err.code !== ErrorCode.INVALID_ARGUMENT && err.code !== ErrorCode.INTERNAL_ERROR))
        throw err;
      const full = await this.atPidsLimit(id).catch(() => false);
      throw full ? outOfProcesses() : err;
    }
  }

  /** Whether fewer process slots are left than a file command needs (its exec, shells, relays and tools). */
  private async atPidsLimit(id: string): Promise<boolean> {
    const info = await this.owned.inspect(id);
    const limit = info.HostConfig.PidsLimit ?? 0;
    if (!info.State.Running || limit <= 0) return false;
    const usage = await this.withContainer(id, (c) => readUsage(c));
    return limit - usage.pids < FILE_COMMAND_PIDS;
  }

  async usage(id: string): Promise<ResourceUsage | null> {
    const info = await this.owned.inspect(id);
    if (!info.State.Running) return null;
    return this.withContainer(id, (c) => readUsage(c));
  }

  async start(id: string): Promise<void> {
    const holder = holderOf((await this.owned.inspect(id)).HostConfig?.NetworkMode);
    await this.withContainer(id, async (c) => {
      if (holder) await this.slots.wake(holder);
      await c.start().catch((err) => {
        if ((err as { statusCode?: number }).statusCode === 304) return; // already running
        throw holder ? holderFailure(err, holder) : err;
      });
    });
  }

  /**
   * Docker enforces no lifetime: the reapers of the namespace's servers do, from what is written here. Every end
   * is honoured as asked. With `afterReturn` (a warm sandbox's claim), a sandbox made here whose creation label
   * still protects it for minutes, and whose agent shows it running, gets its end written after this returns:
   * until the write lands every reaper reads the label's later end, and the caller's record holds the new one.
   */
  async setExpiry(id: string, expiresAt: Date, options: ExpiryOptions = {}): Promise<Date> {
    const lease = this.creationLeases.get(id);
    this.creationLeases.delete(id);
    if (
      options.afterReturn &&
      lease &&
      lease.getTime() - Date.now() > WRITE_AFTER_RETURN_MARGIN_MS &&
      this.knownRunning(id)
    ) {
      this.writeExpiry(id, expiresAt, true).catch((err: unknown) =>
        this.log.warn(
          { sandboxId: id, err, expiresAt: expiresAt.toISOString(), leaseEnds: lease.toISOString() },
          "could not write a sandbox's end on the engine: servers with another state folder end it with its lease",
        ),
      );
      return expiresAt;
    }
    await this.owned.inspect(id);
    await this.writeExpiry(id, expiresAt, false).catch((err) => Promise.reject(mapDockerError(err, id)));
    return expiresAt;
  }

  knownRunning(id: string): boolean {
    return this.readyAgents.get(id)?.alive === true;
  }

  /**
   * Writes one sandbox's end after the writes of it already under way (the newest written wins, so they must land
   * in order). A write made after returning is tried once more, unless another has been asked for meanwhile.
   */
  private writeExpiry(id: string, expiresAt: Date, afterReturn: boolean): Promise<void> {
    const previous = this.expiryWrites.get(id)?.done;
    const done: Promise<void> = this.writeAfter(
      previous,
      id,
      expiresAt,
      afterReturn,
      () => this.expiryWrites.get(id)?.done === done,
    );
    this.expiryWrites.set(id, { expiresAt, done });
    const forget = () => {
      if (this.expiryWrites.get(id)?.done === done) this.expiryWrites.delete(id);
    };
    done.then(forget, forget);
    return done;
  }

  private async writeAfter(
    previous: Promise<void> | undefined,
    id: string,
    expiresAt: Date,
    afterReturn: boolean,
    newest: () => boolean,
  ): Promise<void> {
    // After returning means after the caller's next steps have started, not before them.
    if (afterReturn) await new Promise((resolve) => setImmediate(resolve));
    await previous?.catch(() => undefined);
    try {
      await this.expiries.write(id, expiresAt);
    } catch (err) {
      if (!afterReturn || !newest()) throw err;
      await new Promise((resolve) => setTimeout(resolve, WRITE_RETRY_MS));
      if (!newest()) throw err;
      await this.expiries.write(id, expiresAt);
    }
  }

  async stop(id: string): Promise<void> {
    this.dropAgent(id);
    await this.withContainer(id, async (c) => {
      await c.stop({ t: 5 }).catch((err) => {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err; // 304: already stopped
      });
      endExecStreams(c.id);
    });
  }

  /** A stop and a start: the engine kills every process (SIGKILL after a second) and keeps the container's files. */
  async restart(id: string): Promise<void> {
    this.dropAgent(id);
    const holder = holderOf((await this.owned.inspect(id)).HostConfig?.NetworkMode);
    await this.withContainer(id, async (c) => {
      await c.stop({ t: 1 }).catch((err) => {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err;
      });
      endExecStreams(c.id);
      if (holder) await this.slots.wake(holder);
      await c.start().catch((err) => Promise.reject(holder ? holderFailure(err, holder) : err));
    });
  }

  /**
   * Ports published at create come from the engine (their host port changes at every start); others get a
   * forward in this server to the container's bridge address.
   */
  async portUrls(id: string, ports: number[]): Promise<Record<string, string>> {
    const info = await this.owned.inspect(id);
    const urls: Record<string, string> = {};
    for (const port of ports) {
      const hostPort =
        publishedPort(info, port) ??
        (await this.forwards.ensure(id, port, {
          address: async () => {
            const now = await this.owned.inspect(id).catch(() => undefined);
            if (!now?.State.Running) return undefined;
            // A sandbox that joined a network slot has its holder's address.
            const holder = holderOf(now.HostConfig?.NetworkMode);
            const owner = holder
              ? await this.docker
                  .getContainer(holder)
                  .inspect()
                  .catch(() => undefined)
              : now;
            return owner ? bridgeAddress(owner) : undefined;
          },
          relay: async (client) => relayThroughExec(await this.owned.container(id), port, client),
        }));
      urls[String(port)] = `http://${urlHost(this.options.portHost ?? '127.0.0.1')}:${hostPort}`;
    }
    return urls;
  }

  async remove(id: string): Promise<Removal> {
    this.dropAgent(id);
    this.forwards.close(id);
    const holder = holderOf((await this.owned.inspect(id).catch(() => undefined))?.HostConfig?.NetworkMode);
    await this.withContainer(id, async (c) => {
      await c.remove({ force: true, v: true });
      endExecStreams(c.id);
    });
    if (holder) await this.slots.release(holder); // its namespace served this sandbox only
    this.owned.forget(id, holder);
    this.creationLeases.delete(id);
    await this.expiryWrites.get(id)?.done.catch(() => undefined);
    await this.expiries.remove(id).catch(() => undefined);
    return { resources: ['container', 'volumes'] };
  }

  watch(listener: (event: ProviderEvent) => void): void {
    const limit = this.options.diskLimitMb ?? 0;
    if (limit <= 0 || this.watchdog) return;
    const intervalMs = (this.options.diskCheckIntervalSeconds ?? 30) * 1000;
    const lease = this.options.diskWatchLeaseFile
      ? new LeaseFile(this.options.diskWatchLeaseFile, intervalMs * 3)
      : undefined;
    this.watchdog = new DiskWatchdog(
      this.docker,
      this.namespace,
      limit * 1024 * 1024,
      intervalMs,
      this.log,
      (event) => {
        this.dropAgent(event.sandboxId);
        listener(event);
      },
      lease,
    );
    this.watchdog.start();
  }

  async close(): Promise<void> {
    this.watchdog?.stop();
    await this.settleWarmUp();
    // Its spares removed, within 10 s (an engine that does not answer leaves them to another server's sweep).
    await waitAtMost(this.slots.close(), 10_000, { unref: true });
    this.forwards.close();
    for (const id of [...this.agents.keys()]) this.dropAgent(id);
    const agent = (this.docker.modem as unknown as { agent?: { destroy?: () => void } }).agent;
    agent?.destroy?.();
  }

  /**
   * Prepares the sandbox and starts its agent, on first use and again after the agent died (a stop kills it).
   * Every run waits for this. A sandbox that is not running is reported as such; an image without python3 (or a
   * provider told not to use the agent) gets null and is served by one exec per run.
   */
  private async agentFor(id: string): Promise<AgentSession | null> {
    const current = this.agents.get(id);
    if (current) {
      const session = await current.catch(() => undefined);
      if (session === null || session?.alive) return session;
      // Dead: the first caller to get here starts the next one; the others wait for it.
      const latest = this.agents.get(id);
      if (latest && latest !== current) return this.agentFor(id);
    }
    const starting: Promise<AgentSession | null> = this.owned
      .container(id)
      .then((c) =>
        this.options.agent === false
          ? prepareOnly(c)
          : AgentSession.start(c, this.log.child({ sandboxId: id }), PREPARE_SCRIPT),
      )
      .catch((err) => {
        if (err instanceof AgentUnavailable) {
          this.log.info({ sandboxId: id, reason: err.message }, 'no run agent in this sandbox; one exec per run');
          return null;
        }
        if (this.agents.get(id) === starting) this.agents.delete(id);
        throw mapDockerError(err, id);
      });
    this.agents.set(id, starting);
    this.noteReady(id, starting);
    return starting;
  }

  /**
   * The agent started with the container is the sandbox's session once ready. If none started (no python3,
   * `prepare` failed), the exec path takes over and says why.
   */
  private adoptAttached(id: string, attached: Promise<AgentSession>): void {
    const adopted: Promise<AgentSession | null> = attached.catch((err) => {
      this.log.debug({ sandboxId: id, reason: (err as Error).message }, 'no agent started with the container');
      if (this.agents.get(id) !== adopted) return null; // dropped meanwhile (stopped, removed)
      this.agents.delete(id);
      return this.agentFor(id);
    });
    this.agents.set(id, adopted);
    this.noteReady(id, adopted);
  }

  /** Remembers the session once ready, if it is still the sandbox's then. */
  private noteReady(id: string, pending: Promise<AgentSession | null>): void {
    pending.then(
      (session) => {
        if (session && this.agents.get(id) === pending) this.readyAgents.set(id, session);
      },
      () => undefined,
    );
  }

  private dropAgent(id: string): void {
    const session = this.agents.get(id);
    this.agents.delete(id);
    this.readyAgents.delete(id);
    void session?.then((s) => s?.close()).catch(() => undefined);
  }

  /** Resolves an owned container and maps the engine's failures; a vanished container is forgotten. */
  private async withContainer<T>(id: string, fn: (c: Docker.Container) => Promise<T>): Promise<T> {
    const container = await this.owned.container(id);
    try {
      return await fn(container);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) this.owned.forget(id);
      throw mapDockerError(err, id);
    }
  }
}

/** The host part of a URL: the wildcard address is reached at loopback, IPv6 addresses go in brackets. */
const urlHost = (host: string): string =>
  host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;

/** A start that failed on the holder it joins (removed between its wake and the start) says so, not "not found". */
const holderFailure = (err: unknown, holder: string): unknown =>
  engineMessage(err).includes(holder) ? slotGone(err) : err; // the engine names the container it could not join

/** Without the agent, the preparation is an exec of its own. */
async function prepareOnly(container: Docker.Container): Promise<null> {
  const outcome = await runInContainer(container, {
    argv: ['sh', '-c', PREPARE_SCRIPT],
    user: 'root',
    env: {},
    cwd: '/',
    timeoutMs: 30_000,
  });
  if (outcome.exitCode !== 0) throw new Error(PREPARE_FAILED_MESSAGE);
  return null;
}
