import { Labels } from '../../labels.js';

/** The engine-side filter for every sandbox of any server (label syntax of the Docker Engine API). */
export const MANAGED_FILTER = { label: [`${Labels.managed}=true`] };

/** The engine-side filter for a namespace's sandboxes. */
export const namespaceFilter = (namespace: string) => ({
  label: [`${Labels.managed}=true`, `${Labels.namespace}=${namespace}`],
});
