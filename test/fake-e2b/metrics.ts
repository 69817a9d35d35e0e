/**
 * Resource samples for a fake sandbox. Like E2B's orchestrator (packages/orchestrator/pkg/metrics/sandboxes.go:
 * sandboxMetricExportPeriod = 5 s), a running sandbox is sampled every 5 seconds, so getMetrics answers `[]`
 * until the first sample has been taken. CPU % is of all the sandbox's vCPUs. There is no VM to measure, so CPU
 * and memory are derived from the number of running commands.
 */
import type { FakeSandbox } from './state.js';

const MIB = 1024 * 1024;
export const SAMPLE_PERIOD_MS = 5000;
/** Samples kept per sandbox. */
const KEPT = 120;

export interface MetricSample {
  timestamp: Date;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

export function sampleNow(sandbox: FakeSandbox): MetricSample {
  const running = sandbox.processes.size;
  const memTotal = sandbox.memoryMB * MIB;
  return {
    timestamp: new Date(),
    cpuCount: sandbox.cpuCount,
    cpuUsedPct: Math.min(100, 0.5 + (running * 10) / sandbox.cpuCount),
    memUsed: Math.min(memTotal, (48 + running * 16) * MIB),
    memTotal,
    memCache: Math.min(memTotal, 24 * MIB),
    // A fresh E2B base image already uses a few hundred MiB.
    diskUsed: 300 * MIB,
    diskTotal: sandbox.diskSizeMB * MIB,
  };
}

/** Starts sampling a running sandbox every SAMPLE_PERIOD_MS; returns the function that stops it. */
export function startSampling(sandbox: FakeSandbox): () => void {
  const timer = setInterval(() => {
    sandbox.samples.push(sampleNow(sandbox));
    if (sandbox.samples.length > KEPT) sandbox.samples.shift();
  }, SAMPLE_PERIOD_MS);
  timer.unref();
  return () => clearInterval(timer);
}
