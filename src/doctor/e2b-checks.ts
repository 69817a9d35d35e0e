import type { Config } from '../config.js';
import { isSandboxError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createProvider } from '../providers/index.js';
import { fail, ok, type Check } from './check.js';

/** E2B answers and accepts the key: one listing call, as the provider makes it. */
export async function checkE2B(config: Config, log: Logger): Promise<Check[]> {
  const provider = await createProvider(config, log);
  try {
    await provider.ping();
    return [
      ok('e2b', `E2B answers and accepts E2B_API_KEY${config.e2b.domain ? ` (domain ${config.e2b.domain})` : ''}`),
    ];
  } catch (err) {
    return [
      isSandboxError(err)
        ? fail('e2b', err.message, err.hint)
        : fail('e2b', `E2B could not be asked: ${(err as Error).message}`, 'Check the network and E2B_DOMAIN.'),
    ];
  } finally {
    await provider.close().catch(() => undefined);
  }
}
