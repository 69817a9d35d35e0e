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
  const bindings = (info.NetworkSettings?.Ports as Record<string, Array<{ HostPort?: string }> | null> | undefined)?.[
    `${port}/tcp`
  ];
  return bindings?.find((b) => b.HostPort)?.HostPort;
}

/** How a forward reaches the sandbox: `address` (its bridge address, or none) and `relay` (through an exec). */
export interface ForwardTarget {
  address(): Promise<string | undefined>;
  relay(client: net.Socket): Promise<void>;
}

/** How long a connection to a bridge address may take before the bridge counts as out of reach. */
const BRIDGE_CONNECT_MS = 1500;

/**
 * Ports asked for after a sandbox was created cannot be published any more (the engine fixes them at create):
 * they are forwarded by a small TCP proxy in this server, listening on the port host. Each connection goes to the
 * container's bridge address where this machine reaches it (Linux engines); where it does not (Docker Desktop,
 * whose containers live in a VM, or a remote engine) it goes through an exec relay inside the container. A
 * refused connection means the bridge was reached and nothing listens there. Forwards live with this process.
 */
export class PortForwards {
  private readonly forwards = new Map<string, { server: net.Server; hostPort: number }>();
  /** Set once a bridge address timed out or was unreachable: later connections use the relay at once. */
  private bridgeOutOfReach: boolean;

  constructor(
    private readonly bindHost: string,
    private readonly log: Logger,
    /** `exec`: always relay through an exec (for tests of that path). */
    mode: 'auto' | 'exec' = 'auto',
  ) {
    this.bridgeOutOfReach = mode === 'exec';
  }

  /** The host port forwarding to `port` of the sandbox. */
  async ensure(sandboxId: string, port: number, target: ForwardTarget): Promise<number> {
    const key = `${sandboxId}:${port}`;
    const known = this.forwards.get(key);
    if (known) return known.hostPort;
    const server = net.createServer((client) => {
      client.pause();
      this.connect(client, port, target).catch((err: unknown) => {
        this.log.debug({ sandboxId, port, err }, 'port forward: connection failed');
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

  private async connect(client: net.Socket, port: number, target: ForwardTarget): Promise<void> {
    const address = this.bridgeOutOfReach ? undefined : await target.address();
    if (address) {
      try {
        const upstream = await connectWithin(address, port, BRIDGE_CONNECT_MS);
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.resume();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') throw err;
        this.bridgeOutOfReach = true;
        this.log.info(
          { address, err },
          'container bridge addresses are out of reach; port forwards go through exec relays',
        );
      }
    }
    await target.relay(client);
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

function connectWithin(host: string, port: number, ms: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connecting to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
