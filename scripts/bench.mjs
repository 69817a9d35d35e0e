#!/usr/bin/env node
// Measures the server against Docker's own CLI on the same engine and image, in one run, and prints medians,
// p95 and ratios. Usage: npm run bench  (needs a running engine; SANDBOX_IMAGE or the offline image). It runs under
// tsx, to start the fake E2B of test/fake-e2b/ for the E2B round trips.
// Nothing here asserts: it reports, and docs/benchmarks.md quotes it.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
/** BENCH_ONLY=create,exec,... runs only those sections (startup, exec, transfer, create, live, pool, gvisor, e2b). */
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const want = (...sections) => !ONLY.size || sections.some((s) => ONLY.has(s));
/** BENCH_DIST: another build's dist folder (to compare two builds in the same conditions); default ./dist. */
const SERVER = path.join(
  process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(root, 'dist'),
  'index.js',
);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function timeEach(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const own = await fn(i);
    // A function that returns { ms } has timed itself (what came before its clock is not measured).
    times.push(typeof own?.ms === 'number' ? own.ms : performance.now() - t);
  }
  return times;
}
const rows = [];
function report(name, times, baseline) {
  const row = { name, median: median(times), p95: p95(times), n: times.length };
  if (baseline) row.ratio = row.median / median(baseline);
  rows.push(row);
  const ratio = row.ratio === undefined ? '' : `  ratio ${row.ratio.toFixed(3)}x`;
  process.stderr.write(
    `${name.padEnd(52)} median ${row.median.toFixed(1).padStart(7)} ms  p95 ${row.p95.toFixed(1).padStart(7)} ms  (n=${row.n})${ratio}\n`,
  );
}
const docker = (...args) => run('docker', args, { maxBuffer: 1 << 20 });

/** A benchmarked server's environment: a state folder and a namespace of its own (the benchmark never counts,
 * reaps or removes anybody's real sandboxes), then `env`. */
const serverEnv = (env = {}) => ({
  ...process.env,
  SANDBOX_IMAGE: IMAGE,
  SANDBOX_LOG_LEVEL: 'warn',
  SANDBOX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-')),
  SANDBOX_NAMESPACE: `bench-${process.pid}`,
  ...env,
});

/** The built server over stdio, as an MCP client starts it; its resident memory is sampled while it runs. */
async function startServer(env) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    // Launched as the README says, without flags; BENCH_NODE_FLAGS tries V8 settings on the server only.
    args: [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), SERVER],
    // The client's own cap on one message (10 MiB by default) is below an 8 MiB download as base64.
    maxBufferSize: 64 * 1024 * 1024,
    env: serverEnv({ SANDBOX_MAX_SANDBOXES: '80', SANDBOX_RATE_LIMIT: '100000', ...env }),
    stderr: 'inherit',
  });
  const client = new Client({ name: 'bench', version: '1' });
  const started = performance.now();
  await client.connect(transport);
  const { tools } = await client.listTools();
  const startup = performance.now() - started;
  const modelFacing = JSON.stringify(
    tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
  ).length;
  let maxRss = 0;
  const sampler = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${transport.pid}/status`, 'utf8'))?.[1] ?? 0);
      maxRss = Math.max(maxRss, kb / 1024);
    } catch {
      // the server exited between two samples
    }
  }, 50);
  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.structuredContent)}`);
    return r.structuredContent;
  };
  const phase = (name) => {
    process.stderr.write(`  [server memory after ${name}: highest ${maxRss.toFixed(1)} MB]\n`);
  };
  return {
    call,
    startup,
    modelFacing,
    phase,
    maxRss: () => maxRss,
    close: async () => {
      clearInterval(sampler);
      await client.close();
    },
  };
}

/** Time to import one module in a fresh node (as it reports it), or without one, node's own start-up (wall). */
async function importCost(specifier) {
  if (!specifier) return timeEach(5, () => run(process.execPath, ['-e', '0']));
  const code = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  const times = [];
  for (let i = 0; i < 5; i++)
    times.push(Number((await run(process.execPath, ['--input-type=module', '-e', code], { cwd: root })).stdout));
  return times;
}

/** Spawn to the tools/list answer, speaking JSON-RPC lines directly: the server's start-up without a client SDK's. */
async function rawStartup() {
  const started = performance.now();
  const child = spawn(process.execPath, [SERVER], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: serverEnv(),
  });
  const send = (message) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  const elapsed = await new Promise((resolve) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const { id } = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (id === 1) {
          send({ method: 'notifications/initialized' });
          send({ id: 2, method: 'tools/list' });
        } else if (id === 2) resolve(performance.now() - started);
      }
    });
    send({
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
  });
  child.kill();
  await new Promise((r) => child.once('exit', r));
  return elapsed;
}

/** The sandbox's first run, print(1), whose output must come back. */
async function firstOutput(server, sandboxId) {
  const r = await server.call('sandbox_execute', { sandbox_id: sandboxId, code: 'print(1)', language: 'python' });
  if (r.output.trim() !== '1') throw new Error(`first output: ${JSON.stringify(r)}`);
}

/** Megabytes per second for `bytes` moved in `ms`. */
const mbps = (bytes, ms) => (bytes / 2 ** 20 / (ms / 1000)).toFixed(1);

async function main() {
  execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const engine = execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim();
  const runtimes = Object.keys(
    JSON.parse(execFileSync('docker', ['info', '--format', '{{json .Runtimes}}']).toString() || '{}'),
  );
  const othersContainers = execFileSync('docker', ['ps', '-q']).toString().trim().split('\n').filter(Boolean).length;
  process.stderr.write(
    `machine: ${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, Docker Engine ${engine} (runtimes: ${runtimes.join(', ')}), image ${IMAGE}\n` +
      `load average at start: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; containers already running: ${othersContainers}\n\n`,
  );

  // What start-up costs: node itself, then each heavy module imported alone in a fresh node.
  if (want('startup')) {
    const nodeAlone = await importCost(undefined);
    report('node -e (nothing imported)', nodeAlone);
    for (const spec of ['zod', '@modelcontextprotocol/sdk/server/index.js', 'pino', 'dockerode', 'e2b'])
      report(`  import ${spec} alone (fresh node)`, await importCost(spec));
  }

  // Baselines: Docker's CLI on the same engine and image.
  const { stdout: cid } = await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity');
  const container = cid.trim();
  await docker('exec', container, 'true');
  // Measured with the server's runs below, in alternating blocks.
  const cliTrue = [];
  const cliPy = [];

  // docker cp of 8 MiB, both ways, as the baseline of sandbox_upload and sandbox_download.
  const SIZE = 8 * 2 ** 20;
  const blob = randomBytes(SIZE);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-cp-'));
  writeFileSync(path.join(scratch, 'up.bin'), blob);
  let cpIn, cpOut;
  if (want('transfer')) {
    cpIn = await timeEach(5, () => docker('cp', path.join(scratch, 'up.bin'), `${container}:/tmp/up.bin`));
    report('docker cp 8 MiB into a container (CLI)', cpIn);
    cpOut = await timeEach(5, () => docker('cp', `${container}:/tmp/up.bin`, path.join(scratch, 'down.bin')));
    report('docker cp 8 MiB out of a container (CLI)', cpOut);
  }
  // Kept for the exec section's baseline, measured there with the server's runs.
  const removeBaseline = () => docker('rm', '-f', container);
  if (!want('exec', 'gvisor')) await removeBaseline();

  const made = [];
  let cliRun, cliFirst, cliSpaced;
  if (want('create', 'pool')) {
    cliRun = await timeEach(10, async () =>
      made.push((await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity')).stdout.trim()),
    );
    report('docker run -d (CLI)', cliRun);
    await docker('rm', '-f', ...made.splice(0));
    // create → first output's baseline: a container up and one python run in it, through the CLI.
    cliFirst = await timeEach(10, async () => {
      const cid = (await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity')).stdout.trim();
      made.push(cid);
      await docker('exec', cid, 'python3', '-c', 'print(1)');
    });
    report("docker run -d + docker exec python3 -c 'print(1)' (CLI)", cliFirst);
    await docker('rm', '-f', ...made.splice(0));
    // The same a second apart, as an agent makes its sandboxes (between two, it reads and writes).
    cliSpaced = await timeEach(10, async () => {
      await sleep(1000);
      const t = performance.now();
      const cid = (await docker('run', '-d', '--init', IMAGE, 'sleep', 'infinity')).stdout.trim();
      made.push(cid);
      await docker('exec', cid, 'python3', '-c', 'print(1)');
      return { ms: performance.now() - t };
    });
    report("docker run -d + docker exec python3 -c 'print(1)', 1 s apart (CLI)", cliSpaced);
    await docker('rm', '-f', ...made.splice(0));
  }

  // The server, no pool, launched without flags.
  let modelFacing;
  if (want('startup')) {
    const startups = [];
    for (let i = 0; i < 5; i++) {
      const s = await startServer({});
      startups.push(s.startup);
      modelFacing = s.modelFacing;
      await s.close();
    }
    report('server start-up to tools/list (SDK client)', startups);
    const raw = [];
    for (let i = 0; i < 7; i++) raw.push(await rawStartup());
    report('server start-up to tools/list (raw JSON-RPC lines)', raw);
    process.stderr.write(
      `  tools/list, the part a model reads (name, description, inputSchema as JSON): ${modelFacing} characters\n`,
    );
  }

  // The quota counts every managed container on the engine, other users' too: set it out of the way.
  let mainRss, exTrue, exPy;
  if (want('create', 'exec', 'live', 'gvisor')) {
    const s = await startServer({ SANDBOX_MAX_SANDBOXES: '1000' });
    if (want('create')) {
      // A server's first create, as an agent makes it: a few seconds after start-up (its warm-up, a second after
      // start-up, has checked the image and installed the network filter by then).
      await sleep(3000);
      const firstOfServer = performance.now();
      made.push((await s.call('sandbox_create', { template: 'python' })).sandbox_id);
      report("the server's first sandbox_create (3 s after start-up)", [performance.now() - firstOfServer], cliRun);
      const created = await timeEach(10, async () => {
        const { sandbox_id } = await s.call('sandbox_create', { template: 'python' });
        made.push(sandbox_id);
      });
      report('sandbox_create, no pool', created, cliRun);
      s.phase('10 creates');
      // create → first output: what an agent waits for before it sees anything of its first run.
      const coldFirst = await timeEach(10, async () => {
        const { sandbox_id } = await s.call('sandbox_create', { template: 'python' });
        made.push(sandbox_id);
        await firstOutput(s, sandbox_id);
      });
      report('create → first output of print(1), no pool', coldFirst, cliFirst);
      // A second apart, as an agent makes them: each create finds a network slot ready (back to back, the next
      // one is still being made: see docs/benchmarks.md).
      const spacedFirst = async (server, ids) =>
        timeEach(10, async () => {
          await sleep(1000);
          const t = performance.now();
          const { sandbox_id } = await server.call('sandbox_create', { template: 'python' });
          ids.push(sandbox_id);
          await firstOutput(server, sandbox_id);
          return { ms: performance.now() - t };
        });
      report('create → first output of print(1), no pool, 1 s apart', await spacedFirst(s, made), cliSpaced);
      // The same without network slots (each bridge sandbox sets up its own namespace on the network).
      const unslotted = await startServer({ SANDBOX_MAX_SANDBOXES: '1000', SANDBOX_NETWORK_SLOTS: '0' });
      await sleep(2000);
      const plainIds = [];
      report(
        'create → first output of print(1), no pool, 1 s apart, network slots off',
        await spacedFirst(unslotted, plainIds),
        cliSpaced,
      );
      for (const sid of plainIds) await unslotted.call('sandbox_delete', { sandbox_id: sid });
      await unslotted.close();
    }
    const id = made.pop() ?? (await s.call('sandbox_create', { template: 'python' })).sandbox_id;
    for (const other of made.splice(0)) await s.call('sandbox_delete', { sandbox_id: other });
    await s.call('sandbox_execute', { sandbox_id: id, code: 'true', language: 'bash' });
    if (want('exec', 'gvisor')) {
      // The engine settled first, as for the CLI's baseline: a create is followed by the refill of its network slot
      // (a container start, about 250 ms of the engine's CPU), which would otherwise share this VM's two cores with
      // the first runs timed here.
      await sleep(2000);
      // The CLI's runs and the server's in alternating blocks of ten, so that this VM's drift (its speed changes
      // from one few seconds to the next) weighs on the baseline and on the server alike.
      exTrue = [];
      exPy = [];
      // At least 100 of each: the medians this section's target is read from move less from run to run.
      for (let block = 0; block < Math.ceil(Math.max(N, 100) / 10); block++) {
        cliTrue.push(...(await timeEach(10, () => docker('exec', container, 'true'))));
        exTrue.push(
          ...(await timeEach(10, () => s.call('sandbox_execute', { sandbox_id: id, code: 'true', language: 'bash' }))),
        );
        cliPy.push(...(await timeEach(10, () => docker('exec', container, 'python3', '-c', 'print(1)'))));
        exPy.push(
          ...(await timeEach(10, () =>
            s.call('sandbox_execute', { sandbox_id: id, code: 'print(1)', language: 'python' }),
          )),
        );
      }
      await removeBaseline();
      report('docker exec <id> true (CLI)', cliTrue);
      report("docker exec <id> python3 -c 'print(1)' (CLI)", cliPy);
      report('sandbox_execute true (MCP stdio)', exTrue, cliTrue);
      report('sandbox_execute print(1) (MCP stdio)', exPy, cliPy);
      s.phase('executes');

      const concurrent = [];
      let failures = 0;
      const wall = performance.now();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const t = performance.now();
          const r = await s
            .call('sandbox_execute', { sandbox_id: id, code: 'import time; time.sleep(0.2); print(1)' })
            .catch(() => null);
          if (r?.status !== 'completed') failures++;
          concurrent.push(performance.now() - t);
        }),
      );
      report('20 concurrent sandbox_execute (0.2 s each)', concurrent);
      process.stderr.write(`  20 concurrent: ${failures} failures, wall ${(performance.now() - wall).toFixed(0)} ms\n`);
    }

    if (want('live')) {
      const LIVE = Number(process.env.BENCH_LIVE ?? 100);
      // The host's memory per sandbox, everything included (the engine's shims, network namespaces, network slots):
      // what MemAvailable lost, on an engine on this machine.
      const available = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
      const availableBefore = available();
      const live = [];
      let liveFailures = 0;
      let firstFailure = '';
      for (let i = 0; i < LIVE - 1; i++) {
        try {
          live.push((await s.call('sandbox_create', { template: 'python' })).sandbox_id);
        } catch (err) {
          liveFailures++;
          firstFailure ||= err.message;
        }
      }
      if (firstFailure) process.stderr.write(`  first create failure: ${firstFailure.slice(0, 300)}\n`);
      live.push(id);
      s.phase(`${LIVE} live sandboxes`);
      await sleep(3000);
      const hostMiB = (availableBefore - available()) / 1024 / LIVE;
      // Only this run's containers: other sandboxes on a shared engine are not counted.
      const { stdout: mem } = await docker(
        'stats',
        '--no-stream',
        '--format',
        '{{.MemUsage}}',
        ...live.map((sid) => `sandbox-mcp-${sid}`),
      );
      const mib = mem
        .trim()
        .split('\n')
        .map((line) => {
          const [value, unit] = /^([\d.]+)\s*([KMG]i?B)/.exec(line)?.slice(1) ?? ['0', 'MiB'];
          return Number(value) * ({ KiB: 1 / 1024, MiB: 1, GiB: 1024, B: 1 / 2 ** 20 }[unit] ?? 1);
        });
      const liveRun = await Promise.all(
        live.map((sid) =>
          s.call('sandbox_execute', { sandbox_id: sid, code: 'print(1)' }).then(
            (r) => r.status === 'completed',
            () => false,
          ),
        ),
      );
      process.stderr.write(
        `${LIVE} live sandboxes: ${liveFailures} create failures, ${liveRun.filter((ok) => !ok).length} run failures, memory per idle sandbox median ${median(mib).toFixed(1)} MiB, p95 ${p95(mib).toFixed(1)} MiB (docker stats); the host's memory per sandbox, shims and network slots included, ${hostMiB.toFixed(1)} MiB (MemAvailable)\n`,
      );
      s.phase(`${LIVE} concurrent runs`);
      for (const sid of live) await s.call('sandbox_delete', { sandbox_id: sid });
      s.phase(`${LIVE} deletes`);
    } else await s.call('sandbox_delete', { sandbox_id: id });
    mainRss = s.maxRss();
    process.stderr.write(
      `server resident memory, highest seen (start-up to the last delete): ${mainRss.toFixed(1)} MB\n`,
    );
    await s.close();
  }

  if (want('pool')) {
    // The server with a warm pool of 2 python sandboxes: each create waits for the refill first (3 s: the refill
    // after a claim waits a second, then starts a container, a few hundred ms on a busy machine).
    const pooled = await startServer({ SANDBOX_POOL_SIZE: '2', SANDBOX_POOL_TEMPLATES: 'python' });
    await sleep(3000);
    const fromPool = await timeEach(10, async () => {
      made.push((await pooled.call('sandbox_create', { template: 'python' })).sandbox_id);
    });
    report('sandbox_create from the warm pool', fromPool.slice(0, 2), cliRun);
    const poolTimes = [];
    for (let i = 0; i < 8; i++) {
      await sleep(3000);
      const t = performance.now();
      made.push((await pooled.call('sandbox_create', { template: 'python' })).sandbox_id);
      poolTimes.push(performance.now() - t);
    }
    report('sandbox_create from the warm pool, refilled between', poolTimes, cliRun);
    const [pooledFirst, claims, firstRuns] = [[], [], []];
    for (let i = 0; i < 8; i++) {
      await sleep(3000);
      const t = performance.now();
      const { sandbox_id } = await pooled.call('sandbox_create', { template: 'python' });
      const claimed = performance.now();
      made.push(sandbox_id);
      await firstOutput(pooled, sandbox_id);
      pooledFirst.push(performance.now() - t);
      claims.push(claimed - t);
      firstRuns.push(performance.now() - claimed);
    }
    report('create → first output of print(1), warm pool', pooledFirst, cliFirst);
    report('  of which sandbox_create (the claim)', claims);
    report('  of which the first sandbox_execute print(1)', firstRuns);
    for (const sid of made.splice(0)) await pooled.call('sandbox_delete', { sandbox_id: sid }).catch(() => undefined);
    process.stderr.write(`server resident memory with pool, highest seen: ${pooled.maxRss().toFixed(1)} MB\n`);
    await pooled.close();
  }

  // 8 MiB up and down through MCP (base64 in JSON), against docker cp above. A server of its own, so that its
  // memory is reported apart: the message is ~11 MB and is held a few times while it is decoded.
  let transferRss;
  if (want('transfer')) {
    const t = await startServer({ SANDBOX_MAX_DOWNLOAD_SIZE: String(16 * 2 ** 20) });
    const tid = (await t.call('sandbox_create', { template: 'python' })).sandbox_id;
    const content = blob.toString('base64');
    const ups = await timeEach(5, () =>
      t.call('sandbox_upload', { sandbox_id: tid, file_path: 'up.bin', content, encoding: 'base64' }),
    );
    report('sandbox_upload 8 MiB (base64, MCP stdio)', ups, cpIn);
    const downs = await timeEach(5, async () => {
      const r = await t.call('sandbox_download', { sandbox_id: tid, file_path: 'up.bin' });
      if (r.size_bytes !== SIZE) throw new Error('download size');
    });
    report('sandbox_download 8 MiB (base64, MCP stdio)', downs, cpOut);
    process.stderr.write(
      `  8 MiB: upload ${mbps(SIZE, median(ups))} MB/s vs docker cp ${mbps(SIZE, median(cpIn))} MB/s; download ${mbps(SIZE, median(downs))} MB/s vs docker cp ${mbps(SIZE, median(cpOut))} MB/s\n`,
    );
    await t.call('sandbox_delete', { sandbox_id: tid });
    process.stderr.write(`server resident memory around 8 MiB transfers, highest seen: ${t.maxRss().toFixed(1)} MB\n`);
    transferRss = t.maxRss();
    await t.close();
  }

  // gVisor: the same exec under runsc, where the engine has it.
  if (!want('gvisor')) {
    // not asked for (BENCH_ONLY)
  } else if (runtimes.includes('runsc')) {
    const g = await startServer({ SANDBOX_DOCKER_RUNTIME: 'runsc' });
    try {
      const gid = (await g.call('sandbox_create', { template: 'python' })).sandbox_id;
      await g.call('sandbox_execute', { sandbox_id: gid, code: 'true', language: 'bash' });
      report(
        'sandbox_execute true under gVisor (runsc)',
        await timeEach(N, () => g.call('sandbox_execute', { sandbox_id: gid, code: 'true', language: 'bash' })),
        exTrue,
      );
      report(
        'sandbox_execute print(1) under gVisor (runsc)',
        await timeEach(N, () => g.call('sandbox_execute', { sandbox_id: gid, code: 'print(1)', language: 'python' })),
        exPy,
      );
      process.stderr.write('  (ratios above: against the same call under runc, earlier in this run)\n');
      await g.call('sandbox_delete', { sandbox_id: gid });
    } catch (err) {
      process.stderr.write(`gVisor (runsc): registered but failed: ${err.message}\n`);
    }
    await g.close();
  } else {
    process.stderr.write('gVisor (runsc): not available on this engine (docker info lists no runsc runtime)\n');
  }

  if (want('e2b')) {
    // E2B: HTTP requests per sandbox_execute through the real SDK, counted by the fake E2B of test/fake-e2b/.
    const { startFakeE2B } = await import('../test/fake-e2b/index.ts');
    const fake = await startFakeE2B({ runtime: 'docker', image: IMAGE });
    const e = await startServer({ SANDBOX_PROVIDER: 'e2b', ...fake.env });
    try {
      const eid = (await e.call('sandbox_create', { template: 'base' })).sandbox_id;
      await e.call('sandbox_execute', { sandbox_id: eid, code: 'true', language: 'bash' });
      for (const [what, args] of [
        ['true', { code: 'true', language: 'bash' }],
        ['print(1)', { code: 'print(1)', language: 'python' }],
      ]) {
        const before = { ...fake.requests };
        const runs = 10;
        report(
          `E2B (fake) sandbox_execute ${what}`,
          await timeEach(runs, () => e.call('sandbox_execute', { sandbox_id: eid, ...args })),
        );
        const api = (fake.requests.api - before.api) / runs;
        const envd = (fake.requests.envd - before.envd) / runs;
        process.stderr.write(
          `  round trips per sandbox_execute ${what}: ${api + envd} HTTP requests (${api} to the API, ${envd} to envd)\n`,
        );
      }
      await e.call('sandbox_delete', { sandbox_id: eid });
    } finally {
      await e.close();
      await fake.close();
    }
  }

  process.stderr.write(
    `\nserver resident memory, highest seen: ${mainRss?.toFixed(1) ?? '-'} MB through the main run (no flags), ${transferRss?.toFixed(1) ?? '-'} MB around 8 MiB transfers\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ machine: { cpus: os.cpus().length, cpu, engine, node: process.version, runtimes }, modelFacing, mainRss, transferRss, rows }, null, 2)}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
