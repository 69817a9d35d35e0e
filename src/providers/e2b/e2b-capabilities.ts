import type { ProviderCapabilities } from '../provider.js';

/** An E2B template fixes its machine's CPU cores and memory: a sandbox cannot ask for others. */
export const E2B_CAPABILITIES: ProviderCapabilities = Object.freeze({ cpus: false, memory: false });
