import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { Labels } from '../../src/labels.js';
import { MANAGED_FILTER } from '../../src/providers/docker/label-filters.js';
import { describeDocker } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';

describeDocker('warm pool on a real engine', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const config = testConfig({ SANDBOX_POOL_SIZE: '1', SANDBOX_POOL_TEMPLATES: 'python' });
  let s: Awaited<ReturnType<typeof dockerSession>>;
  const warmIds = async () => {
    const ids = [];
    for (const c of await docker.listContainers({ all: true, filters: MANAGED_FILTER })) {
      const id = c.Labels[Labels.id]!;
      if ((await s.sandboxes.ctx.records.get(id))?.warm) ids.push(id);
    }
    return ids;
  };

  beforeAll(async () => {
    s = await dockerSession(config);
    s.sandboxes.ctx.pool!.start();
    await s.sandboxes.ctx.pool!.settled();
  });

  afterAll(async () => {
    await s?.close(); // stops the pool, which removes its warm sandbox
    expect(await warmIds()).toEqual([]);
  });

  it('hands out a ready sandbox that runs code at once, and refills behind it', async () => {
    const warm = (await warmIds())[0]!;
    expect(warm).toBeDefined();
    const listed = (await s.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id);
    expect(listed).not.toContain(warm);

    const created = await s.ok('sandbox_create', { template: 'python', name: 'from-pool', metadata: { k: 'v' } });
    expect(created).toMatchObject({ sandbox_id: warm, name: 'from-pool', metadata: { k: 'v' }, status: 'running' });
    const run = await s.ok('sandbox_execute', { sandbox_id: warm, code: 'import os; print(os.getuid())' });
    expect(run.output).toBe('1000\n');
    const logs = await s.ok('sandbox_logs', { sandbox_id: warm });
    expect(logs.logs[0]!.message).toMatch(/\(warm pool\)/);
    const status = await s.ok('sandbox_status', { sandbox_id: warm });
    expect(status.sandbox).toMatchObject({
      name: 'from-pool',
      created_at: created.created_at,
      expires_at: created.expires_at,
    });

    await s.sandboxes.ctx.pool!.settled();
    const [next] = await warmIds();
    expect(next).toBeDefined();
    expect(next).not.toBe(warm);
  });
});
