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

describeDocker('the in-sandbox run agent', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const providers: DockerProvider[] = [];
  const sandboxes: Array<[DockerProvider, string]> = [];
  const tag = randomBytes(4).toString('hex');
  // Images as the official ones come: no account for uid 1000 and no /home/user; one also without python3.
  const noUser = `sandbox-mcp-test/no-user:${tag}`;
  const noPython = `sandbox-mcp-test/no-python:${tag}`;

  const provider = () => {
    const p = new DockerProvider(docker, { pidsLimit: 256 }, silentLogger());
    providers.push(p);
    return p;
  };
  const create = async (p: DockerProvider, image = TEST_IMAGE) => {
    const spec = baseSpec({ image });
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

  const build = async (image: string, dockerfile: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'image-'));
    writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: image });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
  };

  beforeAll(async () => {
    await build(noUser, `FROM ${TEST_IMAGE}\nRUN userdel --remove user\n`);
    await build(noPython, `FROM ${noUser}\nRUN rm -f /usr/bin/python3*\n`);
  });

  afterAll(async () => {
    for (const [p, id] of sandboxes) await p.remove(id).catch(() => undefined);
    for (const p of providers) await p.close();
    for (const image of [noPython, noUser]) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
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

  it('takes its runs with it when the server goes away', async () => {
    const first = provider();
    const id = await create(first);
    const orphan = run(first, id, 'echo started; sleep 501', { timeoutMs: 600_000 });
    await new Promise<void>((resolve) => {
      const check = async () => ((await run(first, id, PROCESS_LIST)).stdout.includes('sleep 501') ? resolve() : setTimeout(check, 100));
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
