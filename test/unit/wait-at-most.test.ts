import { describe, expect, it } from 'vitest';
import { waitAtMost } from '../../src/util/wait-at-most.js';

const after = <T>(ms: number, value: T, fail = false) =>
  new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(new Error('no')) : resolve(value)), ms));

describe('waitAtMost', () => {
  it('says whether the work settled in time, and never waits past its limit', async () => {
    expect(await waitAtMost(after(10, 'done'), 1000)).toBe(true);
    expect(await waitAtMost(after(10, 'done', true), 1000)).toBe(true); // a rejection is settled, not thrown
    const started = Date.now();
    expect(await waitAtMost(new Promise(() => undefined), 50)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
