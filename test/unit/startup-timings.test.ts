import { describe, expect, it } from 'vitest';
import { markStartup, startupTimings } from '../../src/startup-timings.js';

describe('start-up timings', () => {
  it("records each step once, in order, after node's own bootstrap", async () => {
    expect(markStartup('unit: first step')).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(markStartup('unit: second step')).toBe(true);
    expect(markStartup('unit: first step')).toBe(false); // a second server in the process does not move it

    const timings = startupTimings();
    const steps = Object.keys(timings);
    expect(steps[0]).toBe('node bootstrapped');
    expect(steps.indexOf('unit: second step')).toBe(steps.indexOf('unit: first step') + 1);
    const values = Object.values(timings);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(timings['unit: second step']! - timings['unit: first step']!).toBeGreaterThanOrEqual(4);
  });
});
