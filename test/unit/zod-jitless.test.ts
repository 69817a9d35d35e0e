import { z } from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** How many functions zod compiles (`new Function`) while it parses `input` with `schema` for the first time. */
function compiledWhileParsing(schema: z.ZodType, input: unknown): number {
  const spy = vi.spyOn(globalThis, 'Function');
  try {
    schema.parse(input);
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

const callSchema = () =>
  z.object({ sandbox_id: z.string().min(1), timeout: z.number().int().max(60).optional() }).strict();
const call = { sandbox_id: 'a', timeout: 5 };

describe('src/zod-jitless.ts', () => {
  afterEach(() => {
    z.config({ jitless: false });
  });

  it('makes zod parse without compiling schemas; schemas still parse and refuse as before', async () => {
    z.config({ jitless: false });
    expect(compiledWhileParsing(callSchema(), call)).toBeGreaterThan(0); // zod's default: what this changes

    // zod is loaded already here; in the bundle the setting comes first (src/start-first.ts). Both must work.
    await import('../../src/zod-jitless.js');
    expect(z.config().jitless).toBe(true);
    expect(compiledWhileParsing(callSchema(), call)).toBe(0);

    const schema = callSchema();
    expect(schema.parse(call)).toEqual(call);
    expect(schema.safeParse({ sandbox_id: '', timeout: 61 }).error?.issues.map((i) => i.path.join('.'))).toEqual([
      'sandbox_id',
      'timeout',
    ]);
  });
});
