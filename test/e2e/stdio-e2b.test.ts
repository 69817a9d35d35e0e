import { createHash } from 'node:crypto';
import { Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANS, startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { failure, ok as outputOf, okCaller, textOf, type ToolOutput } from '../helpers/tool-call.js';

// The built server with SANDBOX_PROVIDER=e2b, its real SDK pointed at the fake E2B (Docker-backed sandboxes).
describeDocker('the built server over stdio, on E2B', () => {
  let fake: FakeE2B;
  let server: Awaited<ReturnType<typeof spawnServer>>;
  const ok = okCaller((name, args, options) => server.call(name, args, options));

  beforeAll(async () => {
    fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE });
    server = await spawnServer({ SANDBOX_PROVIDER: 'e2b', ...fake.env, SANDBOX_STATE_DIR: tempStateDir() });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('serves the tools with the same results as on Docker', async () => {
    const created = await ok('sandbox_create', {
      template: 'python',
      name: 'on-e2b',
      env_vars: { TOKEN: 'e2b-secret-value' },
      metadata: { k: 'v' },
      install_packages: ['apt:jq'],
      startup_script: 'mkdir -p work && jq -n \'"ready"\' > work/state.json',
    });
    const id = created.sandbox_id;
    expect(created).toMatchObject({
      provider: 'e2b',
      status: 'running',
      name: 'on-e2b',
      env_vars_configured: 1,
      env_var_names: ['TOKEN'],
      packages_installed: 1,
      packages: ['jq'],
      startup_script_configured: true,
    });
    expect(fake.sandboxes.size).toBe(1);
    expect(
      (await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'cat work/state.json; stat -c %U work' }))
        .output,
    ).toBe('"ready"\nuser\n');

    const progress: string[] = [];
    const streamed = await server.call(
      'sandbox_execute',
      {
        sandbox_id: id,
        code: 'import time\nfor i in range(3):\n    print("tick", i, flush=True)\n    time.sleep(0.2)',
      },
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    expect(outputOf(streamed).output).toBe('tick 0\ntick 1\ntick 2\n');
    expect(progress.join('')).toMatch(/stdout: tick 0[\s\S]*tick 2/);

    const run = await ok('sandbox_execute', {
      sandbox_id: id,
      code: 'import os, sys\nprint(os.getuid(), len(os.environ["TOKEN"]), sys.stdin.read())',
      stdin: 'in',
    });
    expect(run).toMatchObject({ status: 'completed', exit_code: 0, output: '1000 16 in\n' });
    expect((await ok('sandbox_execute', { sandbox_id: id, code: 'raise SystemExit(5)' })).exit_code).toBe(5);
    const slow = await ok('sandbox_execute', {
      sandbox_id: id,
      language: 'bash',
      code: 'echo begun; sleep 60',
      timeout: 2,
    });
    expect(slow).toMatchObject({ status: 'timeout', exit_code: 124, output: 'begun\n' });

    const content = 'a,b\n1,2\n';
    const up = await ok('sandbox_upload', { sandbox_id: id, file_path: 'data/x.csv', content });
    expect(up.checksum).toBe(`sha256:${createHash('sha256').update(content).digest('hex')}`);
    const denied = await server.call('sandbox_upload', { sandbox_id: id, file_path: '/etc/passwd', content: 'x' });
    expect(failure(denied).code).toBe('PERMISSION_DENIED');

    const configured = await ok('sandbox_configure', {
      sandbox_id: id,
      run_commands: ['wc -l < data/x.csv'],
      timeout: 900,
    });
    expect(configured.steps[0]!.output_tail).toBe('2\n');
    expect((await ok('sandbox_list', {})).sandboxes.map((s) => s.sandbox_id)).toEqual([id]);
    const status = await ok('sandbox_status', { sandbox_id: id });
    expect(status.sandbox).toMatchObject({ provider: 'e2b', status: 'running', executions: { total: 5, failed: 2 } });
    expect(status.sandbox.resource_usage.pids).toBeGreaterThan(0);
    const logs = await ok('sandbox_logs', { sandbox_id: id, log_level: 'info' });
    expect(logs.logs.some((l) => l.message === '1000 16 in')).toBe(true);

    expect(await ok('sandbox_stop', { sandbox_id: id })).toMatchObject({
      previous_status: 'running',
      data_preserved: true,
    });
    expect(failure(await server.call('sandbox_execute', { sandbox_id: id, code: 'print(1)' })).code).toBe(
      'SANDBOX_NOT_RUNNING',
    );
    expect(await ok('sandbox_configure', { sandbox_id: id })).toMatchObject({ started: true, status: 'running' });
    expect((await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'cat data/x.csv' })).output).toBe(
      content,
    );

    await ok('sandbox_delete', { sandbox_id: id });
    expect(fake.sandboxes.size).toBe(0);
    expect(failure(await server.call('sandbox_status', { sandbox_id: id })).code).toBe('SANDBOX_NOT_FOUND');
    expect(server.stderr()).not.toContain('e2b-secret-value');
  });
  it('leaves npm packages usable by the user, with require, import and their command-line tools, as on Docker', async () => {
    const id = (await ok('sandbox_create', { template: 'python', install_packages: ['npm:ms', 'npm:semver@7.6.3'] }))
      .sandbox_id;
    try {
      const bash = async (code: string) => await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code });
      expect((await bash("node -e \"console.log(require('ms')('2h'))\"")).output).toBe('7200000\n');
      expect((await bash('node --input-type=module -e "import ms from \'ms\'; console.log(ms(1000))"')).output).toBe(
        '1s\n',
      );
      expect((await bash('semver -i minor 1.2.3')).output).toBe('1.3.0\n');
      expect((await bash('find /home/user ! -user user | head -5')).output).toBe('');
      const own = await bash(
        'npm install --no-audit --no-fund --loglevel=error is-number >/dev/null && echo installed',
      );
      expect(own.output, own.error).toBe('installed\n');
    } finally {
      await server.call('sandbox_delete', { sandbox_id: id });
    }
  });

  it('hands files back, runs in the background, restarts, gives port URLs and runs one-off, as on Docker', async () => {
    const id = (await ok('sandbox_create', { template: 'python', ports: [8000] })).sandbox_id;
    const created = await ok('sandbox_status', { sandbox_id: id });
    expect(created.sandbox.urls['8000']).toMatch(/^https:\/\/8000-/);

    const chart =
      'import struct, zlib\ndef chunk(k, d):\n    b = k + d\n    return struct.pack(">I", len(d)) + b + struct.pack(">I", zlib.crc32(b) & 0xffffffff)\n' +
      'open("c.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\\x00" + bytes(6))) + chunk(b"IEND", b""))';
    const made = await server.call('sandbox_execute', { sandbox_id: id, code: chart, return_files: ['*.png'] });
    expect(outputOf(made).files).toMatchObject([{ path: '/home/user/c.png', mime_type: 'image/png', included: true }]);
    expect((made.content as Array<{ type: string }>).some((b) => b.type === 'image')).toBe(true);
    const down = await ok('sandbox_download', { sandbox_id: id, file_path: 'c.png' });
    expect(down).toMatchObject({ type: 'file', mime_type: 'image/png', encoding: 'base64' });
    expect(down.checksum).toBe(
      `sha256:${createHash('sha256').update(Buffer.from(down.content!, 'base64')).digest('hex')}`,
    );
    expect((await ok('sandbox_download', { sandbox_id: id, file_path: '.' })).entries?.map((e) => e.name)).toContain(
      'c.png',
    );

    const bg = await ok('sandbox_execute', {
      sandbox_id: id,
      background: true,
      code: 'import time\nfor i in range(2):\n    print("bg", i, flush=True)\n    time.sleep(0.5)',
    });
    expect(bg.status).toBe('running');
    let logs: ToolOutput<'sandbox_logs'> | undefined;
    for (let i = 0; i < 60; i++) {
      logs = await ok('sandbox_logs', { sandbox_id: id, execution_id: bg.execution_id });
      if (logs.execution?.status !== 'running') break;
      await new Promise((done) => setTimeout(done, 250));
    }
    expect(logs?.execution).toMatchObject({ status: 'completed', exit_code: 0 });
    expect(logs?.logs.filter((l) => l.source === 'stdout').map((l) => l.message)).toEqual(['bg 0', 'bg 1']);

    const ps = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done";
    await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'echo kept > kept.txt' });
    await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'sleep 7777', background: true });
    // The background run starts while the call returns: wait for its process to show up.
    let before = '';
    for (let i = 0; i < 40 && !before.includes('sleep 7777'); i++) {
      if (i) await new Promise((done) => setTimeout(done, 250));
      before = (await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: ps })).output;
    }
    expect(before).toContain('sleep 7777');
    expect(await ok('sandbox_configure', { sandbox_id: id, restart: true })).toMatchObject({ restarted: true });
    const after = await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: `cat kept.txt; ${ps}` });
    expect(after.output).toMatch(/^kept\n/);
    expect(after.output).not.toContain('sleep 7777');

    const once = await ok('sandbox_execute', { template: 'python', code: 'print("once")' });
    expect(once.output).toBe('once\n');
    expect([...fake.sandboxes.keys()]).toHaveLength(1);
    await ok('sandbox_delete', { sandbox_id: id });
  });
});

// What an agent sees of E2B as it really is (issue 8), on each plan the fake offers.
describeDocker('the built server over stdio, on E2B as it is', () => {
  describe.each(Object.values(PLANS))('on the $name plan', (plan) => {
    let fake: FakeE2B;
    let server: Awaited<ReturnType<typeof spawnServer>>;
    const ok = okCaller((name, args, options) => server.call(name, args, options));

    beforeAll(async () => {
      fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE, plan: plan.name });
      // The server's own cap is set above every plan's, so that E2B's is the one met.
      server = await spawnServer({
        SANDBOX_PROVIDER: 'e2b',
        ...fake.env,
        SANDBOX_STATE_DIR: tempStateDir(),
        SANDBOX_MAX_TIMEOUT: String(3 * 24 * 3600),
      });
    });
    afterAll(async () => {
      await server?.close();
      await fake?.close();
    });

    it('keeps a background server up after its run, tells the lifetime E2B honours, and says when usage is not sampled yet', async () => {
      const { sandbox_id: id } = await ok('sandbox_create', { template: 'base', timeout: 600 });
      const status = await server.call('sandbox_status', { sandbox_id: id });
      expect(outputOf(status).sandbox.resource_usage).toMatchObject({ sampled: false, cpu_percent: 0 });
      expect(textOf(status)).toMatch(/cpu and memory not sampled yet/);

      const started = await ok('sandbox_execute', {
        sandbox_id: id,
        language: 'bash',
        code: 'python3 -m http.server 8010 &\necho serving',
      });
      expect(started).toMatchObject({ status: 'completed', exit_code: 0, output: 'serving\n' });
      // envd closes a run's pipes at its deadline: do it now.
      const e2bId = [...fake.sandboxes.keys()][0]!;
      const sdk = await Sandbox.connect(e2bId, { ...fake.connectionOpts, timeoutMs: 600_000 });
      for (const pid of fake.sandboxes.get(e2bId)!.processes.keys()) await sdk.commands.kill(pid);
      const fetched = await ok('sandbox_execute', {
        sandbox_id: id,
        language: 'python',
        code: 'import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:8010/").status)',
      });
      expect(fetched.output).toBe('200\n');

      // A lifetime above the plan's is capped by E2B from the sandbox's start: the result says so.
      const askedS = plan.maxLengthHours * 3600 + 3600;
      const configured = await ok('sandbox_configure', { sandbox_id: id, timeout: askedS });
      const startedAt = fake.sandboxes.get(e2bId)!.startedAt.getTime();
      expect(Math.abs(Date.parse(configured.expires_at) - (startedAt + plan.maxLengthHours * 3600_000))).toBeLessThan(
        3000,
      );
      expect(Date.parse((await ok('sandbox_status', { sandbox_id: id })).sandbox.expires_at)).toBe(
        Date.parse(configured.expires_at),
      );
      await ok('sandbox_delete', { sandbox_id: id });
    });

    it(`refuses a lifetime above the plan's ${plan.maxLengthHours} h at create with a hint`, async () => {
      const long = await server.call('sandbox_create', { template: 'base', timeout: plan.maxLengthHours * 3600 + 60 });
      expect(failure(long)).toMatchObject({
        code: 'INVALID_ARGUMENT',
        hint: expect.stringMatching(/plan/),
      });
      expect(fake.sandboxes.size).toBe(0);
    });
  });
});
