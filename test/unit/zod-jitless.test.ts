import { z } from 'zod';
import { describe, expect, it } from 'vitest';

describe('src/zod-jitless.ts', () => {
  it('turns off the compilation of schemas, and schemas parse and refuse as before', async () => {
    await import('../../src/zod-jitless.js');
    expect(z.config().jitless).toBe(true);
    const schema = z.object({ sandbox_id: z.string().min(1), timeout: z.number().int().max(60).optional() });
    expect(schema.parse({ sandbox_id: 'a', timeout: 5, extra: 1 })).toEqual({ sandbox_id: 'a', timeout: 5 });
    expect(schema.safeParse({ sandbox_id: '', timeout: 61 }).error?.issues.map((i) => i.path.join('.'))).toEqual([
      'sandbox_id',
      'timeout',
    ]);
  });
});
