/**
 * Plausible resource numbers for a fake sandbox. There is no VM to measure, so CPU and memory are derived from
 * the number of running commands; disk use is the real size of the sandbox's directory (a constant with the
 * Docker runtime).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeSandbox } from './state.js';

const MIB = 1024 * 1024;

export interface SandboxSample {
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else total += await lstat(path).then((s) => s.size, () => 0);
  }
  return total;
}

export async function sampleSandbox(sandbox: FakeSandbox): Promise<SandboxSample> {
  const running = sandbox.processes.size;
  const memTotal = sandbox.memoryMB * MIB;
  return {
    cpuCount: sandbox.cpuCount,
    cpuUsedPct: Math.min(100, 0.5 + running * 10),
    memUsed: Math.min(memTotal, (48 + running * 16) * MIB),
    memTotal,
    memCache: Math.min(memTotal, 24 * MIB),
    // A fresh E2B base image already uses a few hundred MiB; add what the sandbox wrote.
    diskUsed: 300 * MIB + (sandbox.container ? 0 : await directorySize(sandbox.rootDir)),
    diskTotal: sandbox.diskSizeMB * MIB,
  };
}
