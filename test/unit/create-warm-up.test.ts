import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { DeferredProvider } from '../../src/providers/deferred-provider.js';
import type { NetworkMode, SandboxSources } from '../../src/providers/provider.js';
import { SandboxService, WARM_UP_DELAY_MS } from '../../src/sandbox/sandbox-service.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { testConfig } from '../helpers/test-config.js';

describe("a server's warm-up", () => {
  it("asks the backend to get ready for the templates' sources and the default network when it starts", async () => {
    const fake = new FakeProvider();
    const hints: Array<{ sources: SandboxSources[]; network: NetworkMode }> = [];
    Object.assign(fake, { warmUp: async (hint: (typeof hints)[number]) => void hints.push(hint) });
    const service = new SandboxService(
      testConfig({ SANDBOX_IMAGE: 'example/image:1', SANDBOX_NETWORK: 'none' }),
      fake,
      silentLogger(),
    );
    expect(hints).toHaveLength(0); // nothing before the server's background work starts
    vi.useFakeTimers();
    try {
      service.startBackgroundWork();
      expect(hints).toHaveLength(0); // nor during the client's first exchanges
      await vi.advanceTimersByTimeAsync(WARM_UP_DELAY_MS);
    } finally {
      vi.useRealTimers();
    }
    await service.close();
    expect(hints).toHaveLength(1);
    expect(hints[0]!.network).toBe('none');
    expect(hints[0]!.sources.length).toBeGreaterThan(1); // every template's
    expect(hints[0]!.sources.every((s) => s.docker?.image === 'example/image:1')).toBe(true);
  });

  it('reaches the backend through the provider that stands in while it loads', async () => {
    const fake = new FakeProvider();
    const hints: unknown[] = [];
    Object.assign(fake, { warmUp: async (hint: unknown) => void hints.push(hint) });
    const deferred = new DeferredProvider('docker', fake.capabilities, Promise.resolve(fake));
    await deferred.warmUp({ sources: [], network: 'bridge' });
    expect(hints).toEqual([{ sources: [], network: 'bridge' }]);
  });
});
