import type Docker from 'dockerode';
import type { ResourceUsage } from '../provider.js';

/** One stats sample from the engine (it waits for two CPU readings, so this takes about a second). */
export async function readUsage(container: Docker.Container): Promise<ResourceUsage> {
  const s = await container.stats({ stream: false });
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus ?? s.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  // Page cache is not the sandbox's own memory (cgroup v1 reports it as "cache", v2 as "inactive_file").
  const stats = (s.memory_stats.stats ?? {}) as Record<string, number>;
  const cache = stats.total_inactive_file ?? stats.inactive_file ?? stats.cache ?? 0;
  const memoryUsedBytes = Math.max(0, (s.memory_stats.usage ?? 0) - cache);
  let rxBytes = 0;
  let txBytes = 0;
  for (const net of Object.values(s.networks ?? {})) {
    rxBytes += net.rx_bytes;
    txBytes += net.tx_bytes;
  }
  return {
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    memoryUsedBytes,
    memoryLimitBytes: s.memory_stats.limit ?? 0,
    pids: (s as unknown as { pids_stats?: { current?: number } }).pids_stats?.current ?? 0,
    network: { rxBytes, txBytes },
  };
}
