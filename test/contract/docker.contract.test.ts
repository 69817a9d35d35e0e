import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { silentLogger } from '../../src/logger.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

describeDocker('docker provider', () => {
  runProviderContract('docker', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256 }, silentLogger()),
    spec: (overrides) => baseSpec({ image: TEST_IMAGE, ...overrides }),
  }));
});
