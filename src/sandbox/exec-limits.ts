import type { Config } from '../config.js';

/** setTimeout's largest delay, about 24.8 days. */
export const MAX_TIMER_SECONDS = Math.floor(2 ** 31 / 1000) - 1;

/** The longest time limit an execution may ask for: background runs may last as long as a sandbox lives. */
export const maxExecTimeoutSeconds = (
  { exec, lifetime }: Pick<Config, 'exec' | 'lifetime'>,
  background: boolean,
): number => (background ? Math.min(lifetime.maxSeconds, MAX_TIMER_SECONDS) : exec.maxTimeoutSeconds);
