import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { failure, ok, textOf } from '../helpers/tool-call.js';

type Session = Awaited<ReturnType<typeof spawnServer>>;

/** Waits (bounded) until `check` holds; no fixed sleeps. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeDocker('a Docker engine that appears after the server started', () => {
  const engineSocket = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
  const socket = `/tmp/sandbox-mcp-late-engine-${randomBytes(6).toString('hex')}.sock`;
  let forward: ChildProcess | undefined;
  let session: Session | undefined;

  afterAll(async () => {
    await session?.close();
    forward?.kill('SIGTERM');
    rmSync(socket, { force: true });
  });

  it('answers PROVIDER_UNAVAILABLE with the fix while it is away, then creates a sandbox without a restart', async () => {
    session = await spawnServer({
      DOCKER_HOST: `unix://${socket}`,
      SANDBOX_IMAGE: TEST_IMAGE,
      SANDBOX_STATE_DIR: tempStateDir(),
    });
    expect(session.tools.map((t) => t.name)).toContain('sandbox_create');

    for (const [tool, args] of [
      ['sandbox_create', {}],
      ['sandbox_list', {}],
    ] as const) {
      const r = await session.call(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(failure(r).code).toBe('PROVIDER_UNAVAILABLE');
      const text = textOf(r);
      expect(text).toMatch(/^PROVIDER_UNAVAILABLE: The Docker engine cannot be reached/);
      expect(text).toMatch(/Start Docker.*DOCKER_HOST/);
    }
    expect(session.stderr()).toMatch(/not reachable yet/);

    // The engine "starts": its socket appears, as a forward to the real one.
    forward = spawn('socat', [`UNIX-LISTEN:${socket},fork`, `UNIX-CONNECT:${engineSocket}`], { stdio: 'ignore' });
    await until(() => existsSync(socket), 'the forwarded socket');

    const created = await session.call('sandbox_create', { template: 'base' });
    expect(created.isError, JSON.stringify(created.structuredContent)).toBeFalsy();
    const id = ok(created).sandbox_id;
    try {
      const run = await session.call('sandbox_execute', {
        sandbox_id: id,
        code: 'echo engine-is-back',
        language: 'bash',
      });
      expect(ok(run).output).toContain('engine-is-back');
    } finally {
      const deleted = await session.call('sandbox_delete', { sandbox_id: id });
      expect(deleted.isError).toBeFalsy();
    }
  }, 180_000);
});

describe('an E2B backend that cannot be used at start-up', () => {
  let fake: FakeE2B;
  let session: Session | undefined;
  beforeAll(async () => {
    fake = await startFakeE2B();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });
  afterAll(async () => fake?.close());

  it('stays up when E2B cannot be reached, and every call says so with the fix', async () => {
    session = await spawnServer({
      SANDBOX_STATE_DIR: tempStateDir(),
      E2B_API_KEY: fake.apiKey,
      E2B_API_URL: 'http://127.0.0.1:9',
      E2B_SANDBOX_URL: 'http://127.0.0.1:9',
    });
    const r = await session.call('sandbox_list', {});
    expect(r.isError).toBe(true);
    expect(failure(r).code).toBe('PROVIDER_UNAVAILABLE');
    expect(textOf(r)).toMatch(/E2B cannot be reached.*\n.*Check the network/);
  });

  it('stays up on a key E2B refuses, and every call names E2B_API_KEY', async () => {
    session = await spawnServer({ SANDBOX_STATE_DIR: tempStateDir(), ...fake.env, E2B_API_KEY: 'e2b_not_the_key' });
    const r = await session.call('sandbox_create', {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/E2B refused the API key[\s\S]*E2B_API_KEY/);
  });
});
