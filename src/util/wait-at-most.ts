/**
 * Waits for `work` to settle, but no longer than `ms`: true if it settled in time (a rejection counts: whoever
 * waits this way does not act on the outcome). The timer is cleared when `work` wins; with `unref` it does not
 * keep the process alive by itself either (waits at shutdown).
 */
export async function waitAtMost(
  work: Promise<unknown>,
  ms: number,
  options: { unref?: boolean } = {},
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    if (options.unref) timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
