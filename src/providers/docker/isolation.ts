import type Docker from 'dockerode';
import type { NetworkMode } from '../provider.js';
import { joinedNetworkMode } from './network-slots.js';

/**
 * Capabilities kept for root-run setup steps (package installs): file ownership and permission changes, and
 * dropping to another user as apt does. User code runs as uid 1000, whose effective set is empty either way.
 * Everything else (NET_RAW, MKNOD, SYS_CHROOT, SETFCAP, AUDIT_WRITE, NET_BIND_SERVICE, ...) is dropped.
 */
export const KEPT_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID', 'KILL'];

export interface IsolationOptions {
  cpus: number;
  memoryMb: number;
  pidsLimit: number;
  network: NetworkMode;
  /** The Docker network `bridge` sandboxes join (the server's own, see sandbox-network.ts). */
  networkName?: string;
  /** A network slot's holder (network-slots.ts) whose namespace a `bridge` sandbox joins instead. */
  networkSlot?: string;
  /** Another OCI runtime, such as gVisor's `runsc`. */
  runtime?: string;
  /** Largest file any process may write (RLIMIT_FSIZE), the disk quota; 0 for none. */
  maxFileBytes: number;
}

/**
 * The engine's pids limit counts host processes and threads. Under gVisor (runsc) those are its kernel's own
 * threads and, on the ptrace platform, one stub process per address space: a sandbox needs several times the pids
 * of its processes, and when it runs out gVisor's kernel dies with the whole sandbox ("error initializing first
 * thread"). So the limit is raised there; a fork bomb still ends at it, ending that sandbox only.
 */
export function hostPidsLimit(pidsLimit: number, runtime?: string): number {
  return runtime && /runsc|gvisor/i.test(runtime) ? pidsLimit * 4 + 512 : pidsLimit;
}

/**
 * Least privilege that still lets the documented features work: no privileged mode, no host mounts, no Docker
 * socket, the engine's default seccomp profile (left in place by not overriding it), no-new-privileges, an init
 * process to reap zombies, and memory, CPU and pids limits.
 */
export function hostConfig(options: IsolationOptions): Docker.HostConfig {
  const memory = Math.round(options.memoryMb * 1024 * 1024);
  return {
    Privileged: false,
    Init: true,
    CapDrop: ['ALL'],
    CapAdd: KEPT_CAPABILITIES,
    SecurityOpt: ['no-new-privileges:true'],
    Memory: memory,
    MemorySwap: memory, // no swap beyond the memory limit
    NanoCpus: Math.round(options.cpus * 1e9),
    PidsLimit: hostPidsLimit(options.pidsLimit, options.runtime),
    NetworkMode:
      options.network === 'none'
        ? 'none'
        : options.networkSlot
          ? joinedNetworkMode(options.networkSlot)
          : (options.networkName ?? 'bridge'),
    Binds: [],
    Mounts: [],
    RestartPolicy: { Name: 'no' },
    ...(options.maxFileBytes > 0
      ? { Ulimits: [{ Name: 'fsize', Soft: options.maxFileBytes, Hard: options.maxFileBytes }] }
      : {}),
    LogConfig: { Type: 'none', Config: {} },
    ...(options.runtime ? { Runtime: options.runtime } : {}),
  };
}
