import { Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { newSandboxId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import { E2BProvider } from '../../src/providers/e2b/e2b-provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';

// The real SDK over the wire to the fake E2B (local runtime: commands run as host processes in a temporary
// folder, which is enough for the API behaviour checked here; the contract suite uses the Docker runtime).
describe('e2b provider: errors and lifecycle over the wire', () => {
  let fake: FakeE2B;
  let provider: E2BProvider;
  const made: string[] = [];

  const create = async (overrides = {}) => {
    const spec = baseSpec({ e2bTemplate: 'base', ...overrides });
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

  it('maps a bad key to PERMISSION_DENIED naming E2B_API_KEY', async () => {
    const wrong = new E2BProvider(Sandbox, { ...fake.connectionOpts, apiKey: 'e2b_wrong' }, silentLogger());
    await expect(wrong.ping()).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED, hint: expect.stringMatching(/E2B_API_KEY/) });
  });

  it('maps 429 to RATE_LIMITED and 503 to PROVIDER_UNAVAILABLE', async () => {
    fake.failNext(429);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
    fake.failNext(503);
    await expect(provider.list()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
  });

  it('maps an unreachable API to PROVIDER_UNAVAILABLE', async () => {
    const nowhere = new E2BProvider(Sandbox, { apiKey: fake.apiKey, apiUrl: 'http://127.0.0.1:9', sandboxUrl: 'http://127.0.0.1:9' }, silentLogger());
    await expect(nowhere.ping()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_UNAVAILABLE });
  });
});
