import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { Labels } from '../../src/labels.js';
import { MANAGED_FILTER } from '../../src/providers/docker/label-filters.js';
import { reapExpired } from '../../src/sandbox/background/reaper.js';
import { describeDocker } from '../helpers/docker-env.js';
import { dockerSession, LogCapture } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';
import { failure, type CallOptions, type ToolInput } from '../helpers/tool-call.js';

const SECRET = `s3cr3t-${randomBytes(12).toString('hex')}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describeDocker('sandbox features on a real engine', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const config = testConfig({ SANDBOX_OUTPUT_LIMIT: '65536' });
  const logs = new LogCapture();
  let s: Awaited<ReturnType<typeof dockerSession>>;
  let id: string;
  const results: string[] = [];

  /** Runs code that must not be a tool error, and keeps the result for the secret check at the end. */
  const exec = async (args: ToolInput<'sandbox_execute'>, options?: CallOptions) => {
    const r = await s.ok('sandbox_execute', { sandbox_id: id, ...args }, options);
    results.push(JSON.stringify(r));
    return r;
  };
  const processes = async () =>
    (await exec({ language: 'bash', code: "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done" })).output;
  /** Whether any container, in any state, carries this metadata marker. */
  const leftBehind = async (marker: string) =>
    (await docker.listContainers({ all: true, filters: MANAGED_FILTER })).some((c) =>
      (c.Labels[Labels.metadata] ?? '').includes(marker),
    );

  beforeAll(async () => {
    s = await dockerSession(config, logs);
    const created = await s.ok('sandbox_create', {
      template: 'python',
      name: 'features',
      env_vars: { SECRET_TOKEN: SECRET },
    });
    results.push(JSON.stringify(created));
    id = created.sandbox_id;
  });

  afterAll(async () => {
    await s?.close();
  });

  it("keeps environment variables for every run, and a run's own on top", async () => {
    const first = await exec({
      code: 'import os; print(len(os.environ["SECRET_TOKEN"]), os.environ.get("EXTRA"))',
      env_vars: { EXTRA: 'once' },
    });
    expect(first.output).toBe(`${SECRET.length} once\n`);
    await s.ok('sandbox_configure', { sandbox_id: id, env_vars: { LATER: 'added' } });
    const second = await exec({
      code: 'import os; print(len(os.environ["SECRET_TOKEN"]), os.environ.get("EXTRA"), os.environ["LATER"])',
    });
    expect(second.output).toBe(`${SECRET.length} None added\n`);
  });

  it('uploads a CSV, verifies it in the sandbox, and computes on it', async () => {
    const csv = 'city,temp\nOslo,3\nLima,19\nOslo,5\n';
    const up = await s.ok('sandbox_upload', { sandbox_id: id, file_path: 'data/temps.csv', content: csv });
    expect(up).toMatchObject({ file_path: '/home/user/data/temps.csv', size_bytes: csv.length, permissions: '644' });
    expect(up.checksum).toBe(`sha256:${createHash('sha256').update(csv).digest('hex')}`);
    const binary = randomBytes(4096);
    const bin = await s.ok('sandbox_upload', {
      sandbox_id: id,
      file_path: '/tmp/blob.bin',
      content: binary.toString('base64'),
      encoding: 'base64',
      permissions: '600',
    });
    expect(bin.checksum).toBe(`sha256:${createHash('sha256').update(binary).digest('hex')}`);
    const r = await exec({
      code: 'import csv\nrows = list(csv.DictReader(open("data/temps.csv")))\nprint(sum(int(r["temp"]) for r in rows if r["city"] == "Oslo"))',
    });
    expect(r.output).toBe('8\n');
  });

  it('kills every process of a run that times out and returns what it printed', async () => {
    const code = [
      'import subprocess, sys, time, os',
      'subprocess.Popen(["sleep", "401"])',
      'subprocess.Popen(["setsid", "sleep", "402"])',
      'print("started", flush=True)',
      'while True: time.sleep(0.1)',
    ].join('\n');
    const r = await exec({ code, timeout: 2 });
    expect(r).toMatchObject({ status: 'timeout', exit_code: 124, output: 'started\n' });
    expect(r.hint).toMatch(/killed after 2s/);
    expect(await processes()).not.toMatch(/sleep 40[12]/);
  });

  it('caps a flood of output, keeping head and tail and counting every byte', async () => {
    const r = await exec({
      language: 'bash',
      code: 'echo BEGIN; head -c 30000000 /dev/zero | tr "\\0" x; echo; echo END',
    });
    expect(r.status).toBe('completed');
    expect(r.output_truncated).toBe(true);
    expect(r.output_bytes).toBe(30_000_000 + 'BEGIN\n\nEND\n'.length);
    expect(r.output.length).toBeLessThan(66_000);
    expect(r.output.startsWith('BEGIN\nxxx')).toBe(true);
    expect(r.output.endsWith('xxx\nEND\n')).toBe(true);
  });

  it("streams a run's output as progress notifications", async () => {
    const messages: string[] = [];
    await exec(
      { code: 'import time\nfor i in range(3):\n    print("tick", i, flush=True)\n    time.sleep(0.3)' },
      { onprogress: (p) => messages.push(p.message ?? '') },
    );
    expect(messages.join('')).toMatch(/stdout: tick 0[\s\S]*tick 1[\s\S]*tick 2/);
    expect(messages.length).toBeGreaterThanOrEqual(3);
  });

  it('runs javascript and shells as well as python', async () => {
    expect(
      (await exec({ language: 'javascript', code: 'console.log([1,2,3].map(x => x * 2).join(","))' })).output,
    ).toBe('2,4,6\n');
    expect((await exec({ language: 'sh', code: 'echo "$0" | grep -c sh' })).output).toBe('1\n');
    const stdin = await exec({ language: 'python', code: 'import sys; print(sys.stdin.read()[::-1])', stdin: 'abc' });
    expect(stdin.output).toBe('cba\n');
  });

  it('reports a non-zero exit as a failed run, not an error', async () => {
    const r = await exec({ code: 'import sys; print("partial"); sys.exit(7)' });
    expect(r).toMatchObject({ status: 'failed', exit_code: 7, output: 'partial\n' });
  });

  it('reports a memory bomb as killed with exit 137 and a hint', async () => {
    const small = (await s.ok('sandbox_create', { template: 'python', memory_mb: 128 })).sandbox_id;
    const r = await s.ok('sandbox_execute', {
      sandbox_id: small,
      code: 'x = []\nwhile True: x.append(bytearray(10 * 1024 * 1024))',
    });
    expect(r).toMatchObject({ status: 'failed', exit_code: 137 });
    expect(r.hint).toMatch(/memory limit of 128 MB/);
  });

  it('installs apt and npm packages for real', async () => {
    const r = await s.ok('sandbox_create', { template: 'base', install_packages: ['apt:jq', 'npm:is-number@7.0.0'] });
    expect(r).toMatchObject({ packages_installed: 2, packages: ['jq', 'is-number@7.0.0'] });
    const out = await s.ok('sandbox_execute', {
      sandbox_id: r.sandbox_id,
      language: 'bash',
      code: 'echo \'{"a": 41}\' | jq ".a + 1"; node -e "console.log(require(\'is-number\')(5))"',
    });
    expect(out.output).toBe('42\ntrue\n');
  });

  it('leaves npm packages usable by the user: require and import, nothing root-owned in the home, its own npm install', async () => {
    const r = await s.ok('sandbox_create', { template: 'node', install_packages: ['npm:ms', 'npm:semver@7.6.3'] });
    const bash = async (code: string) =>
      (await s.ok('sandbox_execute', { sandbox_id: r.sandbox_id, language: 'bash', code, timeout: 120 })).output;
    expect(
      await bash(
        `node -e "console.log(require('ms')('2h'))"; node --input-type=module -e "import ms from 'ms'; console.log(ms('1m'))"`,
      ),
    ).toBe('7200000\n60000\n');
    expect(
      await bash(
        `mkdir -p app && cd app && echo "import ms from 'ms'; console.log(ms('1s'))" > main.mjs && node main.mjs`,
      ),
    ).toBe('1000\n');
    expect(await bash('find /home/user ! -user 1000 -o ! -group 1000 | head -5; echo end')).toBe('end\n');
    expect(await bash('semver -i minor 1.2.3')).toBe('1.3.0\n'); // their command-line tools are on PATH
    const later = await bash(
      `npm install --no-audit --no-fund is-number >/dev/null 2>&1; echo "exit $?"; node -e "console.log(require('is-number')(5), require('ms')('1s'))"`,
    );
    expect(later).toBe('exit 0\ntrue 1000\n');
  });

  it('installs pip packages for real where PyPI is reachable', async (ctx) => {
    const probe = await exec({
      code: 'import socket\ntry:\n    socket.getaddrinfo("pypi.org", 443); print("yes")\nexcept OSError: print("no")',
    });
    if (probe.output !== 'yes\n') ctx.skip('PyPI is not reachable from sandboxes on this machine');
    const r = await s.ok('sandbox_create', { template: 'python', install_packages: ['six==1.16.0'] });
    const out = await s.ok('sandbox_execute', { sandbox_id: r.sandbox_id, code: 'import six; print(six.__version__)' });
    expect(out.output).toBe('1.16.0\n');
  });

  it('leaves no sandbox behind when an install or the startup script fails', async () => {
    const marker = `probe-${randomBytes(6).toString('hex')}`;
    const badInstall = await s.call('sandbox_create', {
      template: 'base',
      install_packages: ['apt:no-such-package-zzz'],
      metadata: { marker },
    });
    expect(failure(badInstall).code).toBe('EXECUTION_ERROR');
    expect(failure(badInstall).message).toMatch(/no-such-package-zzz/);
    const badScript = await s.call('sandbox_create', {
      template: 'python',
      startup_script: 'echo preparing; exit 3',
      metadata: { marker },
    });
    expect(failure(badScript).code).toBe('EXECUTION_ERROR');
    expect(failure(badScript).message).toMatch(/exit code 3[\s\S]*preparing/);
    expect(await leftBehind(marker)).toBe(false);
  });

  it('runs the startup script once, as the sandbox user', async () => {
    const r = await s.ok('sandbox_create', {
      template: 'python',
      startup_script: 'mkdir -p project && id -un > project/who.txt',
    });
    expect(r.startup_script_configured).toBe(true);
    const out = await s.ok('sandbox_execute', {
      sandbox_id: r.sandbox_id,
      language: 'bash',
      code: 'cat project/who.txt',
      working_dir: '/home/user',
    });
    expect(out.output).toBe('user\n');
  });

  it('configures: runs commands with their steps, extends the lifetime, and reports a failing command', async () => {
    const before = (await s.ok('sandbox_status', { sandbox_id: id })).sandbox.expires_at;
    const r = await s.ok('sandbox_configure', {
      sandbox_id: id,
      run_commands: ['echo one > one.txt', 'cat one.txt'],
      timeout: 7200,
    });
    expect(r.commands_executed).toBe(2);
    expect(r.steps.map((x) => x.exit_code)).toEqual([0, 0]);
    expect(r.steps[1]!.output_tail).toBe('one\n');
    expect(Date.parse(r.expires_at)).toBeGreaterThan(Date.parse(before));
    const status = await s.ok('sandbox_status', { sandbox_id: id });
    expect(status.sandbox.expires_at).toBe(r.expires_at);
    const bad = await s.call('sandbox_configure', {
      sandbox_id: id,
      run_commands: ['echo about to fail; false', 'echo never'],
    });
    expect(failure(bad).code).toBe('EXECUTION_ERROR');
    expect(failure(bad).message).toMatch(/about to fail/);
  });

  it('shows status with live usage, interpreter versions and execution counts', async () => {
    const st = (await s.ok('sandbox_status', { sandbox_id: id })).sandbox;
    expect(st).toMatchObject({ id, status: 'running', template: 'python', provider: 'docker' });
    expect(st.resource_usage.memory_limit).toBe(1024 * 1024 * 1024);
    expect(st.resource_usage.memory_used).toBeGreaterThan(0);
    expect(st.resource_usage.pids).toBeGreaterThan(0);
    expect(st.environment.language_versions.python).toMatch(/^3\.\d+/);
    expect(st.environment.env_vars).toBe(2);
    expect(st.executions.total).toBeGreaterThan(3);
    expect(st.executions.failed).toBeGreaterThanOrEqual(2);
  });

  it('stops keeping files, refuses runs while stopped, and comes back through configure', async () => {
    await exec({ language: 'bash', code: 'echo still here > keep.txt' });
    const stop = await s.ok('sandbox_stop', { sandbox_id: id });
    expect(stop).toMatchObject({ previous_status: 'running', current_status: 'stopped', data_preserved: true });
    expect((await s.ok('sandbox_stop', { sandbox_id: id })).previous_status).toBe('stopped');
    const refused = await s.call('sandbox_execute', { sandbox_id: id, code: 'print(1)' });
    expect(failure(refused).code).toBe('SANDBOX_NOT_RUNNING');
    const upload = await s.call('sandbox_upload', { sandbox_id: id, file_path: 'x.txt', content: 'x' });
    expect(failure(upload).code).toBe('SANDBOX_NOT_RUNNING');
    const back = await s.ok('sandbox_configure', { sandbox_id: id });
    expect(back).toMatchObject({ started: true, status: 'running' });
    expect((await exec({ language: 'bash', code: 'cat keep.txt' })).output).toBe('still here\n');
    expect((await exec({ code: 'import os; print(len(os.environ["SECRET_TOKEN"]))' })).output).toBe(
      `${SECRET.length}\n`,
    );
  });

  it('is seen whole by a restarted server: the sandbox, its history, its variables and its expiry', async () => {
    const expiresAt = (await s.ok('sandbox_status', { sandbox_id: id })).sandbox.expires_at;
    await s.detach();
    s = await dockerSession(config, logs, s.created);
    const listed = (await s.ok('sandbox_list', {})).sandboxes.find((x) => x.sandbox_id === id);
    expect(listed).toMatchObject({ name: 'features', status: 'running', expires_at: expiresAt });
    const history = await s.ok('sandbox_logs', { sandbox_id: id, lines: 1000 });
    const messages = history.logs.map((l) => l.message);
    expect(messages).toContain('8'); // the CSV computation's output, from before the restart
    expect(messages.some((m: string) => m.startsWith('sandbox created from template python'))).toBe(true);
    expect((await exec({ code: 'import os; print(len(os.environ["SECRET_TOKEN"]))' })).output).toBe(
      `${SECRET.length}\n`,
    );
  });

  it('shares sandboxes and history with a second server running side by side', async () => {
    const other = await dockerSession(config, logs, s.created);
    try {
      const mine = (await s.ok('sandbox_create', { template: 'python', name: 'shared' })).sandbox_id;
      expect((await other.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id)).toContain(mine);
      await Promise.all([
        s.ok('sandbox_execute', { sandbox_id: mine, code: 'print("from the first server")' }),
        other.ok('sandbox_execute', { sandbox_id: mine, code: 'print("from the second server")' }),
      ]);
      for (const session of [s, other]) {
        const messages = (await session.ok('sandbox_logs', { sandbox_id: mine, log_level: 'info' })).logs.map(
          (l: { message: string }) => l.message,
        );
        expect(messages).toEqual(expect.arrayContaining(['from the first server', 'from the second server']));
      }
      expect((await other.ok('sandbox_status', { sandbox_id: mine })).sandbox.executions.total).toBe(2);
    } finally {
      await other.detach();
    }
  });

  it('removes sandboxes whose lifetime ended, also those that expired while no server ran', async () => {
    const short = (await s.ok('sandbox_create', { template: 'python', timeout: 10 })).sandbox_id;
    await s.detach();
    s = await dockerSession(config, logs, s.created);
    const reaped = await reapExpired(s.sandboxes.ctx, new Date(Date.now() + 11_000));
    expect(reaped).toContain(short);
    expect(reaped).not.toContain(id);
    expect(failure(await s.call('sandbox_status', { sandbox_id: short })).code).toBe('SANDBOX_NOT_FOUND');
    expect(await docker.listContainers({ all: true, filters: { label: [`${Labels.id}=${short}`] } })).toEqual([]);
  });

  it('never puts a secret value in a result, a log line or the history store', async () => {
    await s.ok('sandbox_logs', { sandbox_id: id, lines: 1000 }).then((r) => results.push(JSON.stringify(r)));
    for (const r of results) expect(r).not.toContain(SECRET);
    expect(logs.text).not.toContain(SECRET);
    expect(logs.lines.length).toBeGreaterThan(10);
    const stored = filesUnder(config.stateDir).map((f) => readFileSync(f, 'utf8'));
    expect(stored.length).toBeGreaterThan(0);
    for (const text of stored) expect(text).not.toContain(SECRET);
  });
});
