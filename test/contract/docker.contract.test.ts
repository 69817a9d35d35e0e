import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { silentLogger } from '../../src/logger.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

/** SANDBOX_DOCKER_RUNTIME=runsc runs the same contract under gVisor (.ci/run does, after the default runtime). */
const runtime = process.env.SANDBOX_DOCKER_RUNTIME || undefined;

describeDocker(`docker provider${runtime ? ` (runtime ${runtime})` : ''}`, () => {
  // Runs go through the in-sandbox agent where the image has python3 (the test image has) ...
  runProviderContract('docker, runs through the agent', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256, runtime }, silentLogger()),
    spec: (overrides) => baseSpec({ sources: { docker: { image: TEST_IMAGE } }, ...overrides }),
  }));
  // ... and through one exec each where it has not: both paths must behave the same.
  runProviderContract('docker, one exec per run', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256, agent: false, runtime }, silentLogger()),
    spec: (overrides) => baseSpec({ sources: { docker: { image: TEST_IMAGE } }, ...overrides }),
  }));
});
