import type { ProviderCapabilities } from '../provider.js';

/** Docker applies every sandbox option: CPU cores and memory are container limits. */
export const DOCKER_CAPABILITIES: ProviderCapabilities = Object.freeze({ cpus: true, memory: true });
