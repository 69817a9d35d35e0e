import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

/**
 * Which server process made something another server may find: a background execution (its start entry), so that
 * another server of the namespace (sharing the history) can tell a run still going from one whose server died
 * without recording its end; a network slot (its label), so that one left by a killed server is removed at once.
 */
/** A recorded identity as read back (a history entry, a network slot's label): checked, never trusted as is. */
export const ServerIdentitySchema = z.object({
  host: z.string(),
  pid: z.number().int(),
  instance: z.string(),
  proc_start: z.string().optional(),
  pid_ns: z.string().optional(),
});

export interface ServerIdentity {
  host: string;
  pid: number;
  /** Random per server process: tells this server's entries from those of an earlier process with the same PID. */
  instance: string;
  /** The process's start time as /proc/<pid>/stat gives it (Linux): tells a reused PID from the recorded one. */
  proc_start?: string;
  /**
   * Its PID namespace (/proc/self/ns/pid, Linux): two servers in containers may share a host name (host
   * networking) and not their PIDs, and one must not take the other for dead.
   */
  pid_ns?: string;
}

/**
 * Field 22 of /proc/<pid>/stat (start time since boot, in clock ticks); undefined where there is no /proc, and for
 * a process that has exited but is not reaped yet (a zombie: its server is gone).
 */
function processStart(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after its last ')' are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

function ownIdentity(): ServerIdentity {
  const since = processStart('self');
  const pidNs = pidNamespace();
  return {
    host: os.hostname(),
    pid: process.pid,
    instance: randomBytes(8).toString('hex'),
    ...(since ? { proc_start: since } : {}),
    ...(pidNs ? { pid_ns: pidNs } : {}),
  };
}

/** This server process. */
export const THIS_SERVER: ServerIdentity = ownIdentity();

/**
 * Whether the recorded server still runs: false when its process is gone (or the PID now belongs to another
 * process), undefined when this machine cannot tell (another host shares the state folder).
 */
export function serverAlive(owner: ServerIdentity, self: ServerIdentity = THIS_SERVER): boolean | undefined {
  if (owner.instance === self.instance) return true;
  if (owner.host !== self.host) return undefined;
  if (owner.pid_ns && self.pid_ns && owner.pid_ns !== self.pid_ns) return undefined; // its PIDs are not ours to see
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  // Recorded on this host, so /proc is there: a start time that differs (or is gone) is another process.
  return owner.proc_start === undefined || processStart(owner.pid) === owner.proc_start;
}
