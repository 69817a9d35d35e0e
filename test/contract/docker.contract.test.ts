import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { silentLogger } from '../../src/logger.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import type { RunSpec } from '../../src/providers/provider.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

/** SANDBOX_DOCKER_RUNTIME=runsc runs the same contract under gVisor (.ci/run does, after the default runtime). */
const runtime = process.env.SANDBOX_DOCKER_RUNTIME || undefined;

describeDocker(`docker provider${runtime ? ` (runtime ${runtime})` : ''}`, () => {
  // Runs go through the in-sandbox agent where the image has python3 (the test image has) ...
  runProviderContract('docker, runs through the agent', async () => ({
    provider: new DockerProvider(connectDocker(process.env.DOCKER_HOST), { pidsLimit: 256, runtime }, silentLogger()),
    spec: (overrides) => baseSpec({ sources: { docker: { image: TEST_IMAGE } }, ...overrides }),
  }));
  // ... and through one exec each where it has not: both paths must behave the same.
  runProviderContract('docker, one exec per run', async () => ({
    provider: new DockerProvider(
      connectDocker(process.env.DOCKER_HOST),
      { pidsLimit: 256, agent: false, runtime },
      silentLogger(),
    ),
    spec: (overrides) => baseSpec({ sources: { docker: { image: TEST_IMAGE } }, ...overrides }),
  }));

  // A run's processes are found by the kernel's help on either runtime: runc has child subreapers, gVisor has none,
  // so there the agent marks them with a group of their own (agent.py).
  describe('runs through the agent, on this runtime', () => {
    const provider = new DockerProvider(
      connectDocker(process.env.DOCKER_HOST),
      { pidsLimit: 256, runtime },
      silentLogger(),
    );
    const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } } });
    const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";
    const run = async (script: string, extra: Partial<RunSpec> = {}) => {
      let stdout = '';
      const outcome = await provider.run(spec.id, {
        argv: ['sh', '-c', script],
        user: 'user',
        env: {},
        cwd: '/home/user',
        timeoutMs: 30_000,
        onOutput: (s, c) => void (s === 'stdout' && (stdout += c.toString())),
        ...extra,
      });
      return { ...outcome, stdout };
    };

    beforeAll(async () => {
      await provider.create(spec);
    });
    afterAll(async () => {
      await provider.remove(spec.id).catch(() => undefined);
      await provider.close();
    });

    it.each([
      ['user', 'user'],
      ['root', 'root'],
    ] as const)(
      'kills the whole tree of a %s run at its timeout, whatever its processes do to their environment',
      async (_who, user) => {
        const script = [
          'setsid env -i /bin/sleep 3301 &',
          // Non-dumpable, no variables, its own session.
          'env -i /usr/bin/python3 -c "import ctypes, os, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); os.setsid(); time.sleep(600)  # zz3302" &',
          // Double fork: the grandchild is orphaned at once (to the container's init, where there is no subreaper).
          '( setsid env -i /bin/sh -c "/bin/sleep 3303 & exit" & )',
          'sleep 1; echo spawned; sleep 600',
        ].join('\n');
        const r = await run(script, { timeoutMs: 4000, user });
        expect(r).toMatchObject({ timedOut: true, stdout: 'spawned\n' });
        expect((await run(PROCESS_LIST)).stdout).not.toMatch(/sleep 330[13]|zz3302/);
      },
    );

    it('keeps a background process that left its session running after a normal exit', async () => {
      const r = await run('( setsid env -i /bin/sleep 3311 & ); echo left');
      expect(r).toMatchObject({ exitCode: 0, stdout: 'left\n' });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await run(PROCESS_LIST)).stdout).toMatch(/sleep 3311/);
      await run('pkill -f "sleep 3311" || true');
    });
  });

  describe('runs of one exec each, on this runtime', () => {
    const provider = new DockerProvider(
      connectDocker(process.env.DOCKER_HOST),
      { pidsLimit: 256, agent: false, runtime },
      silentLogger(),
    );
    const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } } });

    beforeAll(async () => {
      await provider.create(spec);
    });
    afterAll(async () => {
      await provider.remove(spec.id).catch(() => undefined);
      await provider.close();
    });

    // Under gVisor the engine sometimes leaves an exec's stream open after its container stopped (exec-streams.ts).
    it('end when their sandbox restarts, every time', async () => {
      for (let i = 0; i < 10; i++) {
        let started!: () => void;
        const printed = new Promise<void>((resolve) => (started = resolve));
        const long = provider.run(spec.id, {
          argv: ['sh', '-c', 'echo going; exec sleep 5556'],
          user: 'user',
          env: {},
          cwd: '/home/user',
          timeoutMs: 60_000,
          onOutput: () => started(),
        });
        await printed;
        await provider.run(spec.id, { argv: ['true'], user: 'user', env: {}, cwd: '/', timeoutMs: 10_000 });
        await provider.restart(spec.id);
        expect(await long).toMatchObject({ timedOut: false, cancelled: false });
      }
    }, 120_000);
  });
});
