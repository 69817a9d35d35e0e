import { Labels } from '../../labels.js';
import type { NetworkMode, SandboxInfo, SandboxSpec } from '../provider.js';

/**
 * A sandbox's facts as string key/values: Docker labels, E2B metadata. Written once at creation; the durable
 * store holds what changes later (expiry, a warm sandbox's name).
 */
export function labelsFor(spec: SandboxSpec): Record<string, string> {
  return {
    [Labels.managed]: 'true',
    [Labels.id]: spec.id,
    [Labels.name]: spec.name,
    [Labels.template]: spec.template,
    [Labels.language]: spec.language,
    [Labels.createdAt]: spec.createdAt.toISOString(),
    [Labels.expiresAt]: spec.expiresAt.toISOString(),
    [Labels.metadata]: JSON.stringify(spec.metadata),
    [Labels.cpus]: String(spec.cpus),
    [Labels.memoryMb]: String(spec.memoryMb),
    [Labels.network]: spec.network,
    [Labels.namespace]: spec.namespace,
  };
}

const date = (value: string | undefined, fallback: Date): Date => {
  const d = value ? new Date(value) : fallback;
  return Number.isNaN(d.getTime()) ? fallback : d;
};

/** A date label; missing or malformed gives an invalid Date, which the reaper never acts on. */
const dateOrInvalid = (value: string | undefined): Date => new Date(value ?? Number.NaN);

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
    expiresAt: dateOrInvalid(labels[Labels.expiresAt]),
    startedAt: running && startedAt ? date(startedAt, createdAt) : undefined,
    metadata: parseMetadata(labels[Labels.metadata]),
    cpus: Number(labels[Labels.cpus] ?? 1),
    memoryMb: Number(labels[Labels.memoryMb] ?? 512),
    network: (labels[Labels.network] === 'none' ? 'none' : 'bridge') as NetworkMode,
  };
}
