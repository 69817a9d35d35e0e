import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { runCli } from '../helpers/run-cli.js';
import { tempStateDir } from '../helpers/test-config.js';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }>;
}

const doctorJson = async (env: Record<string, string>) => {
  const r = await runCli(['doctor', '--json'], env);
  return { status: r.status, report: JSON.parse(r.stdout) as Report };
};
const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describeDocker('doctor on a healthy Docker setup', () => {
  it('passes every check, one line each, and exits 0', async () => {
    const r = await runCli(['doctor'], { SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() });
    expect(r.status, r.stdout).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const name of [
      'node',
      'configuration',
      'docker engine',
      'docker version',
      'cgroup limits',
      'runtime',
      'template base',
      'template python',
      'state folder',
    ]) {
      expect(
        lines.filter((l) => l.startsWith(`[ok  ] ${name}:`)),
        name,
      ).toHaveLength(1);
    }
    expect(r.stdout).toMatch(/docker version: Docker Engine \S+ \(API \d+\.\d+\)/);
    expect(r.stdout).toMatch(/All checks passed/);
  });

  it('fails a runtime the engine does not have, saying how to install it', async () => {
    const { status, report } = await doctorJson({
      SANDBOX_IMAGE: TEST_IMAGE,
      SANDBOX_STATE_DIR: tempStateDir(),
      SANDBOX_DOCKER_RUNTIME: 'runsc-not-here',
    });
    expect(status).toBe(1);
    expect(report.ok).toBe(false);
    expect(check(report, 'runtime')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/runsc-not-here is not registered/),
      fix: expect.stringMatching(/daemon\.json/),
    });
  });
});

describe('doctor on a broken setup', () => {
  it('fails an engine that cannot be reached, with the fix on the same line', async () => {
    const r = await runCli(['doctor'], {
      DOCKER_HOST: 'unix:///tmp/sandbox-mcp-no-engine.sock',
      SANDBOX_STATE_DIR: tempStateDir(),
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^\[FAIL\] docker engine: The Docker engine cannot be reached .*Fix: Start Docker.*DOCKER_HOST/m,
    );
    expect(r.stdout).toMatch(/^\[ok {2}\] state folder: /m);
    expect(r.stdout).toMatch(/1 check\(s\) failed/);
  });

  it('fails a malformed configuration, naming the variable', async () => {
    const { status, report } = await doctorJson({ SANDBOX_DEFAULT_CPUS: 'many' });
    expect(status).toBe(1);
    expect(check(report, 'configuration')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/SANDBOX_DEFAULT_CPUS \(got "many"\)/),
    });
  });

  it('fails a state folder that cannot be written', async () => {
    const { status, report } = await doctorJson({
      DOCKER_HOST: 'unix:///tmp/sandbox-mcp-no-engine.sock',
      SANDBOX_STATE_DIR: '/etc/hostname/state',
    });
    expect(status).toBe(1);
    expect(check(report, 'state folder')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/SANDBOX_STATE_DIR/),
    });
  });
});

describe('doctor on E2B', () => {
  let fake: FakeE2B;
  beforeAll(async () => {
    fake = await startFakeE2B();
  });
  afterAll(async () => fake?.close());

  it('passes a key E2B accepts', async () => {
    const { status, report } = await doctorJson({ ...fake.env, SANDBOX_STATE_DIR: tempStateDir() });
    expect(status).toBe(0);
    expect(check(report, 'e2b')).toMatchObject({ status: 'ok' });
  });

  it('fails a key E2B refuses, naming E2B_API_KEY', async () => {
    const { status, report } = await doctorJson({
      ...fake.env,
      E2B_API_KEY: 'e2b_wrong',
      SANDBOX_STATE_DIR: tempStateDir(),
    });
    expect(status).toBe(1);
    expect(check(report, 'e2b')).toMatchObject({
      status: 'fail',
      detail: 'E2B refused the API key.',
      fix: expect.stringMatching(/E2B_API_KEY/),
    });
  });
});
