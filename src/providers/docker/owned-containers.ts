import type Docker from 'dockerode';
import { notFound } from '../../errors.js';
import { isSandboxId } from '../../ids.js';
import { Labels, isManaged, namespaceOf } from '../../labels.js';
import { infoFromLabels } from '../shared/sandbox-labels.js';
import type { SandboxInfo } from '../provider.js';
import { mapDockerError } from './docker-errors.js';
import { isolationMismatch } from './trusted-isolation.js';
import { holderOf, slotHolderMismatch } from './network-slots.js';
import type { Logger } from '../../logger.js';

export const containerName = (sandboxId: string): string => `sandbox-mcp-${sandboxId}`;

/**
 * Resolves sandbox IDs to containers this server's namespace made, and nothing else: the ID must have our shape
 * and the container must carry our labels with that ID and the namespace. Verified container IDs are remembered (labels are immutable),
 * so the exec hot path does not inspect again.
 */
export class OwnedContainers {
  private readonly verified = new Map<string, string>();
  /** Network slot holders found to be this namespace's (by container ID). */
  private readonly trustedHolders = new Set<string>();

  constructor(
    private readonly docker: Docker,
    private readonly namespace: string,
    private readonly log?: Logger,
  ) {}

  async inspect(sandboxId: string): Promise<Docker.ContainerInspectInfo> {
    if (!isSandboxId(sandboxId)) throw notFound(sandboxId);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(this.verified.get(sandboxId) ?? containerName(sandboxId)).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) this.verified.delete(sandboxId);
      throw mapDockerError(err, sandboxId);
    }
    const labels = info.Config?.Labels ?? {};
    // Another namespace's sandbox (another OS user's server) is as good as absent.
    if (!isManaged(labels) || labels[Labels.id] !== sandboxId || namespaceOf(labels) !== this.namespace)
      throw notFound(sandboxId);
    const holder = holderOf(info.HostConfig?.NetworkMode);
    const mismatch = isolationMismatch(info, holder !== undefined) ?? (holder && (await this.holderMismatch(holder)));
    if (mismatch) {
      this.log?.warn(
        { sandboxId, container: info.Id, reason: mismatch },
        'container carries sandbox labels but not sandbox isolation; not touching it',
      );
      throw notFound(sandboxId);
    }
    this.verified.set(sandboxId, info.Id);
    return info;
  }

  /**
   * Why the container whose network namespace a sandbox joins is not a network slot of this namespace, if it is
   * not. One that is gone shares nothing (the sandbox has no network until it is removed).
   */
  private async holderMismatch(holderId: string): Promise<string | undefined> {
    if (this.trustedHolders.has(holderId)) return undefined; // a container's labels and settings never change
    const holder = await this.docker
      .getContainer(holderId)
      .inspect()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) return undefined;
        throw mapDockerError(err);
      });
    const mismatch = holder && slotHolderMismatch(holder, this.namespace, holderId);
    if (holder && !mismatch) this.trustedHolders.add(holderId);
    return mismatch;
  }

  /** A handle on the sandbox's container, inspecting only the first time. */
  async container(sandboxId: string): Promise<Docker.Container> {
    const known = this.verified.get(sandboxId);
    if (known) return this.docker.getContainer(known);
    const info = await this.inspect(sandboxId);
    return this.docker.getContainer(info.Id);
  }

  /** Forgets a removed sandbox, and the network slot holder removed with it. */
  forget(sandboxId: string, holderId?: string): void {
    this.verified.delete(sandboxId);
    if (holderId) this.trustedHolders.delete(holderId);
  }
}

export const infoFromInspect = (info: Docker.ContainerInspectInfo): SandboxInfo =>
  infoFromLabels(
    info.Config.Labels ?? {},
    info.State.Running && !info.State.Paused,
    new Date(info.Created),
    info.State.StartedAt,
  );
