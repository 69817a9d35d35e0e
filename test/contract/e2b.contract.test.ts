import { Sandbox } from 'e2b';
import { silentLogger } from '../../src/logger.js';
import { E2BProvider } from '../../src/providers/e2b/e2b-provider.js';
import { startFakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

// E2B's cloud is not reachable here: the real SDK talks over the wire to the fake under test/fake-e2b, whose
// sandboxes are Docker containers (so users, paths and /proc are real), hence the Docker requirement.
describeDocker('e2b provider through the real SDK', () => {
  runProviderContract('e2b (SDK over the wire to the fake E2B)', async () => {
    const fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE, pageSize: 2 });
    return {
      provider: new E2BProvider(Sandbox, fake.connectionOpts, silentLogger()),
      spec: (overrides) => baseSpec({ e2bTemplate: 'base', ...overrides }),
      cleanup: () => fake.close(),
    };
  });
});
