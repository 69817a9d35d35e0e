import { CommandExitError, type Sandbox } from 'e2b';
import { killSweepCommand } from '../shared/kill-sweep.js';

/**
 * Kills every process of a run of the sandbox user known only by its run ID (another server started it, so its
 * session is unknown): the kill sweep (src/providers/shared/kill-sweep.ts), first as the user, who can read the
 * environments of their own processes wherever root lacks CAP_SYS_PTRACE (Docker-backed stand-ins), then as root,
 * who also finds what the run started through sudo (on E2B's VMs root reads every environment). A sweep that
 * could not kill everything exits non-zero: the other one goes on; only a failure to run it at all is thrown.
 */
export async function killRunById(sandbox: Sandbox, runId: string): Promise<void> {
  const sweep = killSweepCommand({ runId });
  const leftovers = (err: unknown) => {
    if (!(err instanceof CommandExitError)) throw err;
  };
  await sandbox.commands.run(sweep, { user: 'user' }).catch(leftovers);
  await sandbox.commands.run(sweep, { user: 'root' }).catch(leftovers);
}
