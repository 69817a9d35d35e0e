import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { loadConfig } from '../../src/config.js';
import { ErrorCode } from '../../src/errors.js';
import { newSandboxId } from '../../src/ids.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { Labels } from '../../src/labels.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DiskWatchdog } from '../../src/providers/docker/disk-watchdog.js';
import { hostConfig } from '../../src/providers/docker/isolation.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import { labelsFor } from '../../src/providers/shared/sandbox-labels.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { TEST_NAMESPACE, tempStateDir, testConfig } from '../helpers/test-config.js';
import { LeaseFile } from '../../src/util/lease-file.js';
import { errorCode, failure } from '../helpers/tool-call.js';

describeDocker('smaller hardening on a real engine', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  let s: Awaited<ReturnType<typeof dockerSession>>;
  let id: string;
  const foreign: string[] = [];

  beforeAll(async () => {
    s = await dockerSession(testConfig());
    id = (await s.ok('sandbox_create', { template: 'base' })).sandbox_id;
  });

  afterAll(async () => {
    await s?.close();
    for (const name of foreign)
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('refuses to upload onto a FIFO at once, with INVALID_ARGUMENT, instead of hanging', async () => {
    await s.ok('sandbox_execute', { sandbox_id: id, code: 'mkfifo /home/user/pipe', language: 'bash' });
    const r = await s.call('sandbox_upload', { sandbox_id: id, file_path: 'pipe', content: 'x' });
    expect(errorCode(r)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(failure(r).message).toMatch(/not a regular file/);
  }, 30_000);

  it('caps the total of env_vars (count and bytes) with INVALID_ARGUMENT and a hint', async () => {
    const big = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`V${i}`, 'x'.repeat(32 * 1024)]));
    const create = await s.call('sandbox_create', { template: 'base', env_vars: big });
    expect(errorCode(create)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(failure(create).hint).toMatch(/sandbox_upload/);
    const run = await s.call('sandbox_execute', { sandbox_id: id, code: 'true', env_vars: big });
    expect(errorCode(run)).toBe(ErrorCode.INVALID_ARGUMENT);
    const configure = await s.call('sandbox_configure', { sandbox_id: id, env_vars: big });
    expect(errorCode(configure)).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('keeps setup output out of the server log', async () => {
    const r = await s.call('sandbox_configure', {
      sandbox_id: id,
      run_commands: ["printf 'leaked-%s' step-output-4711; exit 3"],
    });
    expect(errorCode(r)).toBe(ErrorCode.EXECUTION_ERROR);
    expect(failure(r).message).toContain('leaked-step-output-4711'); // the caller sees its own output
    expect(s.logs.text).toContain('call refused');
    expect(s.logs.text).not.toContain('leaked-step-output-4711');
  });

  it('does not trust a container that carries sandbox labels without sandbox isolation', async () => {
    for (const [why, extra] of [
      ['host mount', { Binds: [`${os.tmpdir()}:/host-tmp`] }],
      ['extra capability', { CapAdd: ['SYS_ADMIN'] }],
    ] as const) {
      const fake = newSandboxId();
      const labels = labelsFor(
        baseSpec({
          id: fake,
          name: why,
          sources: { docker: { image: TEST_IMAGE } },
          memoryMb: 256,
          network: 'none',
          namespace: TEST_NAMESPACE,
        }),
      );
      const base = hostConfig({ cpus: 1, memoryMb: 256, pidsLimit: 64, network: 'none', maxFileBytes: 0 });
      const c = await docker.createContainer({
        name: containerName(fake),
        Image: TEST_IMAGE,
        Entrypoint: ['sleep'],
        Cmd: ['infinity'],
        Labels: labels,
        HostConfig: { ...base, ...extra } as Docker.HostConfig,
      });
      foreign.push(c.id);
      const status = await s.call('sandbox_status', { sandbox_id: fake });
      expect(errorCode(status), why).toBe(ErrorCode.SANDBOX_NOT_FOUND);
      const run = await s.call('sandbox_execute', { sandbox_id: fake, code: 'id' });
      expect(errorCode(run), why).toBe(ErrorCode.SANDBOX_NOT_FOUND);
      expect(s.logs.text).toMatch(/carries sandbox labels but not sandbox isolation/);
    }
    const list = await s.ok('sandbox_list', {});
    expect(list.sandboxes.map((x) => x.name)).not.toContain('host mount');
  });

  it("asks the engine for sizes only of its namespace's sandboxes, every 30 s by default", async () => {
    expect(loadConfig({}).limits.diskCheckIntervalSeconds).toBe(30);
    const asked: unknown[] = [];
    const spy = Object.create(docker) as Docker;
    spy.listContainers = ((options: unknown) => {
      asked.push(options);
      return docker.listContainers(options as Docker.ContainerListOptions);
    }) as Docker['listContainers'];
    await new DiskWatchdog(spy, TEST_NAMESPACE, 1024 * 1024 * 1024, 30_000, silentLogger(), () => undefined).check();
    expect(asked).toEqual([
      expect.objectContaining({
        size: true,
        filters: expect.objectContaining({ label: expect.arrayContaining([`${Labels.namespace}=${TEST_NAMESPACE}`]) }),
      }),
    ]);
  });

  it('lets one of several servers sharing a state folder do the disk check', async () => {
    const asked: string[] = [];
    const spyFor = (who: string) => {
      const spy = Object.create(docker) as Docker;
      spy.listContainers = ((options: unknown) => {
        asked.push(who);
        return docker.listContainers(options as Docker.ContainerListOptions);
      }) as Docker['listContainers'];
      return spy;
    };
    const leaseFile = path.join(tempStateDir(), 'disk-watchdog.lease');
    const watchdogs = ['a', 'b'].map(
      (who) =>
        new DiskWatchdog(
          spyFor(who),
          TEST_NAMESPACE,
          1024 * 1024 * 1024,
          30_000,
          silentLogger(),
          () => undefined,
          new LeaseFile(leaseFile, 90_000),
        ),
    );
    for (let round = 0; round < 3; round++) for (const w of watchdogs) await w.check();
    expect(asked).toEqual(['a', 'a', 'a']);
  });

  it('answers INSUFFICIENT_RESOURCES to upload and configure when every process slot is taken', async () => {
    // One exec per run (the agent's own handling of a full pids table belongs to the agent's tests).
    const full = await dockerSession(testConfig({ SANDBOX_PIDS_LIMIT: '32' }), undefined, undefined, { agent: false });
    try {
      const sid = (await full.ok('sandbox_create', { template: 'base' })).sandbox_id;
      // Fill the pids limit (32) with processes that outlive the run.
      await full.call('sandbox_execute', {
        sandbox_id: sid,
        code: 'for i in $(seq 60); do sleep 600 & done 2>/dev/null; true',
        language: 'bash',
        timeout: 20,
      });
      const upload = await full.call('sandbox_upload', { sandbox_id: sid, file_path: 'x.txt', content: 'x' });
      expect(errorCode(upload)).toBe(ErrorCode.INSUFFICIENT_RESOURCES);
      const configure = await full.call('sandbox_configure', {
        sandbox_id: sid,
        env_vars: { SOME_NAME: 'some-value' },
      });
      expect(errorCode(configure)).toBe(ErrorCode.INSUFFICIENT_RESOURCES);
    } finally {
      await full.close();
    }
  });
});

it('creates the log file readable by its owner only', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-log-')), 'server.log');
  const log = createLogger({ level: 'info', file });
  log.info('hello');
  log.flush();
  await new Promise((r) => setTimeout(r, 200));
  expect(readFileSync(file, 'utf8')).toContain('hello');
  expect(statSync(file).mode & 0o777).toBe(0o600);
});
