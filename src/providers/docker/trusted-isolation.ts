import type Docker from 'dockerode';
import { KEPT_CAPABILITIES } from './isolation.js';

const KEPT = new Set(KEPT_CAPABILITIES.map((c) => c.replace(/^CAP_/, '')));

/**
 * Why a container that carries our labels is not trusted as a sandbox, or undefined when it is: labels can be
 * copied onto any container by anyone who can reach the engine, so a container is one of ours only if it is also
 * isolated as ours are (see isolation.ts). Anything else is treated as absent: never executed in, never
 * touched, whatever it calls itself.
 */
export function isolationMismatch(
  info: Docker.ContainerInspectInfo,
  /** The network namespace it joins is a network slot checked apart (slotHolderMismatch): `container:` is allowed. */
  joinsCheckedSlot = false,
): string | undefined {
  const hc: Docker.HostConfig = info.HostConfig ?? {};
  if (hc.Privileged) return 'privileged';
  const dropped = (hc.CapDrop ?? []).map((c: string) => c.toUpperCase().replace(/^CAP_/, ''));
  if (!dropped.includes('ALL')) return 'capabilities not dropped';
  const extra = (hc.CapAdd ?? [])
    .map((c: string) => c.toUpperCase().replace(/^CAP_/, ''))
    .filter((c: string) => !KEPT.has(c));
  if (extra.length) return `extra capabilities ${extra.join(',')}`;
  if (!(hc.SecurityOpt ?? []).some((o: string) => /^no-new-privileges(:true|=true)?$/.test(o)))
    return 'new privileges allowed';
  if ((hc.SecurityOpt ?? []).some((o: string) => /unconfined/.test(o))) return 'seccomp or apparmor unconfined';
  if ((hc.Binds ?? []).length) return 'host bind mounts';
  if ((info.Mounts ?? []).some((m) => m.Type === 'bind')) return 'host bind mounts';
  if ((hc.Devices ?? []).length) return 'host devices';
  const network = joinsCheckedSlot && hc.NetworkMode?.startsWith('container:') ? undefined : hc.NetworkMode;
  for (const mode of [network, hc.PidMode, hc.IpcMode, hc.UTSMode, hc.UsernsMode]) {
    if (mode === 'host' || (typeof mode === 'string' && mode.startsWith('container:')))
      return `shares a namespace (${mode})`;
  }
  return undefined;
}
