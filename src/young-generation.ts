import v8 from 'node:v8';

/**
 * Keeps V8's young generation at its initial size (two 1 MB semi-spaces) instead of letting it grow to 2 x 16 MB
 * under load: the server's allocations are short-lived and small, and this keeps its resident memory near 70 MB
 * without the `--max-semi-space-size` flag users had to add. The semi-space maximum is read once when the heap is
 * made, but the growth factor is read each time the young generation would grow, so setting it here still works.
 * A flag of the user's own (node --max-semi-space-size=..., NODE_OPTIONS) wins. It is its own entry point in the
 * build, so that it runs before any other module is loaded (see tsup.config.ts).
 */
const userChoseSemiSpace = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
  /semi[-_]space/.test(flag),
);
if (!userChoseSemiSpace) v8.setFlagsFromString('--semi-space-growth-factor=1');
