import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

/** Each process of the container as "pid ppid cmdline", read by root through an exec of the engine. */
const PROCESS_TABLE =
  'for p in /proc/[0-9]*; do s=$(cut -d" " -f4 $p/stat 2>/dev/null) || continue; ' +
  'printf "%s %s %s\\n" "${p#/proc/}" "$s" "$(tr "\\0" " " < $p/cmdline)"; done';

describeDocker('the run agent started with the container', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const providers: DockerProvider[] = [];
  const made: Array<[DockerProvider, string]> = [];

  const provider = () => {
    const p = new DockerProvider(docker, { pidsLimit: 256 }, silentLogger());
    providers.push(p);
    return p;
  };
  const processes = async (id: string) => {
    const exec = await docker.getContainer(`sandbox-mcp-${id}`).exec({
      Cmd: ['sh', '-c', PROCESS_TABLE],
      AttachStdout: true,
      User: '0:0',
    });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    await new Promise((resolve) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', resolve);
    });
    // Multiplexed frames: an 8-byte header before each payload.
    const raw = Buffer.concat(chunks);
    let text = '';
    for (let i = 0; i + 8 <= raw.length; i += 8 + raw.readUInt32BE(i + 4))
      text += raw.subarray(i + 8, i + 8 + raw.readUInt32BE(i + 4));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [pid, ppid, ...cmd] = line.split(' ');
        return { pid: Number(pid), ppid: Number(ppid), cmd: cmd.join(' ') };
      });
  };
  /** Processes running agent.py: the agents, and their forks (the supervisors and launchers made ahead). */
  const agentProcesses = async (id: string) =>
    (await processes(id)).filter(
      (p) => p.cmd.startsWith('python3 -I -S -u -c') && p.cmd.includes('sandbox-mcp run agent'),
    );
  /** The forks of an agent: agent.py processes whose parent runs agent.py too. */
  const forksOfAgent = async (id: string) => {
    const running = await agentProcesses(id);
    return running.filter((p) => running.some((other) => other.pid === p.ppid));
  };
  /** The agents themselves, without their forks. */
  const agentsOf = async (id: string) => {
    const running = await agentProcesses(id);
    return running.filter((p) => !running.some((other) => other.pid === p.ppid));
  };
  const print1 = async (p: DockerProvider, id: string) => {
    let out = '';
    const outcome = await p.run(id, {
      argv: ['python3', '-c', 'print(1)'],
      user: 'user',
      env: {},
      cwd: '/home/user',
      timeoutMs: 30_000,
      onOutput: (_s, c) => (out += c),
    });
    return { exitCode: outcome.exitCode, out };
  };

  afterAll(async () => {
    for (const [p, id] of made) await p.remove(id).catch(() => undefined);
    for (const p of providers) await p.close();
  });

  it("readies a warm sandbox's first run ahead (its supervisor forked), and no other sandbox's", async () => {
    const p = provider();
    const warm = baseSpec({ sources: { docker: { image: TEST_IMAGE } }, warm: true });
    const cold = baseSpec({ sources: { docker: { image: TEST_IMAGE } } });
    await Promise.all([p.create(warm), p.create(cold)]);
    made.push([p, warm.id], [p, cold.id]);
    await expect.poll(async () => (await forksOfAgent(warm.id)).length, { timeout: 15_000 }).toBe(2);
    // The cold one's agent is ready (it serves a run) and made nothing ahead before that run.
    await expect.poll(() => p.knownRunning(cold.id), { timeout: 15_000 }).toBe(true);
    expect(await forksOfAgent(cold.id)).toEqual([]);
    expect(await print1(p, warm.id)).toEqual({ exitCode: 0, out: '1\n' });
  });

  it('runs the first run in the agent the container started with, and idles once the server is gone', async () => {
    const first = provider();
    const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } } });
    await first.create(spec);
    made.push([first, spec.id]);
    expect(await print1(first, spec.id)).toEqual({ exitCode: 0, out: '1\n' });

    // One agent, a child of the container's own command (an exec'd one has no parent in the container).
    // (Its run's supervisor, a fork of it, may not have exited yet.)
    await expect.poll(async () => (await agentsOf(spec.id)).length).toBe(1);
    const agents = await agentsOf(spec.id);
    const table = await processes(spec.id);
    const parent = table.find((p) => p.pid === agents[0]!.ppid);
    expect(parent?.ppid).toBe(1);

    // The server goes away: its agent ends, the sandbox stays up and idles; another server runs code in it.
    await first.close();
    await expect.poll(async () => (await agentsOf(spec.id)).length).toBe(0);
    await expect
      .poll(async () => (await processes(spec.id)).filter((p) => p.ppid === 1).map((p) => p.cmd))
      .toEqual(['sleep infinity ']);
    const second = provider();
    made.push([second, spec.id]);
    expect(await print1(second, spec.id)).toEqual({ exitCode: 0, out: '1\n' });
  });

  it('prepares an image without an account for uid 1000 in the agent it starts with, no exec after it', async () => {
    const image = `sandbox-mcp-test/entry-no-user:${randomBytes(4).toString('hex')}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'image-'));
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${TEST_IMAGE}\nRUN userdel --remove user\n`);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: image });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))),
    );
    try {
      const p = provider();
      const spec = baseSpec({ sources: { docker: { image } } });
      await p.create(spec);
      made.push([p, spec.id]);
      let out = '';
      const outcome = await p.run(spec.id, {
        argv: ['sh', '-c', 'id -un; id -gn; echo hi > note.txt && cat note.txt; pwd; stat -c %u .'],
        user: 'user',
        env: {},
        cwd: '/home/user',
        timeoutMs: 30_000,
        onOutput: (_s, c) => (out += c),
      });
      expect({ exitCode: outcome.exitCode, out }).toEqual({ exitCode: 0, out: 'user\nuser\nhi\n/home/user\n1000\n' });
      // Served by the agent the container started with (its parent is the container's command, PID 1's child).
      const agents = await agentsOf(spec.id);
      expect(agents).toHaveLength(1);
      const parent = (await processes(spec.id)).find((q) => q.pid === agents[0]!.ppid);
      expect(parent?.ppid).toBe(1);
      await p.remove(spec.id);
    } finally {
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('serves runs after a restart, whose container only idles', async () => {
    const p = provider();
    const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } } });
    await p.create(spec);
    made.push([p, spec.id]);
    await p.restart(spec.id);
    expect(await print1(p, spec.id)).toEqual({ exitCode: 0, out: '1\n' });
    const table = await processes(spec.id);
    expect(table.some((q) => q.ppid === 1 && q.cmd === 'sleep infinity ')).toBe(true);
    // The agent of this run was started by an exec: no parent inside the container.
    await expect.poll(async () => (await agentsOf(spec.id)).length).toBe(1);
    expect((await agentsOf(spec.id))[0]?.ppid).toBe(0);
  });
});
