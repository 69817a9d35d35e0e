import type { RunSpec } from '../provider.js';

/** After a kill, how long to wait for the run's output to close before giving up on it. */
export const DRAIN_AFTER_KILL_MS = 2000;

/** After a kill, how long a run still waits for its kill sweep to be done (a sweep that cannot end does not hold it). */
export const SWEEP_WAIT_MS = 15_000;

/** The run's time limit and its caller's cancellation, both ending in `kill`. */
export interface RunLimits {
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  /** The run ended: no kill any more. */
  disarm(): void;
}

/** Arms the timer and the abort listener of a run; each backend supplies its own kill. */
export function armRunLimits(spec: Pick<RunSpec, 'timeoutMs' | 'signal'>, kill: () => void): RunLimits {
  let timedOut = false;
  let cancelled = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, spec.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    kill();
  };
  if (spec.signal?.aborted) onAbort();
  else spec.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    get timedOut() {
      return timedOut;
    },
    get cancelled() {
      return cancelled;
    },
    disarm() {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    },
  };
}
