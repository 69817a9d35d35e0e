import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { silentLogger } from '../../src/logger.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

describeDocker('docker provider', () => {
  // Runs go through the in-sandbox agent where the image has python3 (the test image has) ...
  runProviderContract('docker, runs through the agent', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256 }, silentLogger()),
    spec: (overrides) => baseSpec({ image: TEST_IMAGE, ...overrides }),
  }));
  // ... and through one exec each where it has not: both paths must behave the same.
  runProviderContract('docker, one exec per run', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256, agent: false }, silentLogger()),
    spec: (overrides) => baseSpec({ image: TEST_IMAGE, ...overrides }),
  }));
});
