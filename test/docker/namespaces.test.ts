import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { newSandboxId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { hostConfig } from '../../src/providers/docker/isolation.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import { labelsFor } from '../../src/providers/shared/sandbox-labels.js';
import { reapExpired } from '../../src/sandbox/background/reaper.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';
import { failure } from '../helpers/tool-call.js';

const HOUR = 3600_000;

describeDocker('namespaces: what a server sees, counts and reaps', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const nsA = `ns-a-${randomBytes(4).toString('hex')}`;
  const nsB = `ns-b-${randomBytes(4).toString('hex')}`;
  const sessions: Awaited<ReturnType<typeof dockerSession>>[] = [];
  const open = async (namespace: string, env: Record<string, string> = {}) => {
    const s = await dockerSession(testConfig({ SANDBOX_NAMESPACE: namespace, ...env }));
    sessions.push(s);
    return s;
  };
  let a: Awaited<ReturnType<typeof dockerSession>>;
  let b: Awaited<ReturnType<typeof dockerSession>>;
  let idA: string;

  beforeAll(async () => {
    a = await open(nsA);
    b = await open(nsB, { SANDBOX_MAX_SANDBOXES: '1' });
    idA = (await a.ok('sandbox_create', { template: 'base', timeout: 600 })).sandbox_id;
  });

  afterAll(async () => {
    for (const s of sessions) await s.close();
  });

  it('does not list, show or touch the sandboxes of another namespace', async () => {
    expect((await a.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id)).toContain(idA);
    expect((await b.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id)).not.toContain(idA);
    for (const [tool, args] of [
      ['sandbox_status', {}],
      ['sandbox_execute', { code: 'true' }],
      ['sandbox_stop', {}],
      ['sandbox_delete', {}],
    ] as const) {
      const r = await b.call(tool, { sandbox_id: idA, ...args });
      expect(failure(r).code, tool).toBe(ErrorCode.SANDBOX_NOT_FOUND);
    }
    expect((await a.ok('sandbox_status', { sandbox_id: idA })).sandbox.status).toBe('running');
  });

  it("does not count another namespace's sandboxes against its quota", async () => {
    // B may have one sandbox; A's does not take that place.
    await b.ok('sandbox_create', { template: 'base' });
    const second = await b.call('sandbox_create', { template: 'base' });
    expect(failure(second).code).toBe(ErrorCode.QUOTA_EXCEEDED);
  });

  it("does not reap another namespace's sandboxes", async () => {
    const reaped = await reapExpired(b.sandboxes.ctx, new Date(Date.now() + 48 * HOUR));
    expect(reaped).not.toContain(idA);
    expect(reaped).toHaveLength(1); // B's own
    expect((await a.ok('sandbox_status', { sandbox_id: idA })).sandbox.status).toBe('running');
  });

  it('shares one lifetime, extensions included, between servers of a namespace with different state folders', async () => {
    const other = await open(nsA); // same namespace, a state folder of its own
    expect((await other.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id)).toContain(idA);
    const extended = await a.ok('sandbox_configure', { sandbox_id: idA, timeout: 7200 });
    const status = await other.ok('sandbox_status', { sandbox_id: idA });
    expect(status.sandbox.expires_at).toBe(extended.expires_at);
    // Past the lifetime it was created with (600 s), before the extension: the other server keeps it.
    expect(await reapExpired(other.sandboxes.ctx, new Date(Date.now() + HOUR))).toEqual([]);
    expect((await a.ok('sandbox_status', { sandbox_id: idA })).sandbox.status).toBe('running');
    // Past the extension it goes, whichever server looks.
    expect(await reapExpired(other.sandboxes.ctx, new Date(Date.now() + 3 * HOUR))).toEqual([idA]);
  });

  it('never reaps a sandbox whose expiry date is missing or malformed, and gives it a lifetime', async () => {
    const ns = `ns-c-${randomBytes(4).toString('hex')}`;
    const c = await open(ns);
    const id = newSandboxId();
    const labels = labelsFor(
      baseSpec({
        id,
        name: 'bad-date',
        sources: { docker: { image: TEST_IMAGE } },
        memoryMb: 256,
        network: 'none',
        namespace: ns,
        createdAt: new Date(Date.now() - 48 * HOUR),
        expiresAt: new Date(),
      }),
    );
    labels[Labels.expiresAt] = 'not a date';
    await docker.createContainer({
      name: containerName(id),
      Image: TEST_IMAGE,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: labels,
      HostConfig: hostConfig({ cpus: 1, memoryMb: 256, pidsLimit: 64, network: 'none', maxFileBytes: 0 }),
    });
    c.created.add(id);
    expect(await reapExpired(c.sandboxes.ctx, new Date(Date.now() + HOUR))).toEqual([]);
    const status = await c.ok('sandbox_status', { sandbox_id: id });
    // It got the default lifetime (1800 s) from the sweep that found it, and is reaped only after that.
    expect(new Date(status.sandbox.expires_at).getTime()).toBeGreaterThan(Date.now() + HOUR + 1000 * 1000);
    expect(await reapExpired(c.sandboxes.ctx, new Date(Date.now() + HOUR + 1000 * 1000))).toEqual([]);
    expect(await reapExpired(c.sandboxes.ctx, new Date(Date.now() + 2 * HOUR))).toEqual([id]);
  });
});
