#!/usr/bin/env node
// Measures the server against Docker's own CLI on the same engine and image, in one run, and prints medians,
// p95 and ratios. Usage: npm run bench  (needs a running engine; SANDBOX_IMAGE or the offline image).
// Nothing here asserts: it reports, and the README's performance section quotes it.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = process.env.SANDBOX_IMAGE ?? 'sandbox-mcp/debian-base:bookworm';
const N = Number(process.env.BENCH_N ?? 40);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function timeEach(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return times;
}
const rows = [];
function report(name, times, baseline) {
  const row = { name, median: median(times), p95: p95(times), n: times.length };
  if (baseline) row.ratio = row.median / median(baseline);
  rows.push(row);
  const ratio = row.ratio === undefined ? '' : `  ratio ${row.ratio.toFixed(3)}x`;
  process.stderr.write(`${name.padEnd(52)} median ${row.median.toFixed(1).padStart(7)} ms  p95 ${row.p95.toFixed(1).padStart(7)} ms  (n=${row.n})${ratio}\n`);
}
const docker = (...args) => run('docker', args, { maxBuffer: 1 << 20 });

/** The built server over stdio, as an MCP client starts it; its resident memory is sampled while it runs. */
async function startServer(env) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    // Launched as the README says; BENCH_NODE_FLAGS tries other V8 settings on the server only ("" for none).
    args: [...(process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean), path.join(root, 'dist', 'index.js')],
    env: { ...process.env, SANDBOX_IMAGE: IMAGE, SANDBOX_LOG_LEVEL: 'warn', SANDBOX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-')), SANDBOX_MAX_SANDBOXES: '80', SANDBOX_RATE_LIMIT: '100000', ...env },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'bench', version: '1' });
  const started = performance.now();
  await client.connect(transport);
  await client.listTools();
  const startup = performance.now() - started;
  let maxRss = 0;
  const sampler = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${transport.pid}/status`, 'utf8'))?.[1] ?? 0);
      maxRss = Math.max(maxRss, kb / 1024);
    } catch {}
  }, 50);
  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.structuredContent)}`);
    return r.structuredContent;
  };
  const phase = (name) => {
    process.stderr.write(`  [server memory after ${name}: highest ${maxRss.toFixed(1)} MB]\n`);
  };
  return { call, startup, phase, maxRss: () => maxRss, close: async () => { clearInterval(sampler); await client.close(); } };
}

async function main() {
  execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const engine = execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim();
  process.stderr.write(`machine: ${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, Docker Engine ${engine}, image ${IMAGE}\n\n`);

  // Baselines: Docker's CLI on the same engine and image.
  const { stdout: cid } = await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity');
  const container = cid.trim();
  await docker('exec', container, 'true');
  const cliTrue = await timeEach(N, () => docker('exec', container, 'true'));
  report('docker exec <id> true (CLI)', cliTrue);
  const cliPy = await timeEach(N, () => docker('exec', container, 'python3', '-c', 'print(1)'));
  report("docker exec <id> python3 -c 'print(1)' (CLI)", cliPy);
  await docker('rm', '-f', container);
  const made = [];
  const cliRun = await timeEach(10, async () => made.push((await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity')).stdout.trim()));
  report('docker run -d (CLI)', cliRun);
  await docker('rm', '-f', ...made.splice(0));

  // The server, no pool.
  const startups = [];
  for (let i = 0; i < 5; i++) {
    const s = await startServer({});
    startups.push(s.startup);
    await s.close();
  }
  report('server start-up to tools/list', startups);

  const s = await startServer({});
  const created = await timeEach(10, async () => {
    const { sandbox_id } = await s.call('sandbox_create', { template: 'python' });
    made.push(sandbox_id);
  });
  report('sandbox_create, no pool', created, cliRun);
  s.phase('10 creates');
  const id = made.pop();
  for (const other of made.splice(0)) await s.call('sandbox_delete', { sandbox_id: other });
  await s.call('sandbox_execute', { sandbox_id: id, code: 'true', language: 'bash' });
  const exTrue = await timeEach(N, () => s.call('sandbox_execute', { sandbox_id: id, code: 'true', language: 'bash' }));
  report('sandbox_execute true (MCP stdio)', exTrue, cliTrue);
  const exPy = await timeEach(N, () => s.call('sandbox_execute', { sandbox_id: id, code: 'print(1)', language: 'python' }));
  report('sandbox_execute print(1) (MCP stdio)', exPy, cliPy);
  s.phase('executes');

  const concurrent = [];
  let failures = 0;
  const wall = performance.now();
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      const t = performance.now();
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'import time; time.sleep(0.2); print(1)' }).catch(() => null);
      if (r?.status !== 'completed') failures++;
      concurrent.push(performance.now() - t);
    }),
  );
  report('20 concurrent sandbox_execute (0.2 s each)', concurrent);
  process.stderr.write(`  20 concurrent: ${failures} failures, wall ${(performance.now() - wall).toFixed(0)} ms\n`);

  const live = [];
  let liveFailures = 0;
  for (let i = 0; i < 49; i++) {
    try {
      live.push((await s.call('sandbox_create', { template: 'python' })).sandbox_id);
    } catch {
      liveFailures++;
    }
  }
  live.push(id);
  s.phase('50 creates');
  await sleep(2000);
  const { stdout: mem } = await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', ...(await docker('ps', '-q', '--filter', 'label=dev.sandbox-mcp.managed=true')).stdout.trim().split('\n'));
  const mib = mem.trim().split('\n').map((line) => {
    const [value, unit] = /^([\d.]+)\s*([KMG]i?B)/.exec(line)?.slice(1) ?? ['0', 'MiB'];
    return Number(value) * ({ KiB: 1 / 1024, MiB: 1, GiB: 1024, B: 1 / 2 ** 20 }[unit] ?? 1);
  });
  const liveRun = await Promise.all(live.map((sid) => s.call('sandbox_execute', { sandbox_id: sid, code: 'print(1)' }).then((r) => r.status === 'completed', () => false)));
  process.stderr.write(`50 live sandboxes: ${liveFailures} create failures, ${liveRun.filter((ok) => !ok).length} run failures, memory per idle sandbox median ${median(mib).toFixed(1)} MiB (docker stats)\n`);
  s.phase('50 concurrent runs');
  for (const sid of live) await s.call('sandbox_delete', { sandbox_id: sid });
  s.phase('50 deletes');
  process.stderr.write(`server resident memory, highest seen: ${s.maxRss().toFixed(1)} MB\n`);
  await s.close();

  // The server with a warm pool of 2 python sandboxes: each create waits for the refill first.
  const pooled = await startServer({ SANDBOX_POOL_SIZE: '2', SANDBOX_POOL_TEMPLATES: 'python' });
  await sleep(3000);
  const fromPool = await timeEach(10, async () => {
    made.push((await pooled.call('sandbox_create', { template: 'python' })).sandbox_id);
  });
  report('sandbox_create from the warm pool', fromPool.slice(0, 2), cliRun);
  const poolTimes = [];
  for (let i = 0; i < 8; i++) {
    await sleep(1500);
    const t = performance.now();
    made.push((await pooled.call('sandbox_create', { template: 'python' })).sandbox_id);
    poolTimes.push(performance.now() - t);
  }
  report('sandbox_create from the warm pool, refilled between', poolTimes, cliRun);
  for (const sid of made.splice(0)) await pooled.call('sandbox_delete', { sandbox_id: sid }).catch(() => undefined);
  process.stderr.write(`server resident memory with pool, highest seen: ${pooled.maxRss().toFixed(1)} MB\n`);
  await pooled.close();

  process.stdout.write(`${JSON.stringify({ machine: { cpus: os.cpus().length, cpu, engine, node: process.version }, rows }, null, 2)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
