import { defaultNamespace } from './config.js';

/**
 * Label keys on every sandbox this server makes (Docker labels, E2B metadata) and on the Docker volumes and networks
 * it owns; it touches nothing without them. Each backend's filter syntax lives with the backend.
 */
export const LABEL_PREFIX = 'dev.sandbox-mcp';

export const Labels = {
  managed: `${LABEL_PREFIX}.managed`,
  id: `${LABEL_PREFIX}.sandbox-id`,
  name: `${LABEL_PREFIX}.name`,
  template: `${LABEL_PREFIX}.template`,
  language: `${LABEL_PREFIX}.language`,
  createdAt: `${LABEL_PREFIX}.created-at`,
  expiresAt: `${LABEL_PREFIX}.expires-at`,
  metadata: `${LABEL_PREFIX}.metadata`,
  cpus: `${LABEL_PREFIX}.cpus`,
  memoryMb: `${LABEL_PREFIX}.memory-mb`,
  network: `${LABEL_PREFIX}.network`,
  /** Whose sandbox this is (SANDBOX_NAMESPACE): a server touches only its own namespace's. */
  namespace: `${LABEL_PREFIX}.namespace`,
  /** On an expiry volume: the sandbox whose lifetime it holds, and when it was written (ms). */
  expiryOf: `${LABEL_PREFIX}.expiry-of`,
  writtenAt: `${LABEL_PREFIX}.written-at`,
} as const;

export const isManaged = (labels: Record<string, string> | undefined | null): boolean =>
  labels?.[Labels.managed] === 'true' && typeof labels[Labels.id] === 'string';

/** A sandbox's namespace; one made before namespaces existed belongs to the default one of whoever serves it. */
export const namespaceOf = (labels: Record<string, string>): string => labels[Labels.namespace] ?? defaultNamespace();
