import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Labels } from '../../src/labels.js';
import { MANAGED_FILTER } from '../../src/providers/docker/label-filters.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir, testConfig } from '../helpers/test-config.js';
import { hostileSession, PROCESS_LIST, SECRET } from './hostile-session.js';
import { failure, ok } from '../helpers/tool-call.js';

describeDocker('faults: crashes and stampedes lose nothing and leak nothing', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);

  it('after a SIGKILL mid-run, a restarted server sees the sandbox and its history, and the orphaned run is gone', async () => {
    const env = { SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() };
    let server = await spawnServer(env);
    let id = '';
    try {
      const created = await server.call('sandbox_create', {
        template: 'python',
        env_vars: { API_SECRET: SECRET },
        timeout: 1200,
      });
      id = ok(created).sandbox_id;
      await server.call('sandbox_execute', { sandbox_id: id, code: 'print("before")' });
      const orphan = server
        .call('sandbox_execute', { sandbox_id: id, language: 'bash', code: 'echo started; sleep 9191', timeout: 600 })
        .catch(() => undefined);
      const [container] = await docker.listContainers({ filters: { label: [`${Labels.id}=${id}`] } });
      const psInside = async () => {
        const exec = await docker
          .getContainer(container!.Id)
          .exec({ Cmd: ['sh', '-c', PROCESS_LIST], AttachStdout: true });
        const stream = await exec.start({});
        let out = '';
        await new Promise<void>((resolve) => {
          stream.on('data', (c: Buffer) => (out += c.toString('latin1')));
          stream.on('end', resolve);
        });
        return out;
      };
      for (let i = 0; i < 100 && !(await psInside()).includes('sleep 9191'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await psInside()).toContain('sleep 9191');

      process.kill(server.pid()!, 'SIGKILL');
      await orphan;
      await server.close().catch(() => undefined);
      let left = '';
      for (let i = 0; i < 50; i++) {
        left = await psInside();
        if (!left.includes('sleep 9191')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).not.toContain('sleep 9191');

      server = await spawnServer(env);
      const listed = await server.call('sandbox_list', {});
      expect(ok(listed).sandboxes.map((s) => s.sandbox_id)).toContain(id);
      const logs = await server.call('sandbox_logs', { sandbox_id: id });
      expect(ok(logs).logs.map((l) => l.message)).toContain('before');
      const after = await server.call('sandbox_execute', {
        sandbox_id: id,
        code: 'import os; print("after", len(os.environ["API_SECRET"]))',
      });
      expect(ok(after).output).toBe(`after ${SECRET.length}\n`);
      expect(JSON.stringify([listed, logs, after]) + server.stderr()).not.toContain(SECRET);
    } finally {
      if (id) await server.call('sandbox_delete', { sandbox_id: id }).catch(() => undefined);
      await server.close();
    }
  });

  describe40();

  function describe40() {
    let s: Awaited<ReturnType<typeof hostileSession>>;
    const marker = `stampede-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      s = await hostileSession(testConfig({ SANDBOX_MAX_SANDBOXES: '20' }));
    });
    afterAll(async () => {
      s?.assertNoSecretLeaked();
      await s?.close();
      const left = (await docker.listContainers({ all: true, filters: MANAGED_FILTER })).filter((c) =>
        (c.Labels[Labels.metadata] ?? '').includes(marker),
      );
      expect(left).toEqual([]);
    });

    it('serves or cleanly refuses 40 creates at once, and leaks nothing', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          s.call('sandbox_create', { template: 'python', metadata: { marker }, env_vars: { API_SECRET: SECRET } }),
        ),
      );
      const served = results.filter((r) => !r.isError);
      const refused = results.filter((r) => r.isError).map((r) => failure(r).code);
      // The quota counts every sandbox on the engine, so other suites running meanwhile may take some of it.
      expect(served.length).toBeLessThanOrEqual(20);
      expect(refused.length).toBeGreaterThanOrEqual(20);
      expect(new Set(refused)).toEqual(new Set(refused.length ? ['QUOTA_EXCEEDED'] : []));
      const ids = served.map((r) => r.structuredContent.sandbox_id);
      const runs = await Promise.all(
        ids.map((sid) => s.ok('sandbox_execute', { sandbox_id: sid, code: 'print("ok")' })),
      );
      expect(runs.every((r) => r.output === 'ok\n')).toBe(true);
      const mine = (await docker.listContainers({ all: true, filters: MANAGED_FILTER })).filter((c) =>
        (c.Labels[Labels.metadata] ?? '').includes(marker),
      );
      expect(mine.length).toBe(served.length);
    });
  }
});
