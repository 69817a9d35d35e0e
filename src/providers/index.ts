import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { SandboxProvider } from './provider.js';

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
        { pidsLimit: config.limits.pids, runtime: config.docker.runtime },
        log.child({ provider: 'docker' }),
      );
    }
    case 'e2b':
      throw new ConfigError('The e2b provider is not available in this build yet: set SANDBOX_PROVIDER=docker (and unset E2B_API_KEY or keep it for later).');
  }
}
