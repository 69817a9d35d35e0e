import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { runCli } from '../helpers/run-cli.js';
import { tempStateDir } from '../helpers/test-config.js';

describe('the command line', () => {
  it('prints its commands on help and refuses an unknown one with status 2', async () => {
    const help = await runCli(['--help'], {});
    expect(help.status).toBe(0);
    for (const c of ['doctor', 'list', 'status ID', 'logs ID', 'create', 'exec ID', 'stop ID', 'delete ID', 'cleanup'])
      expect(help.stdout).toContain(`sandbox-mcp ${c}`);
    const bad = await runCli(['frobnicate'], {});
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
    const missing = await runCli(['status'], {});
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/usage: sandbox-mcp status ID/);
  });

  it('says PROVIDER_UNAVAILABLE with the fix, and fails, when the engine is not there', async () => {
    const r = await runCli(['list'], {
      DOCKER_HOST: 'unix:///tmp/sandbox-mcp-no-engine.sock',
      SANDBOX_STATE_DIR: tempStateDir(),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/PROVIDER_UNAVAILABLE: The Docker engine cannot be reached[\s\S]*Start Docker/);
    expect(r.stdout).toBe('');
  });

  it('stops on a malformed configuration, naming the variable', async () => {
    const r = await runCli(['list'], { SANDBOX_RATE_LIMIT: 'fast' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/SANDBOX_RATE_LIMIT \(got "fast"\)/);
  });
});

describeDocker('the command line on Docker', () => {
  const env = { SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() };
  const cli = (...args: string[]) => runCli(args, env);
  let id = '';

  afterAll(async () => {
    if (id) await cli('delete', id);
  });

  it('creates, runs, inspects, stops and deletes a sandbox, with exit statuses that follow the results', async () => {
    const created = await cli('create', '--template', 'base', '--name', 'from-cli', '--json');
    expect(created.status, created.stderr).toBe(0);
    id = JSON.parse(created.stdout).sandbox_id;
    expect(id).toMatch(/^sbx-/);

    const listed = await cli('list');
    expect(listed.stdout).toMatch(/^ID\s+STATUS\s+TEMPLATE\s+NAME/);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+running\\s+base\\s+from-cli`, 'm'));
    expect(
      JSON.parse((await cli('list', '--json')).stdout).sandboxes.map((s: { sandbox_id: string }) => s.sandbox_id),
    ).toContain(id);

    const failed = await cli('exec', id, '--code', 'echo out; echo oops >&2; exit 3', '--language', 'bash');
    expect(failed).toMatchObject({ status: 3, stdout: 'out\n' });
    expect(failed.stderr).toContain('oops');

    const file = path.join(tempStateDir(), 'job.py');
    writeFileSync(file, 'print(sum(range(10)))\n');
    expect(await cli('exec', id, '--file', file, '--language', 'python')).toMatchObject({ status: 0, stdout: '45\n' });
    expect((await cli('exec', id, '--code', 'sleep 30', '--language', 'bash', '--timeout', '1')).status).toBe(124);
    const asJson = await cli('exec', id, '--code', 'exit 5', '--language', 'bash', '--json');
    expect(asJson.status).toBe(5);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ status: 'failed', exit_code: 5 });

    const status = await cli('status', id);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^Status:\s+running$/m);
    expect(status.stdout).toMatch(/^Executions:\s+4 \(1 ok, 3 failed/m);
    expect((await cli('logs', id)).stdout).toMatch(/stdout\s+45/);

    expect((await cli('stop', id)).status).toBe(0);
    const refused = await cli('exec', id, '--code', 'true');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^SANDBOX_NOT_RUNNING: /);

    expect((await cli('delete', id)).status).toBe(0);
    const gone = await cli('status', id, '--json');
    expect(gone.status).toBe(1);
    expect(JSON.parse(gone.stdout).error.code).toBe('SANDBOX_NOT_FOUND');
    id = '';
  }, 180_000);
});

// cleanup works on every sandbox of the namespace: on a private fake E2B it cannot touch anyone else's.
describe('cleanup', () => {
  let fake: FakeE2B;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);
  beforeAll(async () => {
    fake = await startFakeE2B();
    env = { SANDBOX_PROVIDER: 'e2b', ...fake.env, SANDBOX_STATE_DIR: tempStateDir() };
  });
  afterAll(async () => fake?.close());

  it('deletes the stopped sandboxes, then with --all every one', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(JSON.parse((await cli('create', '--json')).stdout).sandbox_id);
    expect((await cli('stop', ids[0]!)).status).toBe(0);

    const first = await cli('cleanup', '--json');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ deleted: [{ sandbox_id: ids[0], reason: 'stopped' }], failed: [] });
    const left = JSON.parse((await cli('list', '--json')).stdout).sandboxes.map(
      (s: { sandbox_id: string }) => s.sandbox_id,
    );
    expect(left.sort()).toEqual(ids.slice(1).sort());

    const all = await cli('cleanup', '--all');
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/2 sandbox\(es\) deleted/);
    expect((await cli('list')).stdout).toBe('No sandboxes.\n');
    expect(fake.sandboxes.size).toBe(0);
  }, 120_000);
});
