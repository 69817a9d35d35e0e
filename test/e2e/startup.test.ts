import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeE2B, type FakeE2B } from '../fake-e2b/index.js';
import { assertBuilt, SERVER_ENTRY } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';

/** Starts the built server with only these variables and returns how it ended. */
function start(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', SANDBOX_STATE_DIR: tempStateDir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('start-up with a broken setup', () => {
  it.each([
    ['a malformed number', { SANDBOX_MAX_SANDBOXES: 'lots' }, /SANDBOX_MAX_SANDBOXES \(got "lots"\)/],
    ['an unknown provider', { SANDBOX_PROVIDER: 'kubernetes' }, /SANDBOX_PROVIDER/],
    ['e2b without a key', { SANDBOX_PROVIDER: 'e2b' }, /E2B_API_KEY/],
    ['a malformed DOCKER_HOST', { DOCKER_HOST: 'localhost:2375' }, /DOCKER_HOST/],
    ['no Docker engine', { DOCKER_HOST: 'unix:///tmp/no-such-docker.sock' }, /Docker engine cannot be reached.*(Start Docker|DOCKER_HOST)/],
  ])('exits non-zero on %s, saying what to fix on stderr and nothing on stdout', async (_what, env, message) => {
    const r = await start(env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('start-up on E2B', () => {
  let fake: FakeE2B;
  beforeAll(async () => {
    fake = await startFakeE2B();
  });
  afterAll(async () => fake?.close());

  it('exits non-zero on a key E2B refuses, naming E2B_API_KEY', async () => {
    const r = await start({ ...fake.env, E2B_API_KEY: 'e2b_not_the_key' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E2B refused the API key.*E2B_API_KEY/);
    expect(r.stdout).toBe('');
  });

  it('exits non-zero when E2B cannot be reached', async () => {
    const r = await start({ E2B_API_KEY: fake.apiKey, E2B_API_URL: 'http://127.0.0.1:9', E2B_SANDBOX_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E2B cannot be reached/);
  });
});
