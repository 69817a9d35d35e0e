/**
 * Proves the fake E2B's Docker runtime (test/fake-e2b/docker.ts) against the REAL `e2b` SDK: every sandbox is a
 * real container of TEST_IMAGE shaped like an E2B template, so users, sudo, absolute paths, permissions and /proc
 * are the container's, and envd's pipes and deadlines behave as envd's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CommandExitError,
  FileNotFoundError,
  InvalidArgumentError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  TimeoutError,
} from 'e2b';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FAKE_E2B_LABEL, startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

const run = promisify(execFile);

/** IDs of the containers (any state) with the fake's label, optionally only this one. */
async function fakeContainers(id?: string): Promise<string[]> {
  const { stdout } = await run('docker', [
    'ps',
    '-a',
    '-q',
    '--no-trunc',
    '--filter',
    `label=${FAKE_E2B_LABEL}=true`,
    ...(id ? ['--filter', `id=${id}`] : []),
  ]);
  return stdout.split('\n').filter((l) => l !== '');
}

async function containerState(id: string): Promise<string> {
  const { stdout } = await run('docker', ['inspect', '-f', '{{.State.Status}}', id]);
  return stdout.trim();
}

describeDocker('fake E2B with the Docker runtime, through the real SDK', () => {
  let fake: FakeE2B;
  let sbx: Sandbox;
  const made: string[] = [];

  beforeAll(async () => {
    delete process.env.E2B_DEBUG; // in debug mode the SDK never calls the API
    fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE });
    sbx = await Sandbox.create({ ...fake.connectionOpts, envs: { SANDBOX_WIDE: 'from-create' } });
    made.push(fake.sandboxes.get(sbx.sandboxId)!.container!);
  });

  afterAll(async () => {
    await fake?.close();
    // Nothing this suite made is left (other suites may use the label at the same time: look at ours only).
    for (const id of made) expect(await fakeContainers(id)).toEqual([]);
  });

  it('backs each sandbox with a labelled running container of the image', async () => {
    expect(fake.runtime).toBe('docker');
    const state = fake.sandboxes.get(sbx.sandboxId)!;
    expect(state.container).toMatch(/^[0-9a-f]{64}$/);
    expect(state.rootDir).toBe('');
    expect(await fakeContainers(state.container)).toEqual([state.container]);
    expect(await containerState(state.container!)).toBe('running');
    const { stdout } = await run('docker', [
      'inspect',
      '-f',
      '{{.Config.Image}} {{.HostConfig.Init}}',
      state.container!,
    ]);
    expect(stdout.trim()).toMatch(/^sandbox-mcp-test\/fake-e2b-template:[0-9a-f]{16} true$/);
  });

  it("has an E2B template's shape: passwordless sudo for user, /usr/local writable, a login profile that sets PATH", async () => {
    // finalize/configure.sh in e2b-dev/infra's template build.
    expect((await sbx.commands.run('sudo -n id -u')).stdout).toBe('0\n');
    expect((await sbx.commands.run('touch /usr/local/bin/mine && stat -c %U /usr/local/bin/mine')).stdout).toBe(
      'user\n',
    );
    // The SDK runs `bash -l -c`: Debian's /etc/profile replaces the PATH envd passes.
    const path = await sbx.commands.run('echo "$PATH"', { envs: { PATH: '/opt/given' } });
    expect(path.stdout.trim()).not.toBe('/opt/given');
  });

  it('runs user code as uid 1000 in /home/user, and as root when asked', async () => {
    expect((await sbx.commands.run('id -u && pwd', { cwd: '/home/user' })).stdout.trim()).toBe('1000\n/home/user');
    expect((await sbx.commands.run('id -un; pwd; echo "$HOME $USER"')).stdout).toBe(
      'user\n/home/user\n/home/user user\n',
    );
    expect((await sbx.commands.run('id -u', { user: 'root' })).stdout.trim()).toBe('0');
    expect((await sbx.commands.run('pwd; echo "$HOME $USER"', { user: 'root' })).stdout).toBe('/root\n/root root\n');
  });

  it('uses absolute sandbox paths as they are, and real /proc', async () => {
    expect((await sbx.commands.run('echo hi > /tmp/x && cat /tmp/x')).stdout).toBe('hi\n');
    expect((await sbx.commands.run('ls /proc | grep -c "^[0-9]"')).stdout.trim()).toMatch(/^\d+$/);
    expect((await sbx.commands.run('tr "\\0" " " < /proc/1/cmdline')).stdout).toContain('sleep infinity');
    expect((await sbx.commands.run('pwd', { cwd: '/tmp' })).stdout).toBe('/tmp\n');
  });

  it('refuses writes the user may not make, in commands too', async () => {
    const error = await sbx.commands.run('echo x >> /etc/passwd').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandExitError);
    expect((error as CommandExitError).stderr).toMatch(/Permission denied/);
  });

  it('streams stdout and stderr, reports the exit code, honours envs and a missing cwd', async () => {
    const out: string[] = [];
    const result = await sbx.commands.run('for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2', {
      onStdout: (d) => void out.push(d),
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'line1\nline2\nline3\n', stderr: 'oops\n' });
    expect(out.length).toBeGreaterThanOrEqual(2); // chunks as they come, not one blob at the end

    const exit = await sbx.commands.run('echo partial; echo bad >&2; exit 3').catch((e: unknown) => e);
    expect(exit).toBeInstanceOf(CommandExitError);
    expect(exit).toMatchObject({ exitCode: 3, stdout: 'partial\n', stderr: 'bad\n', error: 'exit status 3' });

    const env = await sbx.commands.run('echo "$SANDBOX_WIDE $PER_CMD"', { envs: { PER_CMD: 'yes it is' } });
    expect(env.stdout).toBe('from-create yes it is\n');

    const missing = await sbx.commands.run('true', { cwd: '/home/user/nope' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InvalidArgumentError);
    expect((missing as Error).message).toContain("cwd '/home/user/nope' does not exist");
  });

  it('gives commands an empty stdin', async () => {
    expect((await sbx.commands.run('cat; echo end')).stdout).toBe('end\n');
  });

  it('kills a background command inside the container with commands.kill (its pid is the in-container pid)', async () => {
    const handle = await sbx.commands.run('sleep 600', { background: true });
    const cmdline = await sbx.commands.run(`tr "\\0" " " < /proc/${handle.pid}/cmdline`);
    expect(cmdline.stdout).toBe('sleep 600 ');

    expect(await sbx.commands.kill(handle.pid)).toBe(true);
    const error = await handle.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandExitError);
    expect(error).toMatchObject({ exitCode: -1, error: 'signal: killed' });

    // Really gone inside the container, not just its `docker exec` client.
    const after = await sbx.commands.run(
      `test -e /proc/${handle.pid} && echo alive || echo gone; ps -eo args | grep -c "^sleep 600" || true`,
    );
    expect(after.stdout).toBe('gone\n0\n');
    expect(await sbx.commands.kill(handle.pid)).toBe(false);
  });

  it("holds a command's end while a background process keeps its pipes, and closes them at the deadline: that process then dies of SIGPIPE", async () => {
    // envd handler.go: Wait waits for the pipes (outCtx), and the deadline cancels it and closes them.
    const handle = await sbx.commands.run('(while :; do echo tick; sleep 0.2; done) & echo "$!" > /tmp/ticker.pid', {
      background: true,
      timeoutMs: 2000,
    });
    let ended = false;
    const done = handle
      .wait()
      .catch((e: unknown) => e)
      .finally(() => (ended = true));
    await new Promise((r) => setTimeout(r, 1000));
    expect(ended).toBe(false); // the shell exited long ago; the ticker holds the pipes
    await done;
    const pid = (await sbx.commands.run('cat /tmp/ticker.pid')).stdout.trim();
    let alive = 'alive';
    for (let i = 0; i < 50 && alive === 'alive'; i++) {
      alive = (await sbx.commands.run(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`)).stdout.trim();
      if (alive === 'alive') await new Promise((r) => setTimeout(r, 100));
    }
    expect(alive).toBe('gone');
  });

  it('kills the command inside the container when its timeoutMs passes', async () => {
    const error = await sbx.commands.run('echo started; sleep 300', { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    // The SDK gives up at the deadline; the fake's kill inside the container lands a moment later.
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = (await sbx.commands.run('ps -eo args | grep -c "^sleep 300" || true')).stdout.trim();
      if (left === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toBe('0');
  });

  it('moves files both ways between files.* and commands', async () => {
    const info = await sbx.files.write('/home/user/a/b.txt', 'written by files.write\n');
    expect(info).toMatchObject({ name: 'b.txt', type: 'file', path: '/home/user/a/b.txt' });
    expect(
      (await sbx.commands.run('cat /home/user/a/b.txt; stat -c "%U %a" /home/user/a /home/user/a/b.txt')).stdout,
    ).toBe('written by files.write\nuser 755\nuser 644\n');
    await sbx.commands.run('mkdir -p /tmp/go && echo "from a command" > /tmp/go/c.txt');
    expect(await sbx.files.read('/tmp/go/c.txt')).toBe('from a command\n');
    expect(await sbx.files.read('a/b.txt')).toBe('written by files.write\n'); // relative to /home/user

    const bytes = new Uint8Array(1024).map((_, i) => i % 256);
    await sbx.files.write('/home/user/bin/all.bytes', bytes.buffer);
    expect(
      Buffer.from(await sbx.files.read('/home/user/bin/all.bytes', { format: 'bytes' })).equals(Buffer.from(bytes)),
    ).toBe(true);
    expect((await sbx.commands.run('sha256sum < /home/user/bin/all.bytes | cut -c1-16')).stdout.trim()).toMatch(
      /^[0-9a-f]{16}$/,
    );
    await sbx.commands.run("printf '\\x00\\xff\\x80' > /home/user/made.bin");
    expect([...(await sbx.files.read('/home/user/made.bin', { format: 'bytes' }))]).toEqual([0, 255, 128]);

    await expect(sbx.files.read('/home/user/missing.txt')).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('raises the SDK error for a write the user may not make (envd: 500, "permission denied")', async () => {
    const error = await sbx.files.write('/etc/passwd', 'root::0:0::/root:/bin/bash\n').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as Error).constructor).toBe(SandboxError); // no subclass maps a 500
    expect((error as Error).message).toBe('500: error opening file: open /etc/passwd: permission denied');
    const dirError = await sbx.files.write('/etc/new-dir/x.txt', 'x').catch((e: unknown) => e);
    expect((dirError as Error).message).toBe(
      '500: error ensuring directories: failed to create directory: mkdir /etc/new-dir: permission denied',
    );
    expect((await sbx.commands.run('head -1 /etc/passwd')).stdout).toMatch(/^root:x:0:0:/);

    // root may write there; the file is then root's.
    await sbx.files.write('/etc/fake-e2b-root.txt', 'by root', { user: 'root' });
    expect((await sbx.commands.run('stat -c %U /etc/fake-e2b-root.txt; cat /etc/fake-e2b-root.txt')).stdout).toBe(
      'root\nby root',
    );
  });

  it('pauses keeping memory (container frozen, processes carry on after resume) and Sandbox.connect resumes it with its files', async () => {
    const paused = await Sandbox.create(fake.connectionOpts);
    const container = fake.sandboxes.get(paused.sandboxId)!.container!;
    made.push(container);
    try {
      await paused.files.write('/home/user/keep.txt', 'still here');
      await paused.commands.run('echo also > /tmp/kept.txt');
      await paused.commands.run('sleep 600 > /dev/null 2>&1 &');

      expect(await paused.pause()).toBe(true);
      expect(await containerState(container)).toBe('paused');
      expect((await paused.getInfo()).state).toBe('paused');
      await expect(paused.commands.run('true')).rejects.toBeInstanceOf(SandboxNotFoundError);

      const resumed = await Sandbox.connect(paused.sandboxId, fake.connectionOpts);
      expect(await containerState(container)).toBe('running');
      expect(await resumed.files.read('/home/user/keep.txt')).toBe('still here');
      expect((await resumed.commands.run('cat /tmp/kept.txt; ps -eo args | grep -c "^sleep 600" || true')).stdout).toBe(
        'also\n1\n',
      );
    } finally {
      await paused.kill();
    }
  });

  it('kill removes the container', async () => {
    const doomed = await Sandbox.create(fake.connectionOpts);
    const container = fake.sandboxes.get(doomed.sandboxId)!.container!;
    made.push(container);
    await doomed.commands.run('sleep 600', { background: true });
    expect(await fakeContainers(container)).toEqual([container]);
    expect(await doomed.kill()).toBe(true);
    expect(await fakeContainers(container)).toEqual([]);
    await expect(doomed.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(doomed.commands.run('true')).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('close() removes every container it made, paused ones included', async () => {
    const other = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE });
    const a = await Sandbox.create(other.connectionOpts);
    const b = await Sandbox.create(other.connectionOpts);
    const ids = [a, b].map((s) => other.sandboxes.get(s.sandboxId)!.container!);
    made.push(...ids);
    await b.pause();
    await other.close();
    for (const id of ids) expect(await fakeContainers(id)).toEqual([]);
  });
});
