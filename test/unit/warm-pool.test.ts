import { afterEach, describe, expect, it, vi } from 'vitest';
import { reapExpired } from '../../src/sandbox/background/reaper.js';
import { WARM_LEASE_SECONDS } from '../../src/sandbox/background/warm-pool.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { connectInMemory } from '../helpers/mcp-client.js';
import { testConfig } from '../helpers/test-config.js';
import { failure, ok } from '../helpers/tool-call.js';

describe('warm pool (fake provider)', () => {
  let s: Awaited<ReturnType<typeof connectInMemory>>;
  let fake: FakeProvider;

  const start = async (env: Record<string, string>) => {
    fake = new FakeProvider();
    s = await connectInMemory(testConfig({ SANDBOX_POOL_TEMPLATES: 'python', ...env }), fake);
    s.sandboxes.ctx.pool!.start();
    await s.sandboxes.ctx.pool!.settled();
  };
  afterEach(async () => s?.close());

  it("keeps warm sandboxes that no list shows, and hands one out with the agent's name and metadata", async () => {
    const create = vi.spyOn(FakeProvider.prototype, 'create');
    await start({ SANDBOX_POOL_SIZE: '2' });
    expect(fake.sandboxes.size).toBe(2);
    // Made as warm ones: the backend may ready their first run (Docker forks its supervisor ahead).
    expect(create.mock.calls.map(([spec]) => spec.warm)).toEqual([true, true]);
    expect(ok(await s.call('sandbox_list', {})).total_count).toBe(0);
    const warmIds = [...fake.sandboxes.keys()];

    const r = await s.call('sandbox_create', {
      template: 'python',
      name: 'mine',
      metadata: { team: 'a' },
      timeout: 600,
    });
    expect(warmIds).toContain(ok(r).sandbox_id);
    expect(r.structuredContent).toMatchObject({ name: 'mine', metadata: { team: 'a' }, timeout: 600 });
    expect(Date.parse(ok(r).expires_at) - Date.parse(ok(r).created_at)).toBe(600_000);
    const listed = ok(await s.call('sandbox_list', {})).sandboxes;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      sandbox_id: ok(r).sandbox_id,
      name: 'mine',
      metadata: { team: 'a' },
    });

    await s.sandboxes.ctx.pool!.settled(); // refilled in the background
    expect(fake.sandboxes.size).toBe(3);
    // An agent's own sandboxes are not made as warm ones.
    await s.call('sandbox_create', { template: 'python', memory_mb: 256 });
    expect(create.mock.calls.map(([spec]) => spec.warm ?? false)).toEqual([true, true, true, false]);
    create.mockRestore();
  });

  it("leaves the engine to the claimed sandbox's first run for a moment before refilling", async () => {
    await start({ SANDBOX_POOL_SIZE: '2' });
    const asked = vi.spyOn(fake, 'list');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const claimed = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
      await s.call('sandbox_execute', { sandbox_id: claimed, code: 'print(1)' });
      // The refill starts by counting the sandboxes (the quota): nothing yet.
      expect(asked).not.toHaveBeenCalled();
      expect(fake.sandboxes.size).toBe(2);
      await vi.advanceTimersByTimeAsync(1000);
    } finally {
      vi.useRealTimers();
    }
    await s.sandboxes.ctx.pool!.settled();
    expect(asked).toHaveBeenCalled();
    expect(fake.sandboxes.size).toBe(3);
  });

  it('makes a new sandbox when the request asks for other resources than the warm ones have', async () => {
    await start({ SANDBOX_POOL_SIZE: '1' });
    const warm = [...fake.sandboxes.keys()];
    const r = await s.call('sandbox_create', { template: 'python', memory_mb: 300 });
    expect(warm).not.toContain(ok(r).sandbox_id);
    const other = await s.call('sandbox_create', { template: 'node' });
    expect(warm).not.toContain(ok(other).sandbox_id);
  });

  it('counts warm sandboxes against the quota, and never fills past it', async () => {
    await start({ SANDBOX_POOL_SIZE: '3', SANDBOX_MAX_SANDBOXES: '2' });
    expect(fake.sandboxes.size).toBe(2);
    expect(failure(await s.call('sandbox_create', { template: 'node' })).code).toBe('QUOTA_EXCEEDED');
    // A warm sandbox can still be handed out: it is already counted.
    expect((await s.call('sandbox_create', { template: 'python' })).isError).toBeFalsy();
  });

  it('counts a warm sandbox being made once, though the backend already lists it', async () => {
    fake = new FakeProvider();
    // The pool's sandbox is listed by the backend before its create returns (as a container is, once created).
    let finish!: () => void;
    const madeWarm = new Promise<void>((resolve) => (finish = resolve));
    const create = fake.create.bind(fake);
    vi.spyOn(fake, 'create').mockImplementation(async (spec) => {
      const info = await create(spec);
      if (spec.name === 'warm') await madeWarm;
      return info;
    });
    s = await connectInMemory(
      testConfig({ SANDBOX_POOL_TEMPLATES: 'python', SANDBOX_POOL_SIZE: '1', SANDBOX_MAX_SANDBOXES: '2' }),
      fake,
    );
    s.sandboxes.ctx.pool!.start();
    await vi.waitFor(() => expect(fake.sandboxes.size).toBe(1));
    try {
      // One sandbox exists (the warm one, still being made): one place is left.
      ok(await s.call('sandbox_create', { template: 'node' }));
    } finally {
      finish();
    }
    await s.sandboxes.ctx.pool!.settled();
  });

  it('lets the reaper remove warm sandboxes left by a server that died, once their lease ends', async () => {
    await start({ SANDBOX_POOL_SIZE: '2' });
    const kept = ok(await s.call('sandbox_create', { template: 'python', timeout: 7200 })).sandbox_id;
    await s.sandboxes.ctx.pool!.settled();
    const reaped = await reapExpired(s.sandboxes.ctx, new Date(Date.now() + (WARM_LEASE_SECONDS + 1) * 1000));
    expect(reaped).toHaveLength(2);
    expect([...fake.sandboxes.keys()]).toEqual([kept]);
  });

  it('removes its warm sandboxes when the server closes', async () => {
    await start({ SANDBOX_POOL_SIZE: '2' });
    const claimed = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
    await s.sandboxes.ctx.pool!.settled();
    await s.close();
    expect([...fake.sandboxes.keys()]).toEqual([claimed]);
  });
});
