import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { defaultNamespace } from '../../src/config.js';
import { ErrorCode, SandboxError } from '../../src/errors.js';
import { newRunId, newSandboxId } from '../../src/ids.js';
import type { RunSpec, SandboxProvider, SandboxSpec } from '../../src/providers/provider.js';
import { sandboxTest } from '../helpers/sandbox-fixture.js';

export interface ContractHarness {
  provider: SandboxProvider;
  /** A creatable spec for this backend (image or template filled in). */
  spec(overrides?: Partial<SandboxSpec>): SandboxSpec;
  cleanup?(): Promise<void>;
}

interface Collected {
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
}

/** Runs argv as the sandbox user and collects its output. */
async function run(
  provider: SandboxProvider,
  id: string,
  argv: string[],
  extra: Partial<RunSpec> = {},
): Promise<Collected> {
  let stdout = '';
  let stderr = '';
  const outcome = await provider.run(id, {
    argv,
    user: 'user',
    env: {},
    cwd: '/home/user',
    timeoutMs: 30_000,
    ...extra,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk.toString('utf8');
      else stderr += chunk.toString('utf8');
      extra.onOutput?.(stream, chunk);
    },
  });
  return { ...outcome, stdout, stderr };
}

const sh = (script: string) => ['sh', '-c', script];
/** Command lines of every process in the sandbox, without needing ps. */
const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export interface ContractOptions {
  /**
   * false for a provider with no operating system behind it (the in-memory FakeProvider): only the lifecycle, list,
   * stop/start, remove, file and not-found tests run, and files are checked by reading them back. Default true:
   * every backend (Docker, E2B) runs the whole contract.
   */
  runsPrograms?: boolean;
}

/**
 * What every backend must do, run once per provider: the tools above rely on exactly this behaviour.
 */
export function runProviderContract(
  name: string,
  makeHarness: () => Promise<ContractHarness>,
  options: ContractOptions = {},
): void {
  const runsPrograms = options.runsPrograms ?? true;
  describe(`provider contract: ${name}`, () => {
    let h: ContractHarness;
    let provider: SandboxProvider;
    // Each test gets a sandbox of its own, so that none depends on what another did before it.
    const test = sandboxTest({
      provider: () => provider,
      spec: (overrides) => h.spec({ name: 'contract', metadata: { suite: 'contract' }, ...overrides }),
    });
    /** A test that needs real programs in the sandbox (processes, users, permissions, usage, ports). */
    const withPrograms = runsPrograms ? test : test.skip;

    beforeAll(async () => {
      h = await makeHarness();
      provider = h.provider;
    });

    afterAll(async () => {
      await h?.cleanup?.();
      await provider?.close();
    });

    test('creates a running sandbox that keeps its name, template, metadata and expiry', async ({ sandbox }) => {
      const { id } = sandbox;
      const info = await provider.get(id);
      expect(info).toMatchObject({ id, name: 'contract', state: 'running', metadata: { suite: 'contract' } });
      expect(info.expiresAt.getTime()).toBeGreaterThan(Date.now());
    });

    test('makes nothing that stays when the admission given with the create is refused', async () => {
      const spec = h.spec({ name: 'refused' });
      const admission = Promise.reject(new SandboxError(ErrorCode.QUOTA_EXCEEDED, 'Over the quota.', ''));
      admission.catch(() => undefined); // answered through the create
      await expectCode(provider.create({ ...spec, admission }), ErrorCode.QUOTA_EXCEEDED);
      expect((await provider.list()).map((s) => s.id)).not.toContain(spec.id);
    });

    test('lists the sandboxes it created', async ({ sandbox }) => {
      const { id } = sandbox;
      const ids = (await provider.list()).map((s) => s.id);
      expect(ids).toContain(id);
    });

    withPrograms('returns a non-zero exit as an outcome, with stdout and stderr apart', async ({ sandbox }) => {
      const { id } = sandbox;
      const r = await run(provider, id, sh('echo out; echo err >&2; exit 3'));
      expect(r).toMatchObject({ exitCode: 3, timedOut: false, stdout: 'out\n', stderr: 'err\n' });
    });

    withPrograms(
      'runs as the unprivileged user in the working directory, with the given environment and stdin',
      async ({ sandbox }) => {
        const { id } = sandbox;
        const r = await run(provider, id, sh('id -u; pwd; echo "$GREETING"; cat'), {
          env: { GREETING: 'hi there' },
          cwd: '/tmp',
          stdin: Buffer.from('from stdin'),
        });
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toBe('1000\n/tmp\nhi there\nfrom stdin');
      },
    );

    withPrograms('passes arguments through without a shell, quotes and all', async ({ sandbox }) => {
      const { id } = sandbox;
      const tricky = `it's "quoted" $HOME \`uname\` ; rm -rf / #`;
      const r = await run(provider, id, ['printf', '%s', tricky]);
      expect(r.stdout).toBe(tricky);
    });

    withPrograms('reports a missing working directory as a failed run', async ({ sandbox }) => {
      const { id } = sandbox;
      const r = await run(provider, id, ['pwd'], { cwd: '/no/such/dir' });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/\/no\/such\/dir/);
    });

    withPrograms('streams output while the program is still running', async ({ sandbox }) => {
      const { id } = sandbox;
      // The program prints, then waits for a file that the test writes only once it has seen that output.
      let released: Promise<unknown> | undefined;
      const r = await run(
        provider,
        id,
        sh(
          'echo first; i=0; while [ ! -e /tmp/go ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; [ -e /tmp/go ] && echo second',
        ),
        {
          onOutput: (_s, chunk) => {
            if (chunk.toString().includes('first'))
              released ??= provider.writeFile(id, '/tmp/go', Buffer.from(''), { mode: '644', user: 'user' });
          },
        },
      );
      await released;
      expect(r).toMatchObject({ exitCode: 0, stdout: 'first\nsecond\n' });
    });

    withPrograms('does not wait for background processes that keep the output open', async ({ sandbox }) => {
      const { id } = sandbox;
      const r = await run(provider, id, sh('sleep 600 & echo detached'), { timeoutMs: 20_000 });
      expect(r).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'detached\n' });
    });

    withPrograms(
      'kills every process of a run that times out, even those in their own session, and returns what it printed',
      async ({ sandbox }) => {
        const { id } = sandbox;
        const r = await run(provider, id, sh('sleep 301 & setsid sleep 302 & echo started; sleep 303'), {
          timeoutMs: 1500,
        });
        expect(r.timedOut).toBe(true);
        expect(r.stdout).toContain('started');
        const ps = await run(provider, id, sh(PROCESS_LIST));
        expect(ps.stdout).not.toMatch(/sleep 30[123]/);
      },
    );

    withPrograms('kills a run when its caller cancels', async ({ sandbox }) => {
      const { id } = sandbox;
      const controller = new AbortController();
      const pending = run(provider, id, sh('echo going; sleep 304'), {
        signal: controller.signal,
        onOutput: () => controller.abort(),
      });
      const r = await pending;
      expect(r.cancelled).toBe(true);
      const ps = await run(provider, id, sh(PROCESS_LIST));
      expect(ps.stdout).not.toMatch(/sleep 304/);
    });

    withPrograms(
      'kills a run by its run ID, as another server of the namespace does: the run ends and nothing of it is left',
      async ({ sandbox }) => {
        const { id } = sandbox;
        const runId = newRunId();
        let going!: () => void;
        const printed = new Promise<void>((resolve) => (going = resolve));
        const pending = run(provider, id, sh('sleep 305 & echo going; sleep 306'), {
          runId,
          timeoutMs: 120_000,
          onOutput: () => going(),
        });
        await printed;
        await provider.killRun(id, runId);
        const r = await pending;
        expect(r).toMatchObject({ timedOut: false, cancelled: false });
        expect(r.exitCode).not.toBe(0);
        const ps = await run(provider, id, sh(PROCESS_LIST));
        expect(ps.stdout).not.toMatch(/sleep 30[56]/);
        await provider.killRun(id, newRunId()); // a run that is over, or never was: nothing to do
      },
    );

    withPrograms('carries large outputs whole to the caller', async ({ sandbox }) => {
      const { id } = sandbox;
      let bytes = 0;
      const outcome = await provider.run(id, {
        argv: sh('head -c 5000000 /dev/zero'),
        user: 'user',
        env: {},
        cwd: '/',
        timeoutMs: 60_000,
        onOutput: (_s, chunk) => {
          bytes += chunk.length;
        },
      });
      expect(outcome.exitCode).toBe(0);
      expect(bytes).toBe(5_000_000);
    });

    test('writes files with their mode and returns the checksum of what landed', async ({ sandbox }) => {
      const { id } = sandbox;
      const data = randomBytes(200_000);
      const written = await provider.writeFile(id, '/home/user/deep/er/blob.bin', data, { mode: '640', user: 'user' });
      expect(written.checksum).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
      expect(written.sizeBytes).toBe(data.length);
      const back = await provider.readFile(id, '/home/user/deep/er/blob.bin', { user: 'user' });
      expect(back?.equals(data)).toBe(true);
      if (!runsPrograms) return;
      // find, not stat: the gVisor of Debian bookworm answers coreutils 9's statx with EINVAL.
      const mode = await run(provider, id, ['find', '/home/user/deep/er/blob.bin', '-printf', '%m %U']);
      expect(mode.stdout.trim()).toBe('640 1000');
    });

    test('writes a body streamed in pieces read into one buffer again, with runs sent meanwhile, and reads a file into a sink', async ({
      sandbox,
    }) => {
      const { id } = sandbox;
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const piece = Buffer.alloc(64 * 1024);
      // As an upload spilled to disk is sent: each piece is used before the next is read into the same buffer.
      const body = {
        size: data.length,
        *chunks() {
          for (let at = 0; at < data.length; at += piece.length)
            yield piece.subarray(0, data.copy(piece, 0, at, at + piece.length));
        },
      };
      const [written, meanwhile] = await Promise.all([
        provider.writeFile(id, '/home/user/streamed.bin', body, { mode: '644', user: 'user' }),
        runsPrograms ? run(provider, id, sh('echo meanwhile')) : Promise.resolve({ stdout: 'meanwhile\n' }),
      ]);
      expect(written).toMatchObject({
        sizeBytes: data.length,
        checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`,
      });
      expect(meanwhile.stdout).toBe('meanwhile\n');
      if (!provider.readFileInto) return;
      const received: Buffer[] = [];
      const sink = { write: (chunk: Buffer) => void received.push(Buffer.from(chunk)) };
      const options = { user: 'user' as const, maxBytes: 8 * 1024 * 1024 };
      expect(await provider.readFileInto(id, '/home/user/streamed.bin', sink, options)).toBe(true);
      expect(Buffer.concat(received).equals(data)).toBe(true);
      expect(await provider.readFileInto(id, '/home/user/nope.bin', sink, options)).toBe(false);
    });

    test('reads a missing file as null', async ({ sandbox }) => {
      const { id } = sandbox;
      expect(await provider.readFile(id, '/home/user/nope.txt', { user: 'user' })).toBeNull();
    });

    withPrograms('refuses to write where the sandbox user may not', async ({ sandbox }) => {
      const { id } = sandbox;
      await expectCode(
        provider.writeFile(id, '/etc/passwd', Buffer.from('x'), { mode: '644', user: 'user' }),
        ErrorCode.PERMISSION_DENIED,
      );
    });

    withPrograms('restarts: kills every process, keeps files, and runs again', async ({ sandbox }) => {
      const { id } = sandbox;
      const long = run(provider, id, sh('echo kept > kept.txt; exec sleep 5555'), { timeoutMs: 60_000 });
      for (let i = 0; i < 40 && !(await run(provider, id, sh(PROCESS_LIST))).stdout.includes('sleep 5555'); i++) {
        await new Promise((done) => setTimeout(done, 250));
      }
      expect((await run(provider, id, sh(PROCESS_LIST))).stdout).toContain('sleep 5555');
      await provider.restart(id);
      expect((await long).timedOut).toBe(false); // ended by the restart, not by its time limit
      const after = await run(provider, id, sh(`cat kept.txt; ${PROCESS_LIST}`));
      expect(after.stdout).toMatch(/^kept\n/);
      expect(after.stdout).not.toContain('sleep 5555');
    });

    withPrograms('gives a URL for each port asked for', async ({ sandbox }) => {
      const { id } = sandbox;
      const urls = await provider.portUrls(id, [8000, 3000]);
      expect(Object.keys(urls).sort()).toEqual(['3000', '8000']);
      for (const url of Object.values(urls)) expect(url).toMatch(/^https?:\/\/[^/\s]+$/);
    });

    withPrograms(
      'reports usage within the sandbox limits, or says CPU and memory are not sampled yet',
      async ({ sandbox }) => {
        const { id } = sandbox;
        const usage = await provider.usage(id);
        expect(usage).not.toBeNull();
        expect(usage!.memoryLimitBytes).toBeGreaterThan(0);
        if (usage!.sampled === false) expect(usage).toMatchObject({ cpuPercent: 0, memoryUsedBytes: 0 });
        else expect(usage!.memoryUsedBytes).toBeGreaterThan(0);
        expect(usage!.pids).toBeGreaterThan(0);
      },
    );

    test('stops (repeatably), refuses runs while stopped, and starts again with its files', async ({ sandbox }) => {
      const { id } = sandbox;
      await provider.writeFile(id, '/home/user/keep.txt', Buffer.from('kept'), { mode: '644', user: 'user' });
      await provider.stop(id);
      await provider.stop(id);
      expect((await provider.get(id)).state).toBe('stopped');
      await expectCode(run(provider, id, ['true']), ErrorCode.SANDBOX_NOT_RUNNING);
      await provider.start(id);
      expect((await provider.get(id)).state).toBe('running');
      expect((await provider.readFile(id, '/home/user/keep.txt', { user: 'user' }))?.toString()).toBe('kept');
      if (runsPrograms) expect((await run(provider, id, ['cat', '/home/user/keep.txt'])).stdout).toBe('kept');
    });

    test('answers SANDBOX_NOT_FOUND for IDs it never made', async () => {
      await expectCode(provider.get(newSandboxId()), ErrorCode.SANDBOX_NOT_FOUND);
      await expectCode(provider.get('--help'), ErrorCode.SANDBOX_NOT_FOUND);
      await expectCode(run(provider, newSandboxId(), ['true']), ErrorCode.SANDBOX_NOT_FOUND);
    });

    test('removes a sandbox and everything about it', async ({ sandbox: spec }) => {
      await provider.remove(spec.id);
      await expectCode(provider.get(spec.id), ErrorCode.SANDBOX_NOT_FOUND);
      await expectCode(run(provider, spec.id, ['true']), ErrorCode.SANDBOX_NOT_FOUND);
      await expectCode(provider.remove(spec.id), ErrorCode.SANDBOX_NOT_FOUND);
      expect((await provider.list()).map((s) => s.id)).not.toContain(spec.id);
    });
  });
}

export const baseSpec = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => ({
  id: newSandboxId(),
  name: 'test',
  template: 'base',
  language: 'bash',
  sources: {},
  cpus: 1,
  memoryMb: 512,
  network: 'bridge',
  namespace: defaultNamespace(),
  createdAt: new Date(),
  expiresAt: new Date(Date.now() + 3600_000),
  metadata: {},
  env: {},
  ...overrides,
});
