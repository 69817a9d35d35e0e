import type Docker from 'dockerode';
import { notFound } from '../../errors.js';
import { isSandboxId } from '../../ids.js';
import { Labels, isManaged } from '../../labels.js';
import type { NetworkMode } from '../../config.js';
import type { SandboxInfo } from '../provider.js';
import { mapDockerError } from './docker-errors.js';

export const containerName = (sandboxId: string): string => `sandbox-mcp-${sandboxId}`;

/**
 * Resolves sandbox IDs to containers this server made, and nothing else: the ID must have our shape and the
 * container must carry our labels with that ID. Verified container IDs are remembered (labels are immutable),
 * so the exec hot path does not inspect again.
 */
export class OwnedContainers {
  private readonly verified = new Map<string, string>();

  constructor(private readonly docker: Docker) {}

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
    if (!isManaged(labels) || labels[Labels.id] !== sandboxId) throw notFound(sandboxId);
    this.verified.set(sandboxId, info.Id);
    return info;
  }

  /** A handle on the sandbox's container, inspecting only the first time. */
  async container(sandboxId: string): Promise<Docker.Container> {
    const known = this.verified.get(sandboxId);
    if (known) return this.docker.getContainer(known);
    const info = await this.inspect(sandboxId);
    return this.docker.getContainer(info.Id);
  }

  forget(sandboxId: string): void {
    this.verified.delete(sandboxId);
  }
}

const date = (value: string | undefined, fallback: Date): Date => {
  const d = value ? new Date(value) : fallback;
  return Number.isNaN(d.getTime()) ? fallback : d;
};

function parseMetadata(raw: string | undefined): Record<string, string> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Sandbox facts from a container's labels and state; `running` comes from the engine. */
export function infoFromLabels(
  labels: Record<string, string>,
  running: boolean,
  fallbackCreated: Date,
  startedAt?: string,
): SandboxInfo {
  const createdAt = date(labels[Labels.createdAt], fallbackCreated);
  return {
    id: labels[Labels.id]!,
    name: labels[Labels.name] ?? labels[Labels.id]!,
    template: labels[Labels.template] ?? 'unknown',
    language: labels[Labels.language] ?? 'bash',
    state: running ? 'running' : 'stopped',
    createdAt,
    expiresAt: date(labels[Labels.expiresAt], createdAt),
    startedAt: running && startedAt ? date(startedAt, createdAt) : undefined,
    metadata: parseMetadata(labels[Labels.metadata]),
    cpus: Number(labels[Labels.cpus] ?? 1),
    memoryMb: Number(labels[Labels.memoryMb] ?? 512),
    network: (labels[Labels.network] === 'none' ? 'none' : 'bridge') as NetworkMode,
  };
}

export const infoFromInspect = (info: Docker.ContainerInspectInfo): SandboxInfo =>
  infoFromLabels(info.Config.Labels ?? {}, info.State.Running && !info.State.Paused, new Date(info.Created), info.State.StartedAt);
