import { describe } from 'vitest';
import { FakeProvider } from '../helpers/fake-provider.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

// The in-memory FakeProvider that the unit tests of the tool layer stand on is held to the lifecycle and file half
// of the contract, so what those tests assume of a provider is what the real backends do.
describe('in-memory fake provider', () => {
  runProviderContract(
    'fake (in memory)',
    async () => ({ provider: new FakeProvider(), spec: (overrides) => baseSpec(overrides) }),
    { runsPrograms: false },
  );
});
