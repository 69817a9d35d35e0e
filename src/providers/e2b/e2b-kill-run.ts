import type { Sandbox } from 'e2b';
import { shellQuote } from '../shared/run-protocol.js';
import { ROOT_KILL_SWEEP } from './e2b-run-script.js';

/**
 * Kills every process of a run of the sandbox user known only by its run ID (another server started it, so its
 * session is unknown): the run's own kill sweep, first as the user, who can read the environments of their own
 * processes wherever root lacks CAP_SYS_PTRACE (Docker-backed stand-ins), then as root, who also finds what the
 * run started through sudo (on E2B's VMs root reads every environment).
 */
export async function killRunById(sandbox: Sandbox, runId: string): Promise<void> {
  const sweep = `sh -c ${shellQuote(ROOT_KILL_SWEEP)} sandbox-kill ${shellQuote(runId)}`;
  await sandbox.commands.run(sweep, { user: 'user' });
  await sandbox.commands.run(sweep, { user: 'root' });
}
