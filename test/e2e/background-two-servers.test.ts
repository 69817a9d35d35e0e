import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { okCaller, type ToolInput, type ToolName } from '../helpers/tool-call.js';

type Server = Awaited<ReturnType<typeof spawnServer>>;

/** Command lines of every process in the sandbox, without needing ps. */
const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";

/**
 * Two Claude Code sessions on one machine: two servers of one namespace, sharing the state folder (so the
 * history) and the sandboxes. A background execution one of them started is followed and ended from the other.
 */
describeDocker('a background execution seen and stopped from another server of the namespace', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const env = { SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() };
  const servers: Server[] = [];
  let b: Server;
  let id: string;

  const ok = <N extends ToolName>(server: Server, tool: N, args: ToolInput<N>) => okCaller(server.call)(tool, args);
  const spawn = async () => {
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  };
  /** Whether `pattern` is in a command line of the sandbox, as the other server's run sees it. */
  const running = async (pattern: RegExp) =>
    pattern.test((await ok(b, 'sandbox_execute', { sandbox_id: id, code: PROCESS_LIST, language: 'bash' })).output);
  const until = async (what: () => Promise<boolean>, label: string) => {
    for (let i = 0; i < 100; i++) {
      if (await what()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`never: ${label}`);
  };
  const executionIn = async (server: Server, executionId: string) =>
    (await ok(server, 'sandbox_logs', { sandbox_id: id, execution_id: executionId })).execution;

  beforeAll(async () => {
    const a = await spawn();
    b = await spawn();
    id = (await ok(a, 'sandbox_create', { template: 'base', timeout: 600 })).sandbox_id;
  });

  afterAll(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    if (id)
      await docker
        .getContainer(containerName(id))
        .remove({ force: true, v: true })
        .catch(() => undefined);
  });

  it("reads the other server's run as running, ends it there, and both read the same end", async () => {
    const a = servers[0]!;
    const started = await ok(a, 'sandbox_execute', {
      sandbox_id: id,
      code: 'echo begun; sleep 300',
      language: 'bash',
      background: true,
    });
    await until(() => running(/sleep 300/), 'sleep 300 runs');

    expect(await executionIn(b, started.execution_id)).toMatchObject({ status: 'running', exit_code: null });

    const stopped = await ok(b, 'sandbox_stop', { sandbox_id: id, execution_id: started.execution_id });
    expect(stopped).toMatchObject({ current_status: 'running', execution: { status: 'cancelled' } });
    expect(stopped.execution?.ended_at).toEqual(expect.any(String));
    expect(await running(/sleep 300/)).toBe(false);

    // A recorded the end (once); both servers read it.
    const inA = await executionIn(a, started.execution_id);
    expect(inA).toEqual(stopped.execution);
    expect(await executionIn(b, started.execution_id)).toEqual(inA);
    const logs = await ok(a, 'sandbox_logs', { sandbox_id: id, execution_id: started.execution_id });
    expect(logs.logs.map((l: { message: string }) => l.message)).toContain('begun');
    expect(logs.logs.filter((l: { message: string }) => /^execution cancelled/.test(l.message))).toHaveLength(1);
  });

  it('reads the run of a server killed with SIGKILL as cancelled, and its stop sweeps what is left', async () => {
    const doomed = await spawn();
    const started = await ok(doomed, 'sandbox_execute', {
      sandbox_id: id,
      code: 'sleep 301',
      language: 'bash',
      background: true,
    });
    await until(() => running(/sleep 301/), 'sleep 301 runs');
    expect(await executionIn(b, started.execution_id)).toMatchObject({ status: 'running' });

    const pid = doomed.pid()!;
    process.kill(pid, 'SIGKILL');
    await until(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the server is gone');

    expect(await executionIn(b, started.execution_id)).toMatchObject({
      status: 'cancelled',
      exit_code: null,
      ended_at: null,
    });
    const stopped = await ok(b, 'sandbox_stop', { sandbox_id: id, execution_id: started.execution_id });
    expect(stopped.execution).toMatchObject({ status: 'cancelled' });
    expect(await running(/sleep 301/)).toBe(false);
  });
});
