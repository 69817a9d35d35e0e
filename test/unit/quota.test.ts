import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { Quota } from '../../src/sandbox/quota.js';

describe('Quota', () => {
  it('lets concurrent creates reserve only the places left, and refuses the rest with QUOTA_EXCEEDED', async () => {
    const quota = new Quota(3, 'ns', async () => 1);
    const results = await Promise.allSettled([quota.reserve(), quota.reserve(), quota.reserve()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('gives a place back once per handle, however often the handle is called', async () => {
    const quota = new Quota(2, 'ns', async () => 0);
    const first = await quota.reserve();
    await quota.reserve();
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    first();
    first();
    await quota.reserve(); // the one place given back
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('counts a held sandbox (a claimed warm one) until it is released', async () => {
    const quota = new Quota(1, 'ns', async () => 0);
    const release = quota.hold();
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    release();
    await expect(quota.reserve()).resolves.toBeTypeOf('function');
  });
});
