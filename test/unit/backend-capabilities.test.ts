import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { DeferredProvider } from '../../src/providers/deferred-provider.js';
import { capabilitiesOf } from '../../src/providers/index.js';
import type { ProviderCapabilities } from '../../src/providers/provider.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { connectInMemory } from '../helpers/mcp-client.js';
import { testConfig } from '../helpers/test-config.js';
import { errorCode, failure, ok } from '../helpers/tool-call.js';

// The policy layer refuses options the backend says it cannot apply, instead of dropping them unseen.
describe('backend capabilities (fake provider)', () => {
  let fake: FakeProvider;
  let s: Awaited<ReturnType<typeof connectInMemory>> | undefined;

  const connect = async (capabilities?: ProviderCapabilities) => {
    fake = new FakeProvider(capabilities);
    s = await connectInMemory(testConfig(), fake);
    return s;
  };
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('refuses cpus and memory_mb on a backend that cannot set them, with a hint, and makes nothing', async () => {
    const session = await connect({ cpus: false, memory: false });
    const cpus = await session.call('sandbox_create', { template: 'python', cpus: 1 });
    expect(errorCode(cpus)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(failure(cpus).message).toMatch(/cannot set cpus/);
    expect(failure(cpus).hint).toMatch(/Leave cpus out/);
    const both = await session.call('sandbox_create', { template: 'python', cpus: 1, memory_mb: 256 });
    expect(errorCode(both)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(failure(both).message).toMatch(/cpus or memory_mb/);
    expect(fake.sandboxes.size).toBe(0);
  });

  it('refuses only what the backend lacks, and creates when neither is asked for', async () => {
    const session = await connect({ cpus: true, memory: false });
    expect(errorCode(await session.call('sandbox_create', { template: 'python', memory_mb: 256 }))).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
    const withCpus = await session.call('sandbox_create', { template: 'python', cpus: 1 });
    expect(withCpus.isError).toBeFalsy();
    const plain = await session.call('sandbox_create', { template: 'python' });
    expect(plain.isError).toBeFalsy();
    expect(fake.sandboxes.size).toBe(2);
  });

  it('applies cpus and memory_mb on a backend that can', async () => {
    const session = await connect();
    const r = await session.call('sandbox_create', { template: 'python', cpus: 0.5, memory_mb: 256 });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ cpus: 0.5, memory_mb: 256 });
  });

  it('reports as cleaned what the provider says it removed, and the history', async () => {
    const session = await connect();
    const id = ok(await session.call('sandbox_create', { template: 'python' })).sandbox_id;
    const deleted = await session.call('sandbox_delete', { sandbox_id: id });
    expect(ok(deleted).resources_cleaned).toEqual(['sandbox', 'history']);
  });

  it("knows each backend's capabilities before the backend loads", () => {
    expect(capabilitiesOf('e2b')).toEqual({ cpus: false, memory: false });
    expect(capabilitiesOf('docker')).toEqual({ cpus: true, memory: true });
    const loading = new DeferredProvider('e2b', capabilitiesOf('e2b'), new Promise(() => undefined));
    expect(loading.capabilities).toEqual({ cpus: false, memory: false });
  });
});
