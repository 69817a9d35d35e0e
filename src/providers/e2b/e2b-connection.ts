import type { Sandbox } from 'e2b';

/** The SDK's Sandbox class, passed in so that tests can point it anywhere. */
export type E2BSdk = typeof Sandbox;

/** How to reach E2B: the key, and for self-hosted or test setups the domain or explicit URLs. */
export interface E2BConnection {
  apiKey: string;
  domain?: string;
  apiUrl?: string;
  sandboxUrl?: string;
}

/** The SDK's connection options, without the fields left unset (the SDK then reads its own defaults). */
export function connectionOpts(c: E2BConnection) {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as E2BConnection;
}
