import v8 from 'node:v8';

/**
 * Whether the user set a V8 flag matching `pattern` themselves: theirs wins. On node's command line; Node allows only
 * `--max-semi-space-size` of these in NODE_OPTIONS (it refuses the other two there and does not start).
 */
const userChose = (pattern: RegExp): boolean =>
  [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) => pattern.test(flag));

/**
 * Sizes V8's heap for a server whose live data is small (about 15 MB) and whose allocations are short-lived,
 * without flags users would have to add. Both settings are read by V8 each time it resizes the heap, so setting
 * them here, before any other module is loaded, still works. It is its own entry point in the build, so that it
 * runs first (see tsup.config.ts).
 *
 * - The young generation stays at its initial size (two 1 MB semi-spaces) instead of growing to 2 x 16 MB under
 *   load (`--semi-space-growth-factor=1`).
 * - The old generation grows by 30% of what survived its last full collection, not by V8's dynamic factor (up to
 *   4x for small heaps, from the collector's speed against the program's). A smaller start-up heap otherwise made
 *   V8 grow it further under load, and the resident peak rose (docs/benchmarks.md, "Memory, how"). V8 reads
 *   `heap_growing_percent` at every limit it computes (v8/src/heap/heap-controller.cc: in
 *   `MemoryController::CalculateAllocationLimit` in Node 20's V8 11.3, in `GrowingFactor` in later ones); the limit
 *   is still at least the last size plus V8's minimum step.
 */
if (!userChose(/semi[-_]space/)) v8.setFlagsFromString('--semi-space-growth-factor=1');
if (!userChose(/heap[-_]growing[-_]percent/)) v8.setFlagsFromString('--heap-growing-percent=30');
