import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { ErrorCode, SandboxError } from '../../errors.js';
import { LABEL_PREFIX, Labels } from '../../labels.js';
import type { Logger } from '../../logger.js';
import type { NetworkAllowance } from '../../network-allowances.js';
import { filterScript, networkNames, showRulesScript, type NetworkNames } from './network-policy.js';
import { waitAtMost } from '../../util/wait-at-most.js';

export interface SandboxNetworkOptions {
  allow: NetworkAllowance[];
  /** false: sandboxes join the network but no filter is installed (SANDBOX_NETWORK_FILTER=off). */
  filter: boolean;
}

/** Finds the engine's process and runs the script ($1) in its mount and network namespaces. */
const ENTER_ENGINE_NAMESPACES = [
  'target=1',
  'for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = dockerd ] && { target=${d#/proc/}; break; }; done',
  'exec nsenter -t "$target" -m -n -- sh -c "$1"',
].join('\n');

/** Marks the short-lived container that installs the filter; it carries no sandbox ID, so it is never a sandbox. */
const HELPER_LABEL = `${LABEL_PREFIX}.helper`;

/**
 * The network sandboxes with `network: "bridge"` join: a bridge of the server's own, labelled, with inter-container
 * traffic off, and a packet filter on the engine host that keeps sandboxes away from the host and from private and
 * link-local ranges (see network-policy.ts). Made on first use; the filter is (re)installed once per server process,
 * before its first sandbox, so a host whose rules were lost (reboot) gets them back.
 */
export class SandboxNetwork {
  readonly names: NetworkNames;
  private ready?: Promise<string>;

  constructor(
    private readonly docker: Docker,
    private readonly options: SandboxNetworkOptions,
    private readonly log: Logger,
  ) {
    this.names = networkNames(options.allow);
  }

  /** The network's name, once it exists and is filtered; `image` runs the filter's installer (it has nsenter). */
  ensure(image: string): Promise<string> {
    this.ready ??= this.setUp(image).catch((err) => {
      this.ready = undefined; // try again on the next create
      throw err;
    });
    return this.ready;
  }

  /** The set-up under way or done, settled either way (a server leaving in its middle would leave its helper). */
  settled(): Promise<void> {
    return (this.ready ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Checks the network and the filter again before the next sandbox (the network was removed, say). */
  forget(): void {
    this.ready = undefined;
  }

  private async setUp(image: string): Promise<string> {
    await this.ensureNetwork();
    if (!this.options.filter) {
      this.log.warn(
        { network: this.names.network },
        'SANDBOX_NETWORK_FILTER=off: sandboxes can reach the engine host and private networks',
      );
      return this.names.network;
    }
    void this.removeLeftHelpers();
    try {
      const out = await this.onEngineHost(image, filterScript(this.names, this.options.allow));
      this.log.info(
        { network: this.names.network, bridge: this.names.bridge, detail: out.trim() },
        'sandbox network filter installed',
      );
    } catch (err) {
      this.log.error({ err, network: this.names.network }, 'could not install the sandbox network filter');
      throw new SandboxError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        'Could not install the network filter that keeps sandboxes away from the engine host and private networks.',
        'The server runs a short privileged container on the engine host to set iptables rules; check the server log. Use network "none", or set SANDBOX_NETWORK_FILTER=off to accept sandboxes without the filter.',
        { cause: err },
      );
    }
    return this.names.network;
  }

  private async ensureNetwork(): Promise<void> {
    const existing = await this.docker
      .getNetwork(this.names.network)
      .inspect()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) return undefined;
        throw err;
      });
    if (existing) {
      if (existing.Labels?.[Labels.managed] !== 'true')
        throw new Error(`network ${this.names.network} exists but was not made by sandbox-mcp`);
      return;
    }
    await this.docker
      .createNetwork({
        Name: this.names.network,
        Driver: 'bridge',
        CheckDuplicate: true,
        EnableIPv6: false,
        Labels: {
          [Labels.managed]: 'true',
          [`${LABEL_PREFIX}.network-policy`]: this.options.allow.map((a) => `${a.target}:${a.port ?? '*'}`).join(','),
        },
        Options: {
          'com.docker.network.bridge.name': this.names.bridge,
          'com.docker.network.bridge.enable_icc': 'false',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
        },
      })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 409) throw err; // 409: another server made it first
      });
    this.log.info({ network: this.names.network }, 'sandbox network created');
  }

  /**
   * Removes the filter's helpers that servers killed in their middle left behind: those exited over 10 s ago (a
   * live server removes its own within seconds of its exit, and may still be waiting for it until then), and those
   * created over a minute ago and never started. Running ones belong to a set-up under way.
   */
  private async removeLeftHelpers(): Promise<void> {
    try {
      const helpers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${HELPER_LABEL}=network-filter`], status: ['created', 'exited'] },
      });
      for (const h of helpers) {
        const container = this.docker.getContainer(h.Id);
        if (h.State === 'created') {
          if (h.Created > Date.now() / 1000 - 60) continue;
        } else {
          const finished = Date.parse((await container.inspect()).State.FinishedAt);
          if (!(finished < Date.now() - 10_000)) continue;
        }
        await container.remove({ force: true }).catch(() => undefined);
      }
    } catch (err) {
      this.log.debug({ err }, 'could not look for network filter helpers left behind');
    }
  }

  /** The filter's rules as installed on the engine host (iptables -S). */
  installedRules(image: string): Promise<string> {
    return this.onEngineHost(image, showRulesScript(this.names));
  }

  /**
   * Runs a script in the engine's own mount and network namespaces (those of the dockerd process, else PID 1),
   * through a short-lived container in the host's PID namespace with the capabilities nsenter and iptables need.
   * This reaches the machine that runs the engine whatever DOCKER_HOST points at (a remote engine, Docker Desktop's
   * VM, rootless Docker's namespace) and needs no privilege for the server process itself.
   */
  private async onEngineHost(image: string, script: string): Promise<string> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const ended = new Promise<void>((resolve) => out.once('end', resolve));
    const [result, container] = (await this.docker.run(
      image,
      ['-c', ENTER_ENGINE_NAMESPACES, 'sandbox-mcp-network', script],
      [out, out],
      {
        Entrypoint: ['sh'],
        User: '0:0',
        Labels: { [HELPER_LABEL]: 'network-filter' },
        Tty: false,
        HostConfig: {
          PidMode: 'host',
          NetworkMode: 'host',
          // setns into another process's namespaces (SYS_ADMIN, SYS_PTRACE), firewall rules (NET_ADMIN, NET_RAW).
          CapAdd: ['SYS_ADMIN', 'SYS_PTRACE', 'NET_ADMIN', 'NET_RAW'],
          SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
          Runtime: 'runc', // gVisor, if it is the default, cannot enter the host's namespaces
          AutoRemove: false,
        },
      },
    )) as [{ StatusCode: number }, Docker.Container];
    await waitAtMost(ended, 5000, { unref: true }); // the last output may trail the exit
    await container.remove({ force: true }).catch(() => undefined);
    if (result.StatusCode !== 0) throw new Error(`exit ${result.StatusCode}: ${text.slice(-2000)}`);
    return text;
  }
}
