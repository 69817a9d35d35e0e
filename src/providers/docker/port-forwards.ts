import net from 'node:net';
import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';

/** A container's address on its bridge network, asked of the engine (it may change when the container restarts). */
export const bridgeAddress = (info: Docker.ContainerInspectInfo): string | undefined => {
  const networks = Object.values(info.NetworkSettings?.Networks ?? {});
  return networks.find((n) => n.IPAddress)?.IPAddress || undefined;
};

/** The host port the engine published for a container port, if it did. */
export function publishedPort(info: Docker.ContainerInspectInfo, port: number): string | undefined {
  const bindings = (info.NetworkSettings?.Ports as Record<string, Array<{ HostPort?: string }> | null> | undefined)?.[`${port}/tcp`];
  return bindings?.find((b) => b.HostPort)?.HostPort;
}

interface Forward {
  server: net.Server;
  hostPort: number;
}

/**
 * Ports asked for after a sandbox was created cannot be published any more (the engine fixes them at create):
 * they are forwarded by a small TCP proxy in this server, listening on the port host and connecting to the
 * container's bridge address. That address is reachable from the machine running the engine (Linux engines),
 * not from a Docker Desktop host, whose engine runs in a VM. Forwards live as long as this server process.
 */
export class PortForwards {
  private readonly forwards = new Map<string, Forward>();

  constructor(
    private readonly bindHost: string,
    private readonly log: Logger,
  ) {}

  /** The host port forwarding to `port` of the sandbox; `target` is asked again for every connection. */
  async ensure(sandboxId: string, port: number, target: () => Promise<string | undefined>): Promise<number> {
    const key = `${sandboxId}:${port}`;
    const known = this.forwards.get(key);
    if (known) return known.hostPort;
    const server = net.createServer((client) => {
      client.pause();
      target()
        .then((address) => {
          if (!address) throw new Error('the sandbox has no network address (stopped, or network "none")');
          const upstream = net.connect({ host: address, port });
          upstream.on('connect', () => client.resume());
          client.pipe(upstream).pipe(client);
          upstream.on('error', () => client.destroy());
          client.on('error', () => upstream.destroy());
        })
        .catch((err: unknown) => {
          this.log.debug({ sandboxId, port, err }, 'port forward: no target');
          client.destroy();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.bindHost, () => resolve());
    });
    server.unref();
    const hostPort = (server.address() as net.AddressInfo).port;
    this.forwards.set(key, { server, hostPort });
    this.log.debug({ sandboxId, port, hostPort }, 'port forward started');
    return hostPort;
  }

  /** Closes the forwards of one sandbox (deleted), or all of them. */
  close(sandboxId?: string): void {
    for (const [key, f] of this.forwards) {
      if (sandboxId && !key.startsWith(`${sandboxId}:`)) continue;
      f.server.close();
      this.forwards.delete(key);
    }
  }
}
