// The backends' names and network modes: plain values the configuration parses and the provider interface uses,
// kept apart so that reading the configuration does not load the provider interface.

/** The backends this server can use (SANDBOX_PROVIDER); a new one is added here and in providers/index.ts. */
export const PROVIDER_NAMES = ['docker', 'e2b'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
/** `bridge`: the sandbox reaches the internet (within the network policy); `none`: no network at all. */
export type NetworkMode = 'bridge' | 'none';
