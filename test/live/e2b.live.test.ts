import { describe } from 'vitest';
import { Sandbox } from 'e2b';
import { silentLogger } from '../../src/logger.js';
import { E2BProvider } from '../../src/providers/e2b/e2b-provider.js';
import { baseSpec, runProviderContract } from '../contract/provider-contract.js';

// The contract against E2B's real cloud, when a key is given (it creates and kills real sandboxes).
const key = process.env.E2B_API_KEY;
if (key && !process.env.E2B_API_URL) {
  describe('e2b live', () => {
    runProviderContract('e2b (live cloud)', async () => ({
      provider: new E2BProvider(Sandbox, { apiKey: key, domain: process.env.E2B_DOMAIN }, silentLogger()),
      spec: (overrides) =>
        baseSpec({ sources: { e2b: { template: process.env.E2B_TEST_TEMPLATE ?? 'base' } }, ...overrides }),
    }));
  });
} else {
  describe.skip("e2b live [skipped: set E2B_API_KEY (and no E2B_API_URL) to run the contract against E2B's cloud]", () => {
    runProviderContract('e2b (live cloud)', async () => {
      throw new Error('not run');
    });
  });
}
