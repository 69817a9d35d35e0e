import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { wrongInterpreter } from '../../src/sandbox/run-hints.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { connectInMemory } from '../helpers/mcp-client.js';
import { testConfig } from '../helpers/test-config.js';
import { errorCode, ok, textOf } from '../helpers/tool-call.js';

type Session = Awaited<ReturnType<typeof connectInMemory>>;

describe('agent features on the tool layer (fake provider)', () => {
  let fake: FakeProvider;
  let s: Session;

  beforeEach(async () => {
    fake = new FakeProvider();
    s = await connectInMemory(testConfig(), fake);
  });
  afterEach(async () => s.close());

  describe('one-off runs (template instead of sandbox_id)', () => {
    it('runs in a sandbox made for the call, names it, and deletes it', async () => {
      const r = await s.call('sandbox_execute', { template: 'python', code: 'print(1)' });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      expect(ok(r).sandbox_id).toMatch(/^sbx-/);
      expect(fake.runs.map((x) => x.id)).toContain(ok(r).sandbox_id);
      expect(fake.sandboxes.size).toBe(0);
    });

    it('deletes the sandbox when the run fails and when the backend throws', async () => {
      fake.onRun = () => ({ exitCode: 3, stderr: 'boom' });
      const failed = await s.call('sandbox_execute', { template: 'python', code: 'x' });
      expect(failed.structuredContent).toMatchObject({ status: 'failed', exit_code: 3 });
      fake.onRun = () => {
        throw new Error('engine went away');
      };
      const broken = await s.call('sandbox_execute', { template: 'python', code: 'x' });
      expect(errorCode(broken)).toBe(ErrorCode.INTERNAL_ERROR);
      expect(fake.sandboxes.size).toBe(0);
    });

    it('takes the sandbox from the warm pool when there is one, and deletes it', async () => {
      await s.close();
      fake = new FakeProvider();
      s = await connectInMemory(testConfig({ SANDBOX_POOL_SIZE: '1', SANDBOX_POOL_TEMPLATES: 'python' }), fake);
      s.sandboxes.ctx.pool!.start();
      await s.sandboxes.ctx.pool!.settled();
      const warm = [...fake.sandboxes.keys()];
      expect(warm).toHaveLength(1);
      const r = await s.call('sandbox_execute', { template: 'python', code: 'print(1)' });
      expect(ok(r).sandbox_id).toBe(warm[0]);
      expect(fake.sandboxes.has(warm[0]!)).toBe(false);
    });

    it('asks for exactly one of sandbox_id and template', async () => {
      expect(errorCode(await s.call('sandbox_execute', { code: 'x' }))).toBe(ErrorCode.INVALID_ARGUMENT);
      const both = await s.call('sandbox_execute', { code: 'x', template: 'python', sandbox_id: 'sbx-aaaaaaaaaaaa' });
      expect(errorCode(both)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(fake.sandboxes.size).toBe(0);
    });
  });

  describe('saying what ran', () => {
    it('names the language in the text, and the language parameter when bash ran Python', async () => {
      const id = ok(await s.call('sandbox_create', { template: 'base' })).sandbox_id;
      fake.onRun = () => ({
        exitCode: 2,
        stderr:
          'bash: line 1: import: command not found\nbash: -c: line 2: syntax error near unexpected token `"hi"\'\nbash: -c: line 2: `print("hi")\'\n',
      });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'import os\nprint("hi")' });
      expect(textOf(r)).toContain('as bash');
      expect(ok(r).language).toBe('bash');
      expect(ok(r).hint).toMatch(/language: "python"/);
    });

    it.each([
      [
        'python',
        'Traceback (most recent call last):\n  File "<string>", line 1\n    echo hello\n         ^^^^^\nSyntaxError: invalid syntax',
        'bash',
      ],
      [
        'python',
        '  File "<string>", line 1\n    console.log("x")\nNameError: name \'console\' is not defined',
        'javascript',
      ],
      ['python', "NameError: name 'console' is not defined", undefined],
      ['sh', 'sh: 1: import: not found', 'python'],
      ['bash', 'bash: line 1: const: command not found', 'javascript'],
      ['javascript', '[eval]:1\nimport os\n       ^^\nSyntaxError: Unexpected identifier', 'python'],
      ['bash', 'bash: line 1: nosuchtool: command not found', undefined],
      ['python', 'ZeroDivisionError: division by zero', undefined],
    ] as const)('%s printing %j looks like %s', (ran, output, expected) => {
      expect(wrongInterpreter(ran, output)).toBe(expected);
    });
  });

  describe('out of processes', () => {
    it.each([
      'the sandbox has no process left to start this run (pids limit reached)\n',
      'python3: Resource temporarily unavailable\n',
      'bash: fork: retry: Resource temporarily unavailable\n',
    ])('names restart when a run fails with %j', async (stderr) => {
      const id = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
      fake.onRun = () => ({ exitCode: 126, stderr });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'print(1)' });
      expect(ok(r).hint).toMatch(/out of processes[\s\S]*restart: true/);
    });
  });

  describe('restart and ports', () => {
    it('restarts a running sandbox and says so', async () => {
      const id = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
      const r = await s.call('sandbox_configure', { sandbox_id: id, restart: true });
      expect(r.structuredContent).toMatchObject({ restarted: true, status: 'running' });
      expect(fake.restarts).toEqual([id]);
    });

    it('restarts a stopped sandbox too, since a backend may keep its processes across a stop (E2B pauses)', async () => {
      const id = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
      await s.call('sandbox_stop', { sandbox_id: id });
      const r = await s.call('sandbox_configure', { sandbox_id: id, restart: true });
      expect(r.structuredContent).toMatchObject({ restarted: true, started: true, status: 'running' });
      expect(fake.restarts).toEqual([id]);
    });

    it('refuses a background run in a stopped sandbox at once', async () => {
      const id = ok(await s.call('sandbox_create', { template: 'python' })).sandbox_id;
      await s.call('sandbox_stop', { sandbox_id: id });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'print(1)', background: true });
      expect(errorCode(r)).toBe(ErrorCode.SANDBOX_NOT_RUNNING);
    });

    it('returns urls for ports at create, adds ports at configure, and shows them all in status', async () => {
      const created = await s.call('sandbox_create', { template: 'python', ports: [8000] });
      const id = ok(created).sandbox_id;
      expect(ok(created).urls).toEqual({ '8000': 'http://127.0.0.1:48000' });
      const configured = await s.call('sandbox_configure', { sandbox_id: id, ports: [3000] });
      expect(Object.keys(ok(configured).urls ?? {})).toEqual(['3000', '8000']);
      const status = await s.call('sandbox_status', { sandbox_id: id });
      expect(Object.keys(ok(status).sandbox.urls)).toEqual(['3000', '8000']);
    });

    it('refuses ports on a sandbox without a network', async () => {
      const r = await s.call('sandbox_create', { template: 'python', network: 'none', ports: [8000] });
      expect(errorCode(r)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(fake.sandboxes.size).toBe(0);
    });
  });
});
