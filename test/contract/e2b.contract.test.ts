import { Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { USER_PATH_SUFFIX } from '../../src/providers/shared/base-env.js';
import type { RunSpec } from '../../src/providers/provider.js';
import { E2BProvider } from '../../src/providers/e2b/e2b-provider.js';
import { PLANS, startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { baseSpec, runProviderContract } from './provider-contract.js';

// E2B's cloud is not reachable here: the real SDK talks over the wire to the fake under test/fake-e2b, whose
// sandboxes are Docker containers shaped like E2B templates (so users, sudo, paths and /proc are real), hence
// the Docker requirement. Every suite runs on both plans the fake offers.
describeDocker('e2b provider through the real SDK', () => {
  for (const plan of Object.values(PLANS)) {
    runProviderContract(`e2b on the ${plan.name} plan (SDK over the wire to the fake E2B)`, async () => {
      const fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE, pageSize: 2, plan: plan.name });
      return {
        provider: new E2BProvider(Sandbox, fake.connectionOpts, silentLogger()),
        spec: (overrides) =>
          baseSpec({
            sources: { e2b: { template: 'base' } },
            expiresAt: new Date(Date.now() + 1800_000),
            ...overrides,
          }),
        cleanup: () => fake.close(),
      };
    });
  }
});

interface Collected {
  exitCode: number | null;
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
}

/** What envd and E2B's templates really do (issue 8), through the provider, on each plan. */
describeDocker('e2b provider against envd as it is', () => {
  describe.each(Object.values(PLANS))('on the $name plan', (plan) => {
    let fake: FakeE2B;
    let provider: E2BProvider;
    let id: string;

    const run = async (argv: string[], extra: Partial<RunSpec> = {}): Promise<Collected> => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const outcome = await provider.run(id, {
        argv,
        user: 'user',
        env: {},
        cwd: '/home/user',
        timeoutMs: 30_000,
        ...extra,
        onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
      });
      return { ...outcome, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
    };
    const sh = (script: string, extra: Partial<RunSpec> = {}) => run(['sh', '-c', script], extra);
    const asRoot = (script: string) => sh(script, { user: 'root' });
    const processes = async () =>
      (await asRoot("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done")).stdout.toString();
    const e2bId = () =>
      [...fake.sandboxes.values()].find((s) => s.metadata['dev.sandbox-mcp.sandbox-id'] === id)!.sandboxId;

    beforeAll(async () => {
      fake = await startFakeE2B({ runtime: 'docker', image: TEST_IMAGE, plan: plan.name });
      provider = new E2BProvider(Sandbox, fake.connectionOpts, silentLogger());
      const spec = baseSpec({ sources: { e2b: { template: 'base' } }, expiresAt: new Date(Date.now() + 1800_000) });
      id = spec.id;
      await provider.create(spec);
    });
    afterAll(async () => {
      await provider?.remove(id).catch(() => undefined);
      await fake?.close();
    });

    it('keeps background processes running after envd closes the pipes of the run that started them', async () => {
      const started = await sh(
        [
          'python3 -m http.server 8010 &',
          'nohup python3 -m http.server 8011 &',
          '(sleep 1; while :; do echo tick; echo >> /tmp/ticks; sleep 0.1; done) & echo $! > /tmp/ticker.pid',
          'echo started',
        ].join('\n'),
      );
      expect(started).toMatchObject({ exitCode: 0, timedOut: false });
      // The servers share the run's stdout until it ends: one may announce itself before `started` is printed
      // (seen in CI under load). Apart from that, the run printed only its own line.
      const own = started.stdout
        .toString()
        .split('\n')
        .filter((line) => line && !line.startsWith('Serving HTTP on'));
      expect(own).toEqual(['started']);
      // What envd does at the run's deadline, or when it is killed: kill its process and close its pipes.
      const sandbox = await Sandbox.connect(e2bId(), { ...fake.connectionOpts, timeoutMs: 600_000 });
      for (const pid of fake.sandboxes.get(e2bId())!.processes.keys()) await sandbox.commands.kill(pid);
      // The ticker goes on printing (it would die of SIGPIPE at its first line if it wrote to envd's pipe).
      const ticks = async () => Number((await sh('wc -l < /tmp/ticks 2>/dev/null || echo 0')).stdout.toString().trim());
      const before = await ticks();
      for (let i = 0; i < 100 && (await ticks()) < before + 5; i++) await new Promise((r) => setTimeout(r, 100));
      const check = await sh(
        [
          'kill -0 "$(cat /tmp/ticker.pid)" && echo ticker alive',
          'for port in 8010 8011; do python3 -c "import urllib.request,sys; print(urllib.request.urlopen(\'http://127.0.0.1:\' + sys.argv[1]).status)" $port; done',
        ].join('\n'),
      );
      expect(check.stdout.toString()).toBe('ticker alive\n200\n200\n');
      expect(check.stderr.toString()).not.toMatch(/tick|GET \//); // their later output is not this run's
      await asRoot('kill "$(cat /tmp/ticker.pid)"; pkill -f http.server || true');
    });

    it("kills a timed-out run's sudo children too, whatever session they moved to", async () => {
      const r = await sh(
        "sudo sleep 311 & sudo sh -c 'sleep 312 &'; sudo setsid sleep 313 & setsid sleep 314 & echo started; sleep 315",
        {
          timeoutMs: 2000,
        },
      );
      expect(r.timedOut).toBe(true);
      expect(r.stdout.toString()).toContain('started');
      expect(await processes()).not.toMatch(/sleep 31[1-5]/);
    });

    it('runs a program as large as the code limit, full of quotes, as Docker does', async () => {
      const line = `echo 'it'"'"'s "quoted"' $'\\'' # ${'x'.repeat(40)}\n`;
      const program = line.repeat(Math.floor(100_000 / line.length));
      expect(program.length).toBeGreaterThan(78_000);
      const r = await run(['bash', '-c', program]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.toString().split('\n')[0]).toBe(`it's "quoted" '`);
    });

    it('gives the program the variables as given, PATH included, despite the login profile', async () => {
      const env = {
        PATH: '/opt/tools/bin:/usr/bin:/bin',
        GREETING: "it's $HOME",
        __sbx0: 'named like a carrier',
        __sbx_a: 'x',
        IFS: ':',
        a: '1',
      };
      const r = await sh(
        'echo "$PATH"; echo "$GREETING"; echo "$__sbx0"; echo "$__sbx_a$a"; env | grep -c "^__sbx" || true',
        { env },
      );
      // As on Docker, user runs find the command-line tools of the home's npm packages last on PATH.
      expect(r.stdout.toString()).toBe(
        `/opt/tools/bin:/usr/bin:/bin:${USER_PATH_SUFFIX}\nit's $HOME\nnamed like a carrier\nx1\n2\n`,
      );
      // A PATH without the directory of setsid and sh still runs the program.
      const bare = await run(['/bin/echo', 'found'], { env: { PATH: '/nowhere' } });
      expect(bare.stdout.toString()).toBe('found\n');
    });

    it('gives user passwordless sudo and a writable /usr/local, as E2B templates do', async () => {
      const r = await sh('sudo -n id -u && touch /usr/local/lib/mine && echo ok');
      expect(r.stdout.toString()).toBe('0\nok\n');
    });

    it('keeps processes across stop and start (E2B pauses with memory)', async () => {
      await sh('sleep 600 > /dev/null 2>&1 & echo $! > /tmp/sleeper.pid');
      await provider.stop(id);
      await provider.start(id);
      const r = await sh('kill -0 "$(cat /tmp/sleeper.pid)" && echo still running');
      expect(r.stdout.toString()).toBe('still running\n');
      await sh('kill "$(cat /tmp/sleeper.pid)"');
    });

    it('passes UTF-8 output byte for byte, even split across writes, and shows other bytes as U+FFFD', async () => {
      const r = await sh("printf '\\342\\202'; sleep 0.3; printf '\\254\\n'; printf 'a\\377b\\n' >&2");
      expect(r.stdout.equals(Buffer.from('€\n'))).toBe(true);
      expect(r.stderr.toString()).toBe('a\ufffdb\n');
    });
  });
});
