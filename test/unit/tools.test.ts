import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandboxError, ErrorCode } from '../../src/errors.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { connectInMemory } from '../helpers/mcp-client.js';
import { testConfig } from '../helpers/test-config.js';
import { errorCode, failure, invalidArgs, ok, textOf, type ToolInput, type ToolName } from '../helpers/tool-call.js';

type Session = Awaited<ReturnType<typeof connectInMemory>>;

const SNAPSHOT = path.join(import.meta.dirname, '..', 'toolsnaps', 'tools-list.json');

describe('tool layer (fake provider)', () => {
  let fake: FakeProvider;
  let s: Session;

  const connect = async (env: Record<string, string> = {}) => {
    fake = new FakeProvider();
    s = await connectInMemory(testConfig(env), fake);
  };
  const create = async (args: ToolInput<'sandbox_create'> = {}) => {
    const r = await s.call('sandbox_create', { template: 'python', ...args });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    return ok(r).sandbox_id;
  };

  beforeEach(async () => connect());
  afterEach(async () => s.close());

  describe('tools/list', () => {
    it('offers the ten tools with all four annotations, described inputs and an output schema', () => {
      expect(s.tools.map((t) => t.name)).toEqual([
        'sandbox_create',
        'sandbox_execute',
        'sandbox_list',
        'sandbox_status',
        'sandbox_configure',
        'sandbox_upload',
        'sandbox_download',
        'sandbox_logs',
        'sandbox_stop',
        'sandbox_delete',
      ]);
      for (const tool of s.tools) {
        for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
          expect(typeof tool.annotations?.[hint], `${tool.name}.${hint}`).toBe('boolean');
        }
        expect(tool.outputSchema, tool.name).toBeDefined();
        for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
          expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
        }
      }
    });

    it('keeps what a model reads (names, descriptions, input schemas) within 8,000 characters', () => {
      const modelFacing = JSON.stringify(
        s.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
      );
      expect(modelFacing.length).toBeLessThanOrEqual(8000);
    });

    it('states the configured caps and defaults in the input schemas, and refuses values above them', async () => {
      await s.close();
      await connect({
        SANDBOX_MAX_TIMEOUT: '7200',
        SANDBOX_MAX_MEMORY_MB: '2048',
        SANDBOX_MAX_CPUS: '2',
        SANDBOX_MAX_EXEC_TIMEOUT: '600',
        SANDBOX_MAX_CODE_SIZE: '50000',
        SANDBOX_NETWORK: 'none',
      });
      type Property = { maximum?: number; maxLength?: number; default?: unknown; description?: string };
      const input = (tool: string, field: string) =>
        (s.tools.find((t) => t.name === tool)!.inputSchema.properties as Record<string, Property>)[field]!;
      expect(input('sandbox_create', 'timeout').maximum).toBe(7200);
      expect(input('sandbox_create', 'memory_mb').maximum).toBe(2048);
      expect(input('sandbox_create', 'cpus').maximum).toBe(2);
      expect(input('sandbox_create', 'network').default).toBe('none');
      expect(input('sandbox_configure', 'timeout').maximum).toBe(7200);
      // Background runs may last as long as a sandbox lives; the description states both limits.
      expect(input('sandbox_execute', 'timeout').maximum).toBe(7200);
      expect(input('sandbox_execute', 'timeout').description).toMatch(/max 600\b.*max 7200\b/);
      expect(input('sandbox_execute', 'code').maxLength).toBe(50000);
      expect(JSON.stringify(s.tools.map((t) => t.inputSchema))).not.toContain('9007199254740991');

      const tooMuch = await s.call('sandbox_create', { memory_mb: 4096 });
      expect(errorCode(tooMuch)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(failure(tooMuch).message).toContain('memory_mb');
      expect(fake.sandboxes.size).toBe(0);
    });

    it('matches the reviewed snapshot (set UPDATE_TOOLSNAPS=1 to accept a change)', () => {
      const current = JSON.stringify(s.tools, null, 2) + '\n';
      if (process.env.UPDATE_TOOLSNAPS === '1' || !existsSync(SNAPSHOT)) writeFileSync(SNAPSHOT, current);
      expect(current).toBe(readFileSync(SNAPSHOT, 'utf8'));
    });
  });

  describe('arguments', () => {
    it.each<[string, ToolName, Record<string, unknown>]>([
      ['a missing required field', 'sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa' }],
      ['a wrong type', 'sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa', code: 42 }],
      ['an unknown language', 'sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa', code: 'x', language: 'cobol' }],
      ['a negative timeout', 'sandbox_execute', { sandbox_id: 'sbx-aaaaaaaaaaaa', code: 'x', timeout: -1 }],
      ['an enormous number', 'sandbox_create', { memory_mb: 1e300 }],
      ['lines out of range', 'sandbox_logs', { sandbox_id: 'sbx-aaaaaaaaaaaa', lines: 5000 }],
      ['a bad env var name', 'sandbox_create', { env_vars: { 'BAD NAME': 'x' } }],
      [
        'a non-octal mode',
        'sandbox_upload',
        { sandbox_id: 'sbx-aaaaaaaaaaaa', file_path: 'a', content: 'b', permissions: 'rwx' },
      ],
    ])('answers %s with INVALID_ARGUMENT naming the field', async (_what, tool, args) => {
      const r = await s.call(tool, invalidArgs(args));
      expect(errorCode(r)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(failure(r).hint).toBeTruthy();
      expect(textOf(r)).toMatch(/^INVALID_ARGUMENT: /);
    });

    it('refuses code over the size limit', async () => {
      const id = await create();
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'x'.repeat(100 * 1024 + 1) });
      expect(errorCode(r)).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(failure(r).message).toMatch(/limit/);
    });

    it('never lets a flag-like or foreign ID reach the provider', async () => {
      for (const id of ['--help', '-f', '$(reboot)', '../../etc', 'a'.repeat(64), '4f3c2b1a0e9d']) {
        const r = await s.call('sandbox_status', { sandbox_id: id });
        expect(errorCode(r), id).toBe(ErrorCode.SANDBOX_NOT_FOUND);
      }
      expect(fake.runs).toHaveLength(0);
    });
  });

  describe('sandbox_create', () => {
    it('returns names, never values, of the environment variables', async () => {
      const r = await s.call('sandbox_create', { template: 'python', env_vars: { API_TOKEN: 'tok-very-secret-123' } });
      expect(r.structuredContent).toMatchObject({ env_vars_configured: 1, env_var_names: ['API_TOKEN'] });
      expect(JSON.stringify(r)).not.toContain('tok-very-secret-123');
    });

    it('counts what it configured as numbers (as the seeds do), with the names and packages beside them', async () => {
      const r = await s.call('sandbox_create', {
        template: 'python',
        env_vars: { A: '1', B: '2', C: '3' },
        install_packages: ['requests'],
      });
      expect(r.structuredContent).toMatchObject({
        env_vars_configured: 3,
        env_var_names: ['A', 'B', 'C'],
        packages_installed: 1,
        packages: ['requests'],
      });
      const c = await s.call('sandbox_configure', {
        sandbox_id: ok(r).sandbox_id,
        env_vars: { D: '4', E: '5' },
        run_commands: ['true', 'true'],
      });
      expect(c.structuredContent).toMatchObject({
        env_vars_updated: 2,
        env_var_names: ['D', 'E'],
        packages_installed: 0,
        packages: [],
        commands_executed: 2,
      });
    });

    it('answers an unknown template with TEMPLATE_NOT_FOUND listing the templates', async () => {
      const r = await s.call('sandbox_create', { template: 'cobol' });
      expect(errorCode(r)).toBe(ErrorCode.TEMPLATE_NOT_FOUND);
      expect(failure(r).hint).toMatch(/python/);
    });

    it('removes the sandbox when an install fails, and reports the output', async () => {
      fake.onRun = (spec) =>
        spec.argv.includes('pip')
          ? { exitCode: 1, stderr: 'No matching distribution found for nosuchpkg' }
          : { exitCode: 0 };
      const r = await s.call('sandbox_create', { template: 'python', install_packages: ['nosuchpkg'] });
      expect(errorCode(r)).toBe(ErrorCode.EXECUTION_ERROR);
      expect(failure(r).message).toContain('No matching distribution');
      expect(fake.sandboxes.size).toBe(0);
    });

    it('refuses a sandbox over the quota with QUOTA_EXCEEDED', async () => {
      await s.close();
      await connect({ SANDBOX_MAX_SANDBOXES: '1' });
      await create();
      const r = await s.call('sandbox_create', { template: 'python' });
      expect(errorCode(r)).toBe(ErrorCode.QUOTA_EXCEEDED);
      // The refused sandbox was being made alongside the check: nothing of it is left, the first one stays.
      expect(fake.sandboxes.size).toBe(1);
    });

    it("makes the sandbox while the quota's listing is under way, not after it", async () => {
      let created = 0;
      let createdBeforeListingAnswered: boolean | undefined;
      const create = fake.create.bind(fake);
      fake.create = (spec) => (created++, create(spec));
      const list = fake.list.bind(fake);
      fake.list = async () => {
        await new Promise((r) => setImmediate(r));
        createdBeforeListingAnswered ??= created > 0;
        return list();
      };
      const r = await s.call('sandbox_create', { template: 'python' });
      expect(r.isError).toBeFalsy();
      expect(createdBeforeListingAnswered).toBe(true);
    });
  });

  describe('sandbox_execute', () => {
    it('returns a non-zero exit as a result with status failed', async () => {
      const id = await create();
      fake.onRun = () => ({ exitCode: 2, stderr: 'boom' });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'raise SystemExit(2)' });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'failed', exit_code: 2, error: 'boom', language: 'python' });
    });

    it('reports a timeout with exit code 124 and a hint', async () => {
      const id = await create();
      fake.onRun = () => ({ exitCode: null, timedOut: true, stdout: 'partial' });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'while True: pass', timeout: 1 });
      expect(r.structuredContent).toMatchObject({ status: 'timeout', exit_code: 124, output: 'partial' });
      expect(ok(r).hint).toMatch(/killed after 1s/);
    });

    it('caps output keeping head and tail, and states the byte counts', async () => {
      await s.close();
      await connect({ SANDBOX_OUTPUT_LIMIT: '2048' });
      const id = await create();
      const flood = `HEAD${'x'.repeat(100_000)}TAIL`;
      fake.onRun = () => ({ exitCode: 0, stdout: flood });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'flood' });
      const out = ok(r).output;
      expect(ok(r).output_truncated).toBe(true);
      expect(ok(r).output_bytes).toBe(flood.length);
      expect(out.startsWith('HEAD')).toBe(true);
      expect(out.endsWith('TAIL')).toBe(true);
      expect(out.length).toBeLessThan(2200);
      expect(out).toMatch(/bytes omitted/);
    });

    it('streams output as progress notifications when the call has a progress token', async () => {
      const id = await create();
      fake.onRun = () => ({ exitCode: 0, stdout: 'line one\n', stderr: 'warning\n' });
      const messages: string[] = [];
      await s.call(
        'sandbox_execute',
        { sandbox_id: id, code: 'x' },
        { onprogress: (p) => messages.push(p.message ?? '') },
      );
      expect(messages).toEqual(['stdout: line one\n', 'stderr: warning\n']);
    });

    it('gives every run the sandbox variables plus its own, and runs as the sandbox user', async () => {
      const id = await create({ env_vars: { A: '1', B: '2' } });
      await s.call('sandbox_configure', { sandbox_id: id, env_vars: { B: '3' } });
      await s.call('sandbox_execute', { sandbox_id: id, code: 'x', env_vars: { C: '4' }, working_dir: 'project' });
      const run = fake.runs.at(-1)!.spec;
      expect(run.env).toEqual({ A: '1', B: '3', C: '4' });
      expect(run.user).toBe('user');
      expect(run.cwd).toBe('/home/user/project');
      expect(run.argv).toEqual(['python3', '-c', 'x']);
    });

    it('answers a stopped sandbox with SANDBOX_NOT_RUNNING and a way back', async () => {
      const id = await create();
      await s.call('sandbox_stop', { sandbox_id: id });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'x' });
      expect(errorCode(r)).toBe(ErrorCode.SANDBOX_NOT_RUNNING);
      expect(failure(r).hint).toMatch(/sandbox_configure/);
    });

    it('does not return output when capture_output is false, but keeps it in the logs', async () => {
      const id = await create();
      fake.onRun = () => ({ exitCode: 0, stdout: 'quiet\n' });
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'x', capture_output: false });
      expect(ok(r).output).toBe('');
      const logs = await s.call('sandbox_logs', { sandbox_id: id, log_level: 'info' });
      expect(ok(logs).logs.map((l) => l.message)).toContain('quiet');
    });
  });

  describe('sandbox_logs', () => {
    it('filters by level, keeps the newest lines, and can leave out timestamps', async () => {
      const id = await create();
      fake.onRun = () => ({ exitCode: 1, stdout: 'o1\no2\n', stderr: 'e1\n' });
      await s.call('sandbox_execute', { sandbox_id: id, code: 'x' });
      const errors = await s.call('sandbox_logs', { sandbox_id: id, log_level: 'error' });
      expect(ok(errors).logs.map((l) => l.source)).toEqual(['execution']);
      const warn = await s.call('sandbox_logs', { sandbox_id: id, log_level: 'warn', include_timestamps: false });
      expect(ok(warn).logs.map((l) => l.message)).toEqual(['e1', expect.stringMatching(/failed with exit code 1/)]);
      expect(ok(warn).logs[0]!.timestamp).toBeUndefined();
      const two = await s.call('sandbox_logs', { sandbox_id: id, lines: 2 });
      expect(ok(two).logs).toHaveLength(2);
      expect(ok(two).total_lines).toBeGreaterThan(2);
      expect(ok(two).oldest_entry).toBeTruthy();
    });
  });

  describe('sandbox_list, sandbox_status, sandbox_stop, sandbox_delete', () => {
    it('lists with filters, counts, sorting and a limit', async () => {
      const a = await create({ name: 'alpha' });
      await create({ name: 'beta', template: 'node' });
      await create({ name: 'gamma' });
      await s.call('sandbox_stop', { sandbox_id: a });
      const all = await s.call('sandbox_list', { sort_by: 'name', order: 'asc', limit: 2 });
      expect(all.structuredContent).toMatchObject({ total_count: 3, running_count: 2, stopped_count: 1 });
      expect(ok(all).sandboxes.map((x) => x.name)).toEqual(['alpha', 'beta']);
      const python = await s.call('sandbox_list', { template: 'python', status: 'running' });
      expect(ok(python).sandboxes.map((x) => x.name)).toEqual(['gamma']);
    });

    it('shows status with usage and execution counts', async () => {
      const id = await create();
      fake.onRun = (spec) =>
        spec.argv[0] === 'python3'
          ? { exitCode: spec.argv[2] === 'ok' ? 0 : 1 }
          : { exitCode: 0, stdout: 'python3=Python 3.11.2\n' };
      await s.call('sandbox_execute', { sandbox_id: id, code: 'ok' });
      await s.call('sandbox_execute', { sandbox_id: id, code: 'bad' });
      const r = await s.call('sandbox_status', { sandbox_id: id });
      expect(ok(r).sandbox).toMatchObject({
        id,
        status: 'running',
        executions: { total: 2, successful: 1, failed: 1 },
        environment: { working_directory: '/home/user', language_versions: { python: '3.11.2' } },
        resource_usage: { pids: 3 },
      });
    });

    it('stops repeatably with data preserved, and deletes once', async () => {
      const id = await create();
      const first = await s.call('sandbox_stop', { sandbox_id: id });
      const second = await s.call('sandbox_stop', { sandbox_id: id });
      expect(first.structuredContent).toMatchObject({
        previous_status: 'running',
        current_status: 'stopped',
        data_preserved: true,
      });
      expect(second.structuredContent).toMatchObject({ previous_status: 'stopped', current_status: 'stopped' });
      expect((await s.call('sandbox_delete', { sandbox_id: id })).isError).toBeFalsy();
      expect(errorCode(await s.call('sandbox_delete', { sandbox_id: id }))).toBe(ErrorCode.SANDBOX_NOT_FOUND);
    });
  });

  describe('errors', () => {
    it('turns an unexpected failure into INTERNAL_ERROR without internals', async () => {
      const id = await create();
      fake.onRun = () => {
        throw new Error('ECONNRESET at /var/run/docker.sock with stack');
      };
      const r = await s.call('sandbox_execute', { sandbox_id: id, code: 'x' });
      expect(errorCode(r)).toBe(ErrorCode.INTERNAL_ERROR);
      expect(JSON.stringify(r)).not.toMatch(/docker\.sock|stack/);
    });

    it('passes PROVIDER_UNAVAILABLE through with its hint', async () => {
      fake.list = async () => {
        throw new SandboxError(ErrorCode.PROVIDER_UNAVAILABLE, 'The Docker engine cannot be reached.', 'Start Docker.');
      };
      const r = await s.call('sandbox_list', {});
      expect(failure(r)).toEqual({
        code: 'PROVIDER_UNAVAILABLE',
        message: 'The Docker engine cannot be reached.',
        hint: 'Start Docker.',
      });
    });

    it('answers with RATE_LIMITED past the calls-per-minute limit', async () => {
      await s.close();
      await connect({ SANDBOX_RATE_LIMIT: '3' });
      for (let i = 0; i < 3; i++) expect((await s.call('sandbox_list', {})).isError).toBeFalsy();
      const r = await s.call('sandbox_list', {});
      expect(errorCode(r)).toBe(ErrorCode.RATE_LIMITED);
      expect(failure(r).hint).toMatch(/Wait \d+s/);
    });
  });
});
