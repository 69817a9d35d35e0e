import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import type { RunSpec } from '../../src/providers/provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";
/** "pid ppid command line" of every process. */
const PROCESS_TABLE =
  "for p in /proc/[0-9]*; do s=$(cut -d' ' -f4 $p/stat 2>/dev/null) || continue; echo \"${p#/proc/} $s $(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\"; done";

describeDocker('the in-sandbox run agent', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const providers: DockerProvider[] = [];
  const sandboxes: Array<[DockerProvider, string]> = [];
  const tag = randomBytes(4).toString('hex');
  // Images as the official ones come: no account for uid 1000 and no /home/user; one also without python3.
  const noUser = `sandbox-mcp-test/no-user:${tag}`;
  const noPython = `sandbox-mcp-test/no-python:${tag}`;

  const provider = (agent = true, pidsLimit = 256) => {
    const p = new DockerProvider(docker, { pidsLimit, agent }, silentLogger());
    providers.push(p);
    return p;
  };
  const create = async (p: DockerProvider, image = TEST_IMAGE) => {
    const spec = baseSpec({ sources: { docker: { image } } });
    await p.create(spec);
    sandboxes.push([p, spec.id]);
    return spec.id;
  };
  const run = async (p: DockerProvider, id: string, script: string, extra: Partial<RunSpec> = {}) => {
    let stdout = '';
    let stderr = '';
    const outcome = await p.run(id, {
      argv: ['sh', '-c', script],
      user: 'user',
      env: {},
      cwd: '/home/user',
      timeoutMs: 30_000,
      onOutput: (s, c) => (s === 'stdout' ? (stdout += c) : (stderr += c)),
      ...extra,
    });
    return { ...outcome, stdout, stderr };
  };

  /** Every process of the sandbox: pid, parent pid and command line. */
  const processTable = async (p: DockerProvider, id: string) =>
    (await run(p, id, PROCESS_TABLE)).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pid, ppid, ...cmd] = l.split(' ');
        return { pid, ppid, cmd: cmd.join(' ') };
      });

  const build = async (image: string, dockerfile: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'image-'));
    writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: image });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))),
    );
  };

  beforeAll(async () => {
    await build(noUser, `FROM ${TEST_IMAGE}\nRUN userdel --remove user\n`);
    await build(noPython, `FROM ${noUser}\nRUN rm -f /usr/bin/python3*\n`);
  });

  afterAll(async () => {
    for (const [p, id] of sandboxes) await p.remove(id).catch(() => undefined);
    for (const p of providers) await p.close();
    for (const image of [noPython, noUser])
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('serves runs from a root agent that user code cannot signal', async () => {
    const p = provider();
    const id = await create(p);
    const parent = await run(p, id, 'tr "\\0" " " < /proc/$PPID/cmdline');
    expect(parent.stdout).toContain('sandbox-mcp run agent');
    const attack = await run(p, id, 'kill -9 $PPID; echo "kill exit $?"');
    expect(attack.stdout).toBe('kill exit 1\n');
    expect((await run(p, id, 'echo still served')).stdout).toBe('still served\n');
  });

  it('falls back to one exec per run where the image has no python3', async () => {
    const p = provider();
    const id = await create(p, noPython);
    const r = await run(p, id, 'tr "\\0" " " < /proc/$PPID/cmdline; exit 4');
    expect(r.exitCode).toBe(4);
    expect(r.stdout).not.toContain('sandbox-mcp run agent');
    expect(r.stdout).toMatch(/^sh -c/);
  });

  it.each([
    ['through the agent', () => noUser],
    ['with one exec per run', () => noPython],
  ])('gives uid 1000 a writable home and an account in images without them, %s', async (_how, image) => {
    const p = provider();
    const id = await create(p, image());
    const r = await run(p, id, 'id -un; echo hi > note.txt && cat note.txt; pwd; stat -c %u .');
    expect(r.stdout).toBe('user\nhi\n/home/user\n1000\n');
  });

  it.each([
    ['through the agent', true],
    ['with one exec per run', false],
  ])("gives root runs a fixed environment in / without the run's variables, %s", async (_how, agent) => {
    const p = provider(agent);
    const id = await create(p);
    const plant =
      'mkdir -p bin && for p in sh timeout; do printf "#!/bin/sh\\ntouch /tmp/planted-\\$(id -u)\\nexec /bin/$p \\"\\$@\\"\\n" > bin/$p; chmod +x bin/$p; done';
    await run(p, id, plant);
    const r = await run(p, id, 'echo "$HOME $PATH $(pwd) ${EXTRA:-unset}"', {
      user: 'root',
      env: { PATH: '/home/user/bin:/usr/bin:/bin', EXTRA: 'from the run', LD_PRELOAD: '/home/user/none.so' },
    });
    expect(r.stdout).toBe('/root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin / unset\n');
    expect(r.stderr).toBe('');
    // The same variables do reach the user's own runs (and the planted programs run there, as the user).
    const own = await run(p, id, 'echo "$PATH ${EXTRA:-unset}"; ls /tmp | grep planted', {
      env: { PATH: '/home/user/bin:/usr/bin:/bin', EXTRA: 'from the run' },
    });
    expect(own.stdout).toBe('/home/user/bin:/usr/bin:/bin:/home/user/node_modules/.bin from the run\nplanted-1000\n');
  });

  it.each([
    ['through the agent', true],
    ['with one exec per run', false],
  ])(
    'kills the whole tree of a run at its timeout, whatever its processes do to their environment, %s',
    async (_how, agent) => {
      const p = provider(agent);
      const id = await create(p);
      const script = [
        'setsid env -i /bin/sleep 3201 &',
        // Non-dumpable (its environ unreadable), no variables, its own session.
        'env -i /usr/bin/python3 -c "import ctypes, os, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); os.setsid(); time.sleep(600)  # zz3202" &',
        // Double fork: the grandchild is orphaned at once.
        '( setsid env -i /bin/sh -c "/bin/sleep 3203 & exit" & )',
        'sleep 1; echo spawned; sleep 600',
      ].join('\n');
      const r = await run(p, id, script, { timeoutMs: 4000 });
      expect(r).toMatchObject({ timedOut: true, stdout: 'spawned\n' });
      expect((await run(p, id, PROCESS_LIST)).stdout).not.toMatch(/sleep 320[13]|zz3202/);
    },
  );

  it.concurrent.each([
    ['through the agent', true],
    ['with one exec per run', false],
  ])(
    'keeps processes left in the background running after their run, printing or not, %s',
    async (_how, agent) => {
      const p = provider(agent);
      const id = await create(p);
      const first = await run(
        p,
        id,
        [
          'cd /tmp',
          'python3 -m http.server 8010 --bind 127.0.0.1 &',
          'nohup python3 -m http.server 8011 --bind 127.0.0.1 &',
          'sh -c "while true; do sleep 1; echo x; done" & echo $! > /tmp/loop.pid',
          'echo started',
        ].join('\n'),
      );
      expect(first).toMatchObject({ exitCode: 0, timedOut: false });
      expect(first.stdout).toMatch(/^started\n/);
      const fetch = (port: number) =>
        `python3 -c "import urllib.request as u\nfor _ in range(3): print(u.urlopen('http://127.0.0.1:${port}/', timeout=10).status)"`;
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      expect((await run(p, id, 'kill -0 "$(cat /tmp/loop.pid)" && echo alive')).stdout).toBe('alive\n');
      await new Promise((resolve) => setTimeout(resolve, 50_000));
      const second = await run(p, id, `${fetch(8010)}; ${fetch(8011)}; kill -0 "$(cat /tmp/loop.pid)" && echo alive`);
      expect(second.stdout).toBe('200\n200\n200\n200\n200\n200\nalive\n');
      // Their output after the first run joins no later run.
      expect(second.stderr).not.toContain('GET /');
    },
    120_000,
  );

  it("leaves no supervisor behind once a run's background processes are gone", async () => {
    const p = provider();
    const id = await create(p);
    // Supervisors holding a run's processes: agent.py processes with a child that is not agent.py (the agent's own
    // children are supervisors, and a spare supervisor's only child is its launcher, agent.py too).
    const agents = async () => {
      const table = (await processTable(p, id)).map((q) => ({ ...q, agent: q.cmd.includes('sandbox-mcp run agent') }));
      return table.filter((q) => q.agent && table.some((c) => c.ppid === q.pid && !c.agent)).length;
    };
    const idle = await agents(); // the supervisor of the run that counts
    await run(p, id, 'sleep 3 &');
    expect(await agents()).toBe(idle + 1); // the background sleep's supervisor stays with it
    let left = idle + 1;
    for (let i = 0; i < 100 && left > idle; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = await agents();
    }
    expect(left).toBe(idle);
  });

  it.each([
    [256, 2],
    [48, 1],
  ])('keeps, under a pids limit of %i, %i spare supervisor(s) after a run', async (pidsLimit, spares) => {
    const p = provider(true, pidsLimit);
    const id = await create(p);
    await run(p, id, 'true');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the spares are forked after the run's exit
    // The agent is the python3 whose parent is not one; its children are supervisors: the spares, and the one of
    // the run that lists them (it took the oldest spare).
    const python = (await processTable(p, id)).filter((q) => q.cmd.startsWith('python3 -I'));
    const agent = python.filter((q) => !python.some((o) => o.pid === q.ppid));
    expect(agent).toHaveLength(1);
    expect(python.filter((q) => q.ppid === agent[0]!.pid)).toHaveLength(spares);
  });

  it('answers a run that finds every process slot taken with the pids limit, at once', async () => {
    const p = provider(true, 48);
    const id = await create(p);
    // The run ends at once, so the agent makes its spare supervisor; then its background fills the pids table and
    // takes every slot that frees up. The next run gets that spare, but no thread to relay it.
    const filler = [
      'import os, time',
      'time.sleep(0.5)',
      'while True:',
      '    try:',
      '        if os.fork() == 0:',
      '            time.sleep(600)',
      '            os._exit(0)',
      '    except OSError:',
      '        time.sleep(0.002)',
    ].join('\n');
    await run(p, id, `python3 -c '${filler}' >/dev/null 2>&1 &`);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const full = await run(p, id, 'echo never');
    expect(full).toMatchObject({ exitCode: 126, stdout: '' });
    expect(full.stderr).toContain('no process left to relay this run (pids limit reached)');
  });

  it("keeps the agent's source out of every command line in the sandbox", async () => {
    const first = provider();
    const id = await create(first); // its agent is the container's command
    await run(first, id, 'true');
    const second = provider(); // another server: its agent starts in an exec
    await run(second, id, 'true');
    // Both agents, their spare supervisors and launchers (forks of them) are listed, none with the source in it: a
    // `ps` in the sandbox stays readable, and within a run's output limit.
    const listing = (await run(second, id, PROCESS_LIST)).stdout;
    expect(listing.match(/sandbox-mcp run agent/g)?.length).toBeGreaterThanOrEqual(4);
    expect(listing).not.toContain('def supervisor(');
    expect(listing.length).toBeLessThan(16_384);
  });

  it('takes its runs with it when the server goes away', async () => {
    const first = provider();
    const id = await create(first);
    const orphan = run(first, id, 'echo started; sleep 501', { timeoutMs: 600_000 });
    await new Promise<void>((resolve) => {
      const check = async () =>
        (await run(first, id, PROCESS_LIST)).stdout.includes('sleep 501') ? resolve() : setTimeout(check, 100);
      void check();
    });
    await first.close(); // what a crash does: the connection to the agent closes
    expect((await orphan).exitCode).toBeNull();

    const second = provider();
    let survivors = '';
    for (let i = 0; i < 50; i++) {
      survivors = (await run(second, id, PROCESS_LIST)).stdout;
      if (!survivors.includes('sleep 501')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(survivors).not.toContain('sleep 501');
  });
});
