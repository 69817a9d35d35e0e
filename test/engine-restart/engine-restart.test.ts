import { execSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { failure, ok } from '../helpers/tool-call.js';

// Stops and starts the Docker engine under a running server, so it runs alone (vitest.engine-restart.config.ts)
// and only where the commands to do so are given: CI sets them (.ci/dockerd-stop, .ci/dockerd-start).
const stop = process.env.SANDBOX_TEST_ENGINE_STOP;
const start = process.env.SANDBOX_TEST_ENGINE_START;
const suite = stop && start ? describe : describe.skip;
const reason =
  stop && start
    ? ''
    : ' [skipped: set SANDBOX_TEST_ENGINE_STOP and SANDBOX_TEST_ENGINE_START to commands that stop and start the engine]';

suite(`a Docker engine restarted under a running server${reason}`, () => {
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  afterAll(async () => {
    if (start) execSync(start, { stdio: 'inherit' });
    await server?.close();
  });

  it('answers PROVIDER_UNAVAILABLE while the engine is down, then works again without a restart', async () => {
    server = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() });
    const id = ok(await server.call('sandbox_create', { template: 'python' })).sandbox_id;
    expect(ok(await server.call('sandbox_execute', { sandbox_id: id, code: 'print(1)' })).output).toBe('1\n');

    execSync(stop!, { stdio: 'inherit' });
    for (const [tool, args] of [
      ['sandbox_list', {}],
      ['sandbox_execute', { sandbox_id: id, code: 'print(1)' }],
      ['sandbox_create', { template: 'python' }],
    ] as const) {
      const r = await server.call(tool, args);
      expect(failure(r).code, tool).toBe('PROVIDER_UNAVAILABLE');
      expect(failure(r).hint).toMatch(/Start Docker|DOCKER_HOST/);
    }

    execSync(start!, { stdio: 'inherit' });
    const listed = await server.call('sandbox_list', {});
    expect(ok(listed).sandboxes.map((s) => s.sandbox_id)).toContain(id);
    // The engine stopped its containers; the sandbox comes back with sandbox_configure, as any stopped one.
    const back = await server.call('sandbox_configure', { sandbox_id: id });
    expect(back.isError).toBeFalsy();
    expect(ok(await server.call('sandbox_execute', { sandbox_id: id, code: 'print(2)' })).output).toBe('2\n');
    await server.call('sandbox_delete', { sandbox_id: id });
  });
});
