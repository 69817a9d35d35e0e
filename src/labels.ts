/** Labels on every container, volume and network this server makes; it touches nothing without them. */
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
} as const;

export const MANAGED_FILTER = { label: [`${Labels.managed}=true`] };

export const isManaged = (labels: Record<string, string> | undefined | null): boolean =>
  labels?.[Labels.managed] === 'true' && typeof labels[Labels.id] === 'string';
