import type Docker from 'dockerode';
import { defaultNamespace } from '../../config.js';
import { isManaged, namespaceOf } from '../../labels.js';
import { BASE_ENV, SANDBOX_HOME } from '../shared/base-env.js';
import { infoFromLabels, labelsFor } from '../shared/sandbox-labels.js';
import type { SandboxInfo, SandboxSpec } from '../provider.js';
import { engineMessage, mapDockerError } from './docker-errors.js';
import { hostConfig } from './isolation.js';
import { MANAGED_FILTER, namespaceFilter } from './label-filters.js';
import { containerName } from './owned-containers.js';
import { agentEntrypoint } from './agent/agent-entrypoint.js';

const HOME = SANDBOX_HOME;

/** Docker images know nothing of the sandbox user: its home and name come with the common environment. */
const DOCKER_ENV: Record<string, string> = { ...BASE_ENV, HOME, USER: 'user', LANG: 'C.UTF-8' };

/**
 * Gives uid 1000 a home and an account in images that lack them (official python and debian images), so user
 * code runs unprivileged in /home/user everywhere. It runs as root before the first run, with an exec'd agent's
 * start (or alone, without the agent). The agent started with the container does the same in Python
 * (AGENT_LOADER in agent/agent-entrypoint.ts): keep the two in step.
 */
export const PREPARE_SCRIPT = [
  `mkdir -p ${HOME} && { [ "$(stat -c %u ${HOME})" = 1000 ] || chown 1000:1000 ${HOME}; }`,
  `grep -q '^[^:]*:[^:]*:1000:' /etc/passwd || echo 'user:x:1000:1000:sandbox user:${HOME}:/bin/sh' >> /etc/passwd`,
  `grep -q '^[^:]*:[^:]*:1000:' /etc/group || echo 'user:x:1000:' >> /etc/group`,
].join('; ');

export interface CreateOptions {
  /** The image the container runs (the spec's Docker source, pulled or built already). */
  image: string;
  pidsLimit: number;
  /** Address published ports listen on (127.0.0.1 by default). */
  portHost?: string;
  runtime?: string;
  diskLimitMb?: number;
  /** The network `bridge` sandboxes join. */
  networkName?: string;
  /** A network slot's holder whose namespace the sandbox joins (network-slots.ts); it then publishes no ports. */
  networkSlot?: string;
  /** Run the agent as the container's command (agentEntrypoint) and call this between create and start. */
  attachAgent?: (container: Docker.Container) => Promise<void>;
}

/** The network slot a create joined could not be used (gone, or stopped): the create may go on without one. */
export class NetworkSlotUnusable extends Error {}

/** Creates and starts the container (prepared later, see PREPARE_SCRIPT); on any failure nothing is left behind. */
export async function createContainer(
  docker: Docker,
  spec: SandboxSpec,
  options: CreateOptions,
): Promise<Docker.Container> {
  const env = { ...DOCKER_ENV, ...spec.env };
  const slot = spec.network === 'bridge' && !spec.ports?.length ? options.networkSlot : undefined;
  const published = spec.network === 'none' ? [] : (spec.ports ?? []);
  let container: Docker.Container | undefined;
  let step: 'create' | 'admission' | 'start' = 'create';
  try {
    container = await docker.createContainer({
      name: containerName(spec.id),
      Image: options.image,
      // An entrypoint of our own, so images whose entrypoint expects arguments still idle (after the agent).
      ...(options.attachAgent
        ? { Entrypoint: agentEntrypoint(), Cmd: [], OpenStdin: true, StdinOnce: true }
        : { Entrypoint: ['sleep'], Cmd: ['infinity'] }),
      // The idle process runs as root so that root execs (package installs) get the kept capabilities: the engine
      // derives an exec's capabilities from the container's user. User code execs run as 1000:1000 with none.
      User: '0:0',
      WorkingDir: HOME,
      ...(slot ? {} : { Hostname: 'sandbox' }), // a joined sandbox has its holder's
      ...(published.length ? { ExposedPorts: Object.fromEntries(published.map((p) => [`${p}/tcp`, {}])) } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: labelsFor(spec),
      StopTimeout: 5,
      HostConfig: withPorts(
        hostConfig({
          cpus: spec.cpus,
          memoryMb: spec.memoryMb,
          pidsLimit: options.pidsLimit,
          network: spec.network,
          networkName: options.networkName,
          networkSlot: slot,
          runtime: options.runtime,
          maxFileBytes: (options.diskLimitMb ?? 0) * 1024 * 1024,
        }),
        published,
        options.portHost ?? '127.0.0.1',
      ),
    });
    step = 'admission';
    await spec.admission; // a refused container is removed below, never started
    await options.attachAgent?.(container);
    step = 'start';
    await container.start();
    return container;
  } catch (err) {
    if (container) await container.remove({ force: true, v: true }).catch(() => undefined);
    if (slot && step !== 'admission' && joinFailed(err, slot))
      throw new NetworkSlotUnusable('the network slot could not be joined', { cause: err });
    throw mapDockerError(err);
  }
}

/**
 * Whether a create or start failed on its network slot: the holder gone (the engine names it, or answers "no such
 * container" at the create), or not running. Anything else (the image, the runtime) would fail again without it.
 */
function joinFailed(err: unknown, holderId: string): boolean {
  const message = engineMessage(err);
  return message.includes(holderId) || /no such container|non[- ]running container|is not running/i.test(message);
}

/** Publishes each port on a random host port of the port host (the engine picks it at every start). */
function withPorts(config: Docker.HostConfig, ports: number[], host: string): Docker.HostConfig {
  if (!ports.length) return config;
  return {
    ...config,
    PortBindings: Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: host, HostPort: '' }]])),
  };
}

/** The namespace's sandboxes (containers of other namespaces are not listed). */
export async function listManaged(docker: Docker, namespace: string): Promise<SandboxInfo[]> {
  // Sandboxes made before namespaces carry none: they count as the default namespace's, so none is orphaned.
  const filters = namespace === defaultNamespace() ? MANAGED_FILTER : namespaceFilter(namespace);
  const containers = await docker.listContainers({ all: true, filters });
  return (
    containers
      // What the listing shows of isolation is checked here; everything else when the sandbox is used (owned-containers.ts).
      .filter((c) => isManaged(c.Labels) && namespaceOf(c.Labels) === namespace)
      .filter((c) => c.HostConfig?.NetworkMode !== 'host' && !(c.Mounts ?? []).some((m) => m.Type === 'bind'))
      .map((c) => infoFromLabels(c.Labels, c.State === 'running', new Date(c.Created * 1000)))
  );
}
