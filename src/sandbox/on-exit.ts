import type { ExitPolicy } from '../config.js';
import { ErrorCode, isSandboxError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from './sandbox-service.js';

/**
 * SANDBOX_ON_EXIT: stops or deletes the sandboxes this server created, all at once, through the same service
 * calls the tools use. Sandboxes of other servers (same namespace) are never touched. Failures are logged, never
 * thrown: the server is on its way out.
 */
export async function applyExitPolicy(sandboxes: SandboxService, policy: ExitPolicy, log: Logger): Promise<void> {
  if (policy === 'keep') return;
  const ids = sandboxes.ownSandboxes();
  if (!ids.length) return;
  log.info({ policy, sandboxes: ids }, `on exit: ${policy === 'stop' ? 'stopping' : 'deleting'} the sandboxes this server created`);
  await Promise.all(
    ids.map(async (id) => {
      try {
        if (policy === 'stop') await sandboxes.stop(id);
        else await sandboxes.delete(id);
      } catch (err) {
        if (isSandboxError(err) && err.code === ErrorCode.SANDBOX_NOT_FOUND) return; // already gone
        log.warn({ sandboxId: id, err }, `on exit: could not ${policy} the sandbox`);
      }
    }),
  );
}
