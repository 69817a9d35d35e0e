import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertBuilt, SERVER_ENTRY } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';

/** Starts the built server with only these variables and returns how it ended. */
function start(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SANDBOX_STATE_DIR: tempStateDir(),
        ...env,
      },
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
    ['an unknown SANDBOX_ON_EXIT', { SANDBOX_ON_EXIT: 'nuke' }, /SANDBOX_ON_EXIT \(got "nuke"\)/],
  ])('exits non-zero on %s, saying what to fix on stderr and nothing on stdout', async (_what, env, message) => {
    const r = await start(env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

// A backend that cannot be reached (or refuses the key) does not stop the server: test/e2e/backend-down.test.ts.
