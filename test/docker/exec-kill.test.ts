import { execFileSync } from 'node:child_process';
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { runInContainer } from '../../src/providers/docker/exec.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

const PROCESS_LIST = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done";

describeDocker("the exec path's kill of a run on a slow engine", () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  let container: Docker.Container;

  beforeAll(async () => {
    container = await docker.createContainer({
      Image: TEST_IMAGE,
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      Labels: { 'dev.sandbox-mcp.test': 'exec-kill' },
      HostConfig: { Init: true, NetworkMode: 'none' },
    });
    await container.start();
  });
  afterAll(async () => {
    await container?.remove({ force: true }).catch(() => undefined);
  });

  it('does not answer a timed-out run before its kill sweep is done, however late the engine starts it', async () => {
    // The engine starts the run's exec at once and the sweep's only after 3 s, longer than the run waits for its
    // output to close after a kill (2 s): as a busy engine did in CI.
    let execs = 0;
    const slowEngine = new Proxy(container, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'exec') return typeof value === 'function' ? value.bind(target) : value;
        return async (options: Docker.ExecCreateOptions) => {
          if (++execs > 1) await new Promise((r) => setTimeout(r, 3000));
          return target.exec(options);
        };
      },
    });
    const outcome = await runInContainer(slowEngine, {
      argv: ['sh', '-c', 'sleep 301 & setsid sleep 302 & echo started; sleep 303'],
      user: 'user',
      env: {},
      cwd: '/',
      timeoutMs: 1000,
    });
    expect(outcome.timedOut).toBe(true);
    expect(execs).toBe(2);
    const left = execFileSync('docker', ['exec', container.id, 'sh', '-c', PROCESS_LIST]).toString();
    expect(left).not.toMatch(/sleep 30[123]/);
  });
});
