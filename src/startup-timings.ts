/**
 * When each step of the start-up was reached, in milliseconds since the process started (`performance.now()`),
 * logged at debug level with the first tools/list answer ("start-up timings"), so that `npm run bench` can print
 * where a start-up's time went. The first step is node's own (its bootstrap done, before any module of ours is
 * loaded); `modules evaluated` then covers loading, compiling and evaluating the bundle.
 */
const marks: Record<string, number> = { 'node bootstrapped': round(performance.nodeTiming.bootstrapComplete) };

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Records the step once; true when this call recorded it. */
export function markStartup(step: string): boolean {
  if (step in marks) return false;
  marks[step] = round(performance.now());
  return true;
}

/** The steps recorded so far, in the order they were reached. */
export function startupTimings(): Readonly<Record<string, number>> {
  return { ...marks };
}
