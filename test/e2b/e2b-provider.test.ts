import { Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { newSandboxId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import { E2BProvider } from '../../src/providers/e2b/e2b-provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { PLANS, startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';

// The real SDK over the wire to the fake E2B (local runtime: commands run as host processes in a temporary
// folder, which is enough for the API behaviour checked here; the contract suite uses the Docker runtime).
describe('e2b provider: errors and lifecycle over the wire', () => {
  let fake: FakeE2B;
  let provider: E2BProvider;
  const made: string[] = [];

  const create = async (overrides = {}) => {
    const spec = baseSpec({ sources: { e2b: { template: 'base' } }, ...overrides });
    made.push(spec.id);
    await provider.create(spec);
    return spec;
  };
  const run = (id: string, script: string, timeoutMs = 20_000) =>
    provider.run(id, { argv: ['sh', '-c', script], user: 'user', env: {}, cwd: '/', timeoutMs });

  beforeAll(async () => {
    fake = await startFakeE2B({ pageSize: 2 });
    provider = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger());
  });
  afterAll(async () => {
    for (const id of made) await provider.remove(id).catch(() => undefined);
    await fake.close();
  });

  it('stamps our metadata and the lifetime on the sandbox it creates', async () => {
    const spec = await create({ expiresAt: new Date(Date.now() + 120_000), network: 'none' });
    const sandbox = [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === spec.id)!;
    expect(sandbox.metadata['dev.sandbox-mcp.managed']).toBe('true');
    expect(sandbox.endAt.getTime() - Date.now()).toBeGreaterThan(100_000);
    expect(sandbox.endAt.getTime() - Date.now()).toBeLessThanOrEqual(121_000);
    expect((await provider.get(spec.id)).state).toBe('running');
  });

  it('lists only sandboxes with our metadata, across pages', async () => {
    await create();
    await create();
    const foreign = await Sandbox.create({ ...fake.connectionOpts, metadata: { owner: 'someone else' } });
    const ids = (await provider.list()).map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(made));
    expect(ids).toHaveLength(made.length);
    await expect(provider.get(newSandboxId())).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    await foreign.kill();
  });

  it('returns a non-zero exit as an outcome and kills a run that outlives its timeout', async () => {
    const { id } = await create();
    expect((await run(id, 'exit 3')).exitCode).toBe(3);
    const killed = await run(id, 'echo going; sleep 30', 1000);
    expect(killed).toMatchObject({ timedOut: true, exitCode: null });
  });

  it('pauses on stop, refuses runs while paused, and resumes with its files on start', async () => {
    const { id } = await create();
    // Through the SDK's file API: the local runtime translates its paths (not those inside commands).
    const e2bId = [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === id)!.sandboxId;
    await (await Sandbox.connect(e2bId, fake.connectionOpts)).files.write('/home/user/kept.txt', 'kept');
    await provider.stop(id);
    await provider.stop(id);
    expect((await provider.get(id)).state).toBe('stopped');
    await expect(run(id, 'true')).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_RUNNING });
    await provider.start(id);
    expect((await provider.readFile(id, '/home/user/kept.txt', { user: 'user' }))?.toString()).toBe('kept');
  });

  it('moves the end of the lifetime with setExpiry', async () => {
    const spec = await create();
    const at = new Date(Date.now() + 3_600_000);
    await provider.setExpiry(spec.id, at);
    const sandbox = [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === spec.id)!;
    expect(Math.abs(sandbox.endAt.getTime() - at.getTime())).toBeLessThan(2000);
  });

  it('answers SANDBOX_NOT_FOUND for a sandbox killed behind its back', async () => {
    const { id } = await create();
    await run(id, 'true');
    const e2bId = [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === id)!.sandboxId;
    await Sandbox.kill(e2bId, fake.connectionOpts);
    await expect(run(id, 'true')).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    await expect(provider.get(id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    await expect(provider.remove(id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
  });

  it('says it removed the sandbox, and cannot choose CPU cores or memory (the template fixes them)', async () => {
    const { id } = await create();
    expect(await provider.remove(id)).toEqual({ resources: ['sandbox'] });
    expect(provider.capabilities).toEqual({ cpus: false, memory: false });
  });

  it('maps a bad key to PERMISSION_DENIED naming E2B_API_KEY', async () => {
    const wrong = new E2BProvider(Sandbox, { ...fake.connectionOpts, apiKey: 'e2b_wrong' }, silentLogger());
    await expect(wrong.ping()).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED,
      hint: expect.stringMatching(/E2B_API_KEY/),
    });
  });

  it('maps 429 to RATE_LIMITED and 503 to PROVIDER_UNAVAILABLE', async () => {
    fake.failNext(429);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
    fake.failNext(503);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
  });

  it('maps an unreachable API to PROVIDER_UNAVAILABLE', async () => {
    const nowhere = new E2BProvider(
      Sandbox,
      { apiKey: fake.apiKey, apiUrl: 'http://127.0.0.1:9', sandboxUrl: 'http://127.0.0.1:9' },
      silentLogger(),
    );
    await expect(nowhere.ping()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
  });
});

// What real E2B does that a naive reading of the SDK misses (issue 8), on each plan the fake offers.
describe.each(Object.values(PLANS))('e2b provider against E2B as it is, on the $name plan', (plan) => {
  let fake: FakeE2B;
  let provider: E2BProvider;
  const made: string[] = [];
  const maxMs = plan.maxLengthHours * 3600_000;
  const e2bOf = (id: string) =>
    [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === id)!;
  const create = async (overrides = {}) => {
    const spec = baseSpec({
      sources: { e2b: { template: 'base' } },
      expiresAt: new Date(Date.now() + 600_000),
      ...overrides,
    });
    made.push(spec.id);
    await provider.create(spec);
    return spec;
  };

  beforeAll(async () => {
    fake = await startFakeE2B({ plan: plan.name });
    provider = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger());
  });
  afterAll(async () => {
    for (const id of made) await provider.remove(id).catch(() => undefined);
    await fake.close();
  });

  it(`refuses a lifetime above ${plan.maxLengthHours} h at create as INVALID_ARGUMENT naming the plan's cap`, async () => {
    const refused = create({ expiresAt: new Date(Date.now() + maxMs + 60_000) });
    await expect(refused).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
      hint: expect.stringMatching(/plan/),
    });
    await create({ expiresAt: new Date(Date.now() + maxMs - 60_000) });
  });

  it("reports the end E2B will honour when a longer lifetime is asked for later (capped from the sandbox's start)", async () => {
    const { id } = await create();
    const { startedAt } = e2bOf(id);
    const honoured = await provider.setExpiry(id, new Date(Date.now() + maxMs + 3600_000));
    expect(Math.abs(honoured.getTime() - (startedAt.getTime() + maxMs))).toBeLessThan(2000);
    expect(Math.abs(e2bOf(id).endAt.getTime() - honoured.getTime())).toBeLessThan(1000);
    const shorter = new Date(Date.now() + 120_000);
    expect((await provider.setExpiry(id, shorter)).getTime()).toBe(shorter.getTime());
  });

  it('maps an unknown template to TEMPLATE_NOT_FOUND and other statuses to what they mean', async () => {
    await expect(create({ sources: { e2b: { template: 'no-such-template' } } })).rejects.toMatchObject({
      code: ErrorCode.TEMPLATE_NOT_FOUND,
    });
    fake.failNext(400);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    fake.failNext(403);
    await expect(provider.list()).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED,
      hint: expect.stringMatching(/E2B_API_KEY/),
    });
    const { id } = await create();
    await provider.get(id); // remembered: the next call is getInfo
    fake.failNext(409);
    await expect(provider.get(id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_RUNNING });
  });

  it(`answers QUOTA_EXCEEDED, not a rate limit, when the account already runs ${plan.concurrentSandboxes} sandboxes`, async () => {
    const { id: stopped } = await create();
    await provider.stop(stopped);
    const running = [...fake.sandboxes.values()].filter((s) => s.state === 'running').length;
    const others = await Promise.all(
      Array.from({ length: plan.concurrentSandboxes - running }, () => Sandbox.create(fake.connectionOpts)),
    );
    try {
      await expect(create()).rejects.toMatchObject({
        code: ErrorCode.QUOTA_EXCEEDED,
        hint: expect.stringMatching(/sandbox_delete/),
      });
      await expect(provider.start(stopped)).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    } finally {
      await Promise.all(others.map((s) => s.kill()));
    }
    fake.failNext(429);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
  });

  it('says CPU and memory are not sampled yet on a fresh sandbox, and reports them once E2B has sampled', async () => {
    const { id } = await create();
    expect(await provider.usage(id)).toMatchObject({ sampled: false, cpuPercent: 0, memoryUsedBytes: 0 });
    let usage = await provider.usage(id);
    for (let i = 0; i < 100 && usage?.sampled === false; i++) {
      await new Promise((r) => setTimeout(r, 200));
      usage = await provider.usage(id);
    }
    expect(usage).toMatchObject({ sampled: true });
    expect(usage!.memoryUsedBytes).toBeGreaterThan(0);
  });

  it("never moves a running sandbox's lifetime by connecting to it", async () => {
    const { id } = await create({ expiresAt: new Date(Date.now() + 60_000) });
    const endAt = e2bOf(id).endAt.getTime();
    const another = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger()); // knows no connection yet
    expect(
      (await another.run(id, { argv: ['true'], user: 'user', env: {}, cwd: '/', timeoutMs: 10_000 })).exitCode,
    ).toBe(0);
    expect(e2bOf(id).endAt.getTime()).toBe(endAt);
  });

  it("sees only its own namespace's sandboxes, in list and in every call", async () => {
    const { id } = await create();
    const ours = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger(), baseSpec().namespace);
    const theirs = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger(), 'someone-else');
    expect((await ours.list()).map((s) => s.id)).toContain(id);
    expect((await theirs.list()).map((s) => s.id)).not.toContain(id);
    await expect(theirs.get(id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    await expect(
      theirs.run(id, { argv: ['true'], user: 'user', env: {}, cwd: '/', timeoutMs: 10_000 }),
    ).rejects.toMatchObject({
      code: ErrorCode.SANDBOX_NOT_FOUND,
    });
    await expect(theirs.remove(id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    expect((await ours.get(id)).state).toBe('running');
  });

  it('does not resume a sandbox that was stopped between its check and the connect', async () => {
    const { id } = await create();
    fake.beforeNextConnect((s) => fake.pause(s.sandboxId));
    const another = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger());
    await expect(
      another.run(id, { argv: ['true'], user: 'user', env: {}, cwd: '/', timeoutMs: 10_000 }),
    ).rejects.toMatchObject({
      code: ErrorCode.SANDBOX_NOT_RUNNING,
    });
    expect(e2bOf(id).state).toBe('paused');
    expect((await provider.get(id)).state).toBe('stopped');
  });
});
