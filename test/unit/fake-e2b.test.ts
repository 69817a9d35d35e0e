/**
 * Proves the fake E2B backend (test/fake-e2b) against the REAL `e2b` SDK: every call below goes over HTTP
 * from the SDK to the fake, exactly as it would to E2B's cloud, and the fake answers as E2B's sources say.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthenticationError,
  CommandExitError,
  FileNotFoundError,
  InvalidArgumentError,
  RateLimitError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  ServiceBusyError,
  TimeoutError,
} from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANS, startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';

let fake: FakeE2B;

/** Whether a process still runs (a zombie waiting to be reaped by whatever init this machine has counts as dead). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  // In debug mode the SDK never calls the API: make sure it is off.
  delete process.env.E2B_DEBUG;
  fake = await startFakeE2B({ pageSize: 2, plan: 'pro' });
});

afterAll(async () => {
  await fake?.close();
});

describe('fake E2B: sandbox lifecycle over the REST API', () => {
  it('creates a sandbox with metadata, envs and timeout, and reports it with getInfo', async () => {
    const before = Date.now();
    const sbx = await Sandbox.create({
      ...fake.connectionOpts,
      metadata: { owner: 'tests', kind: 'create' },
      envs: { GREETING: 'hi' },
      timeoutMs: 120_000,
    });
    try {
      const info = await sbx.getInfo();
      expect(info.sandboxId).toBe(sbx.sandboxId);
      expect(info.templateId).toBe('base');
      expect(info.state).toBe('running');
      expect(info.metadata).toEqual({ owner: 'tests', kind: 'create' });
      expect(info.cpuCount).toBe(2);
      expect(info.memoryMB).toBe(512);
      expect(info.envdVersion).toBe('0.5.7');
      expect(info.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(info.endAt.getTime() - info.startedAt.getTime()).toBeGreaterThanOrEqual(119_000);
      expect(info.endAt.getTime() - info.startedAt.getTime()).toBeLessThanOrEqual(121_000);

      const state = fake.sandboxes.get(sbx.sandboxId);
      expect(state?.envVars).toEqual({ GREETING: 'hi' });
      expect(state?.envdAccessToken).toMatch(/^[0-9a-f]{48}$/);
      expect((await sbx.commands.run('echo "$GREETING"')).stdout).toBe('hi\n');
      expect(await sbx.isRunning()).toBe(true);
    } finally {
      await sbx.kill();
    }
  });

  it('sets the timeout, and kills a sandbox whose timeout passes', async () => {
    const sbx = await Sandbox.create({ ...fake.connectionOpts, timeoutMs: 60_000 });
    await sbx.setTimeout(600_000);
    const info = await sbx.getInfo();
    expect(Math.abs(info.endAt.getTime() - (Date.now() + 600_000))).toBeLessThan(3000);

    await sbx.setTimeout(300);
    await waitFor(() => !fake.sandboxes.has(sbx.sandboxId));
    await expect(sbx.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('pauses instead of killing on timeout with lifecycle.onTimeout = pause', async () => {
    const sbx = await Sandbox.create({ ...fake.connectionOpts, timeoutMs: 1000, lifecycle: { onTimeout: 'pause' } });
    try {
      expect((await sbx.getInfo()).lifecycle).toEqual({ onTimeout: 'pause', autoResume: false });
      await waitFor(() => fake.sandboxes.get(sbx.sandboxId)?.state === 'paused');
      expect((await sbx.getInfo()).state).toBe('paused');
    } finally {
      await sbx.kill();
    }
  });

  it('reports no metrics before the first 5 s sample, then samples in the shape getMetrics parses', async () => {
    const sbx = await Sandbox.create(fake.connectionOpts);
    try {
      expect(await sbx.getMetrics()).toEqual([]); // orchestrator/pkg/metrics/sandboxes.go: every 5 s
      await waitFor(async () => (await sbx.getMetrics()).length > 0, 15_000);
      const m = (await sbx.getMetrics())[0]!;
      expect(m.timestamp).toBeInstanceOf(Date);
      expect(Number.isNaN(m.timestamp.getTime())).toBe(false);
      expect(m.cpuCount).toBe(2);
      expect(m.cpuUsedPct).toBeGreaterThanOrEqual(0);
      expect(m.cpuUsedPct).toBeLessThanOrEqual(100);
      expect(m.memTotal).toBe(512 * 1024 * 1024);
      expect(m.memUsed).toBeGreaterThan(0);
      expect(m.memUsed).toBeLessThanOrEqual(m.memTotal);
      expect(m.diskTotal).toBeGreaterThan(m.diskUsed);
    } finally {
      await sbx.kill();
    }
  });

  it('pauses a sandbox keeping its memory (processes frozen, then carrying on) and Sandbox.connect resumes it with its files', async () => {
    const sbx = await Sandbox.create({ ...fake.connectionOpts, metadata: { kind: 'pause' } });
    await sbx.files.write('/home/user/keep.txt', 'still here');
    const bg = await sbx.commands.run('sleep 60', { background: true });
    expect(alive(bg.pid)).toBe(true);

    expect(await sbx.pause()).toBe(true);
    expect((await sbx.getInfo()).state).toBe('paused');
    await waitFor(() => /\) T /.test(readFileSync(`/proc/${bg.pid}/stat`, 'utf8'))); // stopped, not gone
    expect(await sbx.pause()).toBe(false); // already paused: 409
    // envd is unreachable while paused: the client proxy answers 502.
    await expect(sbx.files.read('/home/user/keep.txt')).rejects.toBeInstanceOf(TimeoutError);
    expect(await sbx.isRunning()).toBe(false);

    const resumed = await Sandbox.connect(sbx.sandboxId, { ...fake.connectionOpts, timeoutMs: 90_000 });
    expect(resumed.sandboxId).toBe(sbx.sandboxId);
    expect(fake.sandboxes.get(sbx.sandboxId)?.resumeCount).toBe(1);
    const info = await resumed.getInfo();
    expect(info.state).toBe('running');
    expect(Math.abs(info.endAt.getTime() - (Date.now() + 90_000))).toBeLessThan(3000);
    expect(await resumed.files.read('/home/user/keep.txt')).toBe('still here');
    expect(alive(bg.pid)).toBe(true);
    await waitFor(() => !/\) T /.test(readFileSync(`/proc/${bg.pid}/stat`, 'utf8')));

    // Connecting to a running sandbox does not resume it again; the old handle keeps working.
    await Sandbox.connect(sbx.sandboxId, fake.connectionOpts);
    expect(fake.sandboxes.get(sbx.sandboxId)?.resumeCount).toBe(1);
    expect((await sbx.commands.run('cat keep.txt')).stdout).toBe('still here');
    await resumed.kill();
  });

  it('kills a sandbox: its directory goes, and later calls raise SandboxNotFoundError', async () => {
    const sbx = await Sandbox.create(fake.connectionOpts);
    const rootDir = fake.sandboxes.get(sbx.sandboxId)!.rootDir;
    expect(existsSync(rootDir)).toBe(true);

    expect(await sbx.kill()).toBe(true);
    expect(existsSync(rootDir)).toBe(false);
    expect(fake.sandboxes.has(sbx.sandboxId)).toBe(false);
    expect(await sbx.kill()).toBe(false); // 404 on kill is "not found", not an error
    await expect(sbx.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(sbx.setTimeout(10_000)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(sbx.getMetrics()).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(Sandbox.connect(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(Sandbox.getInfo(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
    // envd of a dead sandbox: the proxy's 502 surfaces as SandboxNotFoundError when starting a command.
    await expect(sbx.commands.run('true')).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('lists sandboxes by metadata across several pages, and filters by state', async () => {
    const tag = `list-${Date.now()}`;
    const created = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        Sandbox.create({ ...fake.connectionOpts, metadata: { suite: tag, 'odd key&=': 'a b&c=d%', n: String(i) } }),
      ),
    );
    const other = await Sandbox.create({ ...fake.connectionOpts, metadata: { suite: 'someone-else' } });
    try {
      const paginator = Sandbox.list({
        ...fake.connectionOpts,
        query: { metadata: { suite: tag, 'odd key&=': 'a b&c=d%' } },
      });
      const seen: string[] = [];
      let pages = 0;
      while (paginator.hasNext) {
        const items = await paginator.nextItems();
        pages += 1;
        expect(items.length).toBeLessThanOrEqual(2);
        for (const item of items) {
          expect(item.metadata.suite).toBe(tag);
          expect(item.state).toBe('running');
          expect(item.startedAt).toBeInstanceOf(Date);
          seen.push(item.sandboxId);
        }
      }
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(created.map((s) => s.sandboxId).sort());

      // A single-item page size from the SDK side also walks everything.
      const small = Sandbox.list({ ...fake.connectionOpts, limit: 1, query: { metadata: { suite: tag } } });
      let count = 0;
      while (small.hasNext) count += (await small.nextItems()).length;
      expect(count).toBe(5);

      await created[0]!.pause();
      const paused = Sandbox.list({ ...fake.connectionOpts, query: { metadata: { suite: tag }, state: ['paused'] } });
      const pausedItems = await paused.nextItems();
      expect(pausedItems.map((s) => s.sandboxId)).toEqual([created[0]!.sandboxId]);
      expect(pausedItems[0]!.state).toBe('paused');
      expect(paused.hasNext).toBe(false);
    } finally {
      await Promise.all([...created, other].map((s) => s.kill()));
    }
  });
});

describe('fake E2B: commands over envd (process.Process)', () => {
  let sbx: Sandbox;
  beforeAll(async () => {
    sbx = await Sandbox.create({
      ...fake.connectionOpts,
      envs: { SANDBOX_WIDE: 'from-create', OVERRIDE_ME: 'sandbox' },
    });
  });
  afterAll(async () => {
    await sbx?.kill();
  });

  it("counts the HTTP requests it receives, by server (for the benchmark's round trips)", async () => {
    const before = { ...fake.requests };
    await sbx.commands.run('true');
    expect(fake.requests.envd - before.envd).toBe(1);
    expect(fake.requests.api).toBe(before.api);
    await Sandbox.list({ ...fake.connectionOpts }).nextItems();
    expect(fake.requests.api).toBeGreaterThan(before.api);
  });

  it('runs a command and returns stdout, stderr and the exit code', async () => {
    const result = await sbx.commands.run('echo out; echo err >&2');
    expect(result).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(result.error).toBeUndefined();
  });

  it('streams output through onStdout / onStderr as it is produced', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const result = await sbx.commands.run('for i in 1 2 3; do echo line$i; sleep 0.05; done; echo oops >&2', {
      onStdout: (d) => void out.push(d),
      onStderr: (d) => void err.push(d),
    });
    expect(out.join('')).toBe('line1\nline2\nline3\n');
    expect(out.length).toBeGreaterThanOrEqual(2); // several chunks, not one blob at the end
    expect(err.join('')).toBe('oops\n');
    expect(result.stdout).toBe('line1\nline2\nline3\n');
  });

  it('throws CommandExitError with the exit code for a non-zero exit', async () => {
    const error = await sbx.commands.run('echo partial; echo bad >&2; exit 3').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandExitError);
    const exit = error as CommandExitError;
    expect(exit.exitCode).toBe(3);
    expect(exit.stdout).toBe('partial\n');
    expect(exit.stderr).toBe('bad\n');
    expect(exit.error).toBe('exit status 3');
    expect(exit.message).toBe('exit status 3');
  });

  it('kills a background command with commands.kill (the process only, as envd) and closes its pipes', async () => {
    const handle = await sbx.commands.run('sleep 60 & echo $! > child.pid; wait', { background: true });
    expect(handle.pid).toBeGreaterThan(0);
    const pidFile = join(fake.sandboxes.get(sbx.sandboxId)!.rootDir, 'home/user/child.pid');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    const grandchild = Number((await sbx.files.read('/home/user/child.pid')).trim());
    expect(alive(grandchild)).toBe(true);

    expect(await sbx.commands.kill(handle.pid)).toBe(true);
    const error = await handle.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandExitError);
    expect((error as CommandExitError).exitCode).toBe(-1);
    expect((error as CommandExitError).error).toBe('signal: killed');
    await waitFor(() => !alive(handle.pid));
    expect(alive(grandchild)).toBe(true); // envd signals the process only
    process.kill(grandchild, 'SIGKILL');
    expect(await sbx.commands.kill(handle.pid)).toBe(false); // gone: NotFound
  });

  it('honours envs (sandbox-wide, then per command) and cwd, relative to /home/user', async () => {
    const env = await sbx.commands.run('echo "$SANDBOX_WIDE $OVERRIDE_ME $PER_CMD $USER"', {
      envs: { OVERRIDE_ME: 'command', PER_CMD: 'yes' },
    });
    expect(env.stdout).toBe('from-create command yes user\n');

    await sbx.files.write('/home/user/work/dir/note.txt', 'in the work dir');
    const inDir = await sbx.commands.run('pwd; cat note.txt', { cwd: '/home/user/work/dir' });
    const [pwd, note] = inDir.stdout.split('\n');
    expect(pwd).toBe(join(fake.sandboxes.get(sbx.sandboxId)!.rootDir, 'home/user/work/dir'));
    expect(note).toBe('in the work dir');
    expect((await sbx.commands.run('cat note.txt', { cwd: 'work/dir' })).stdout).toBe('in the work dir'); // relative to home
    expect((await sbx.commands.run('cat work/dir/note.txt')).stdout).toBe('in the work dir'); // default cwd is home
    expect((await sbx.commands.run('cat "$HOME/work/dir/note.txt"')).stdout).toBe('in the work dir');

    const missing = await sbx.commands.run('true', { cwd: '/home/user/nope' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvalidArgumentError);
    expect((missing as Error).message).toContain("cwd '/home/user/nope' does not exist");
  });

  it('runs as root when asked (its own HOME)', async () => {
    const result = await sbx.commands.run('echo "$USER $HOME"', { user: 'root' });
    expect(result.stdout).toBe(`root ${join(fake.sandboxes.get(sbx.sandboxId)!.rootDir, 'root')}\n`);
  });

  it('gives commands an empty stdin', async () => {
    expect((await sbx.commands.run('cat; echo end')).stdout).toBe('end\n');
  });

  it('kills a command that outlives its timeoutMs', async () => {
    const started = Date.now();
    const out: string[] = [];
    const error = await sbx.commands
      .run('echo started; sleep 30', { timeoutMs: 700, onStdout: (d) => void out.push(d) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(out.join('')).toBe('started\n');
    await waitFor(() => fake.sandboxes.get(sbx.sandboxId)!.processes.size === 0);
  });
});

describe('fake E2B: files over envd', () => {
  let sbx: Sandbox;
  beforeAll(async () => {
    sbx = await Sandbox.create(fake.connectionOpts);
  });
  afterAll(async () => {
    await sbx?.kill();
  });

  it('writes then reads text, with the entry info the SDK expects', async () => {
    const info = await sbx.files.write('/home/user/docs/hello.txt', 'héllo wörld\n');
    expect(info).toMatchObject({ name: 'hello.txt', type: 'file', path: '/home/user/docs/hello.txt' });
    expect(await sbx.files.read('/home/user/docs/hello.txt')).toBe('héllo wörld\n');
    expect(await sbx.files.read('docs/hello.txt')).toBe('héllo wörld\n'); // relative to /home/user
    // It really is in the sandbox's directory on disk, and commands see it.
    const host = join(fake.sandboxes.get(sbx.sandboxId)!.rootDir, 'home/user/docs/hello.txt');
    expect(await readFile(host, 'utf8')).toBe('héllo wörld\n');
    expect((await sbx.commands.run('cat docs/hello.txt')).stdout).toBe('héllo wörld\n');
    await sbx.files.write('/tmp/empty.txt', '');
    expect(await sbx.files.read('/tmp/empty.txt')).toBe('');
  });

  it('round-trips binary data (every byte value) in both directions', async () => {
    const bytes = new Uint8Array(256 * 4).map((_, i) => i % 256);
    await sbx.files.write('/home/user/bin/all.bytes', bytes.buffer);
    const back = await sbx.files.read('/home/user/bin/all.bytes', { format: 'bytes' });
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    const blob = await sbx.files.read('/home/user/bin/all.bytes', { format: 'blob' });
    expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    // Raw (octet-stream) uploads and gzip both ways.
    await sbx.files.write('/home/user/bin/raw.bytes', bytes.buffer, { useOctetStream: true });
    await sbx.files.write('/home/user/bin/gz.bytes', bytes.buffer, { gzip: true });
    for (const name of ['raw', 'gz']) {
      const read = await sbx.files.read(`/home/user/bin/${name}.bytes`, { format: 'bytes', gzip: true });
      expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
    }
    // Bytes written by a command come back intact too.
    await sbx.commands.run("printf '\\x00\\xff\\x80' > made.bin");
    expect([...(await sbx.files.read('made.bin', { format: 'bytes' }))]).toEqual([0, 255, 128]);
  });

  it('writes several files at once', async () => {
    const infos = await sbx.files.write([
      { path: '/home/user/multi/a.txt', data: 'A' },
      { path: '/home/user/multi/b.txt', data: 'B' },
    ]);
    expect(infos.map((i) => i.path)).toEqual(['/home/user/multi/a.txt', '/home/user/multi/b.txt']);
    expect(await sbx.files.read('/home/user/multi/b.txt')).toBe('B');
  });

  it('raises FileNotFoundError for a missing file', async () => {
    await expect(sbx.files.read('/home/user/missing.txt')).rejects.toBeInstanceOf(FileNotFoundError);
  });
});

describe('fake E2B: errors and configuration', () => {
  it('rejects a bad API key with AuthenticationError', async () => {
    await expect(Sandbox.create({ ...fake.connectionOpts, apiKey: 'e2b_not_the_key' })).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    await expect(
      Sandbox.list({ ...fake.connectionOpts, apiKey: 'e2b_not_the_key' }).nextItems(),
    ).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('answers injected failures: failNext(429) raises RateLimitError, then the API works again', async () => {
    fake.failNext(429);
    await expect(Sandbox.create(fake.connectionOpts)).rejects.toBeInstanceOf(RateLimitError);
    fake.failNext(503, 2);
    await expect(Sandbox.list(fake.connectionOpts).nextItems()).rejects.toBeInstanceOf(ServiceBusyError);
    await expect(Sandbox.list(fake.connectionOpts).nextItems()).rejects.toBeInstanceOf(ServiceBusyError);
    const sbx = await Sandbox.create(fake.connectionOpts);
    await sbx.kill();
  });

  it('is reachable through the E2B_* environment variables alone', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, fake.env);
    try {
      const sbx = await Sandbox.create();
      expect((await sbx.commands.run('echo via env')).stdout).toBe('via env\n');
      expect((await Sandbox.connect(sbx.sandboxId)).sandboxId).toBe(sbx.sandboxId);
      expect(await Sandbox.kill(sbx.sandboxId)).toBe(true);
    } finally {
      for (const key of Object.keys(fake.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it('answers 404 for a template that does not exist (cache/templates/errors.go), as a plain SandboxError with its status', async () => {
    const error = await Sandbox.create('no-such-template', fake.connectionOpts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ statusCode: 404, message: "404: template 'no-such-template' not found" });
  });

  it("keeps a running sandbox's lifetime when connect asks for less, and extends it to 300 s when connect names none", async () => {
    const sbx = await Sandbox.create({ ...fake.connectionOpts, timeoutMs: 60_000 });
    try {
      const endAt = () => fake.sandboxes.get(sbx.sandboxId)!.endAt.getTime();
      const before = endAt();
      await Sandbox.connect(sbx.sandboxId, { ...fake.connectionOpts, timeoutMs: 5_000 });
      expect(endAt()).toBe(before);
      await Sandbox.connect(sbx.sandboxId, fake.connectionOpts);
      expect(endAt() - Date.now()).toBeGreaterThan(290_000);
    } finally {
      await sbx.kill();
    }
  });

  it('answers 409 to setTimeout on a paused sandbox (keep_alive.go: not running)', async () => {
    const sbx = await Sandbox.create(fake.connectionOpts);
    try {
      await sbx.pause();
      const error = await Sandbox.setTimeout(sbx.sandboxId, 60_000, fake.connectionOpts).catch((e: unknown) => e);
      expect(error).toMatchObject({ statusCode: 409 });
    } finally {
      await Sandbox.kill(sbx.sandboxId, fake.connectionOpts);
    }
  });

  it('requires the sandbox access token on envd', async () => {
    const sbx = await Sandbox.create(fake.connectionOpts);
    try {
      const res = await fetch(`${fake.sandboxUrl}/files?path=/home/user/x`, {
        headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': 'wrong' },
      });
      expect(res.status).toBe(401);
      const health = await fetch(`${fake.sandboxUrl}/health`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId } });
      expect(health.status).toBe(204);
    } finally {
      await sbx.kill();
    }
  });
});

describe.each(Object.values(PLANS))('fake E2B on the $name plan', (plan) => {
  let planned: FakeE2B;
  beforeAll(async () => {
    planned = await startFakeE2B({ plan: plan.name });
  });
  afterAll(async () => {
    await planned?.close();
  });

  it(`refuses a create above ${plan.maxLengthHours} h with 400 (timeout_helper.go), and caps setTimeout silently (keep_alive.go)`, async () => {
    const maxMs = plan.maxLengthHours * 3600_000;
    const error = await Sandbox.create({ ...planned.connectionOpts, timeoutMs: maxMs + 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      statusCode: 400,
      message: `400: Timeout cannot be greater than ${plan.maxLengthHours} hours`,
    });
    const sbx = await Sandbox.create({ ...planned.connectionOpts, timeoutMs: 60_000 });
    try {
      await Sandbox.setTimeout(sbx.sandboxId, maxMs + 3600_000, planned.connectionOpts); // 204
      const { startedAt, endAt } = await sbx.getInfo();
      expect(endAt.getTime() - startedAt.getTime()).toBeLessThanOrEqual(maxMs + 1000);
      expect(endAt.getTime() - startedAt.getTime()).toBeGreaterThan(maxMs - 5000);
    } finally {
      await sbx.kill();
    }
  });

  it(`answers 429 once ${plan.concurrentSandboxes} sandboxes run (create_instance.go); paused ones do not count`, async () => {
    const made = await Promise.all(
      Array.from({ length: plan.concurrentSandboxes }, () => Sandbox.create(planned.connectionOpts)),
    );
    try {
      await expect(Sandbox.create(planned.connectionOpts)).rejects.toBeInstanceOf(RateLimitError);
      await made[0]!.pause();
      const one = await Sandbox.create(planned.connectionOpts);
      made.push(one);
      // Resuming the paused one would make one too many.
      await expect(Sandbox.connect(made[0]!.sandboxId, planned.connectionOpts)).rejects.toBeInstanceOf(RateLimitError);
    } finally {
      await Promise.all(made.map((s) => Sandbox.kill(s.sandboxId, planned.connectionOpts)));
    }
  });
});
