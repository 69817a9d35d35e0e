import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { Quota } from '../../src/sandbox/quota.js';

describe('Quota', () => {
  it('lets concurrent creates reserve only the places left, and refuses the rest with QUOTA_EXCEEDED', async () => {
    const quota = new Quota(3, 'ns', async () => ['old']);
    const results = await Promise.allSettled([quota.reserve(), quota.reserve(), quota.reserve()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('gives a place back once per handle, however often the handle is called', async () => {
    const quota = new Quota(2, 'ns', async () => []);
    const first = await quota.reserve();
    await quota.reserve();
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    first();
    first();
    await quota.reserve(); // the one place given back
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('counts a warm sandbox claimed while its listing was under way, which no other check counts', async () => {
    let answer!: (ids: string[]) => void;
    const quota = new Quota(1, 'ns', () => new Promise<string[]>((resolve) => (answer = resolve)));
    const admitted = quota.reserve('A');
    quota.hold('W'); // claimed after A's check began; listed by the time the listing answers
    answer(['W', 'A']);
    await expect(admitted).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('counts a held sandbox (a claimed warm one) until it is released', async () => {
    const quota = new Quota(1, 'ns', async () => []);
    const release = quota.hold();
    await expect(quota.reserve()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    release();
    await expect(quota.reserve()).resolves.toBeTypeOf('function');
  });

  it('does not count the sandbox it admits when the listing already shows it (made alongside the check)', async () => {
    const quota = new Quota(2, 'ns', async () => ['old', 'mine']);
    await expect(quota.reserve('mine')).resolves.toBeTypeOf('function');
  });

  it('counts a sandbox once when it is both listed and still being made here', async () => {
    const quota = new Quota(3, 'ns', async () => ['old', 'warm']);
    quota.hold('warm');
    await expect(quota.reserve('new')).resolves.toBeTypeOf('function');
    await expect(quota.reserve('third')).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
  });

  it('of two creates whose sandboxes are both listed, admits the earlier only when one place is left', async () => {
    // Both containers exist by the time the listings answer: the later counts the earlier, not the reverse.
    const quota = new Quota(2, 'ns', async () => ['old', 'a', 'b']);
    const [a, b] = await Promise.allSettled([quota.reserve('a'), quota.reserve('b')]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.QUOTA_EXCEEDED } });
  });

  it('takes the place before the listing answers, so a create started meanwhile counts it', async () => {
    let answer: (ids: string[]) => void = () => undefined;
    const listings: Array<Promise<string[]>> = [];
    const quota = new Quota(2, 'ns', () => {
      const listing = new Promise<string[]>((resolve) => (answer = resolve));
      listings.push(listing);
      return listing;
    });
    const first = quota.reserve('a');
    const firstAnswer = answer;
    const second = quota.reserve('b');
    answer(['old']); // neither container exists yet
    firstAnswer(['old']);
    await expect(first).resolves.toBeTypeOf('function');
    await expect(second).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    expect(listings).toHaveLength(2);
  });
});
