import path from 'node:path';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { DockerProviderOptions } from './docker/docker-provider.js';
import { DOCKER_CAPABILITIES } from './docker/docker-capabilities.js';
import { E2B_CAPABILITIES } from './e2b/e2b-capabilities.js';
import type { ProviderCapabilities, ProviderName, SandboxProvider } from './provider.js';

/** What each backend can apply, known without loading it (the policy layer checks requests against it). */
export const capabilitiesOf = (name: ProviderName): ProviderCapabilities =>
  ({ docker: DOCKER_CAPABILITIES, e2b: E2B_CAPABILITIES })[name];

/** The Docker provider's settings from the configuration. */
export const dockerOptions = (config: Config): DockerProviderOptions => ({
  pidsLimit: config.limits.pids,
  namespace: config.namespace,
  diskWatchLeaseFile: path.join(config.stateDir, `disk-watchdog-${config.namespace}.lease`),
  runtime: config.docker.runtime,
  diskLimitMb: config.limits.diskMb,
  diskCheckIntervalSeconds: config.limits.diskCheckIntervalSeconds,
  portHost: config.portHost,
  network: config.networkPolicy,
  networkSlots: config.docker.slots,
});

/**
 * The backend chosen by the configuration (SANDBOX_PROVIDER, else e2b when E2B_API_KEY is set, else docker).
 * Each backend's modules are imported only when it is chosen.
 */
export async function createProvider(config: Config, log: Logger): Promise<SandboxProvider> {
  switch (config.provider) {
    case 'docker': {
      const [{ connectDocker }, { DockerProvider }] = await Promise.all([
        import('./docker/connect.js'),
        import('./docker/docker-provider.js'),
      ]);
      return new DockerProvider(
        connectDocker(config.docker.host),
        dockerOptions(config),
        log.child({ provider: 'docker' }),
      );
    }
    case 'e2b': {
      if (!config.e2b.apiKey) throw new ConfigError('SANDBOX_PROVIDER=e2b needs E2B_API_KEY.');
      const [{ Sandbox }, { E2BProvider }] = await Promise.all([import('e2b'), import('./e2b/e2b-provider.js')]);
      // E2B_API_URL and E2B_SANDBOX_URL, when set, are read by the SDK itself (self-hosting, tests).
      return new E2BProvider(
        Sandbox,
        { apiKey: config.e2b.apiKey, domain: config.e2b.domain },
        log.child({ provider: 'e2b' }),
        config.namespace,
      );
    }
  }
}
