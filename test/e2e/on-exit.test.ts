import { afterAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { ok } from '../helpers/tool-call.js';

const docker = connectDocker(process.env.DOCKER_HOST);

/** The container's state, or 'gone'. */
async function state(id: string): Promise<'running' | 'stopped' | 'gone'> {
  try {
    const info = await docker.getContainer(containerName(id)).inspect();
    return info.State.Running ? 'running' : 'stopped';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return 'gone';
    throw err;
  }
}

async function exited(pid: number): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > end) throw new Error(`server ${pid} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeDocker('SANDBOX_ON_EXIT', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const id of made)
      await docker
        .getContainer(containerName(id))
        .remove({ force: true, v: true })
        .catch(() => undefined);
  });

  /** A server with this policy, one sandbox it created, and one another server of the same namespace created. */
  async function serverWithSandboxes(policy?: string) {
    const stateDir = tempStateDir();
    const env = {
      SANDBOX_IMAGE: TEST_IMAGE,
      SANDBOX_STATE_DIR: stateDir,
      ...(policy ? { SANDBOX_ON_EXIT: policy } : {}),
    };
    const other = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: stateDir });
    const theirs = ok(await other.call('sandbox_create', { template: 'base' })).sandbox_id;
    made.push(theirs);
    const session = await spawnServer(env);
    const mine = ok(await session.call('sandbox_create', { template: 'base' })).sandbox_id;
    made.push(mine);
    // The other server leaves with the default policy (keep).
    await other.close();
    return { session, mine, theirs };
  }

  it('deletes the sandboxes this server created when the client disconnects, and only those', async () => {
    const { session, mine, theirs } = await serverWithSandboxes('delete');
    const pid = session.pid()!;
    expect(await state(mine)).toBe('running');
    await session.close(); // ends the server's stdin, as a client that exits does
    await exited(pid);
    expect(session.stderr()).toMatch(/"reason":"stdin closed"/); // not the SIGTERM the SDK sends later
    expect(await state(mine)).toBe('gone');
    expect(await state(theirs)).toBe('running');
  }, 120_000);

  it('stops them, keeping their files, on SIGTERM', async () => {
    const { session, mine, theirs } = await serverWithSandboxes('stop');
    const pid = session.pid()!;
    process.kill(pid, 'SIGTERM');
    await exited(pid);
    expect(session.stderr()).toMatch(/"reason":"SIGTERM"/);
    expect(await state(mine)).toBe('stopped');
    expect(await state(theirs)).toBe('running');
    await session.close();
  }, 120_000);

  it('keeps them by default', async () => {
    const { session, mine } = await serverWithSandboxes();
    const pid = session.pid()!;
    await session.close();
    await exited(pid);
    expect(await state(mine)).toBe('running');
  }, 120_000);
});
