import type { ExitPolicy } from '../../config.js';
import { ErrorCode, isSandboxError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { waitAtMost } from '../../util/wait-at-most.js';

/** What the exit policy needs of the service (SandboxService): this server's sandboxes, and the tools' calls. */
export interface OwnSandboxes {
  ownSandboxes(): string[];
  stop(id: string): Promise<unknown>;
  delete(id: string): Promise<unknown>;
}

/**
 * SANDBOX_ON_EXIT: stops or deletes the sandboxes this server created, all at once, through the same service
 * calls the tools use. Sandboxes of other servers (same namespace) are never touched. Failures are logged, never
 * thrown: the server is on its way out.
 */
export async function applyExitPolicy(sandboxes: OwnSandboxes, policy: ExitPolicy, log: Logger): Promise<void> {
  if (policy === 'keep') return;
  const ids = sandboxes.ownSandboxes();
  if (!ids.length) return;
  log.info(
    { policy, sandboxes: ids },
    `on exit: ${policy === 'stop' ? 'stopping' : 'deleting'} the sandboxes this server created`,
  );
  const work = Promise.all(
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
  // A backend that does not answer must not keep a departing server alive for ever.
  if (!(await waitAtMost(work, EXIT_POLICY_LIMIT_MS)))
    log.warn({ policy, sandboxes: ids }, `on exit: gave up after ${EXIT_POLICY_LIMIT_MS / 1000}s`);
}

const EXIT_POLICY_LIMIT_MS = 30_000;
