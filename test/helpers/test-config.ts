import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { TEST_IMAGE } from './docker-env.js';

/** A fresh state folder per call, so tests never see each other's history. */
export const tempStateDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-test-'));

/** A namespace per test process, so that one file's reaper or quota never acts on another file's sandboxes. */
export const TEST_NAMESPACE = `test-${process.pid}`;

/**
 * The environment of a server or command line a test spawns: only what reaching the engine needs from the
 * developer's, never their namespace (tests must not count, reap or clean up anybody's real sandboxes), then `env`.
 */
export const spawnEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
  SANDBOX_NAMESPACE: TEST_NAMESPACE,
  ...env,
});

/** Configuration as the server would parse it, from test-specific variables (and SANDBOX_DOCKER_RUNTIME, to run a file under gVisor). */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    ...(process.env.SANDBOX_DOCKER_RUNTIME ? { SANDBOX_DOCKER_RUNTIME: process.env.SANDBOX_DOCKER_RUNTIME } : {}),
    SANDBOX_STATE_DIR: tempStateDir(),
    SANDBOX_IMAGE: TEST_IMAGE,
    SANDBOX_LOG_LEVEL: 'silent',
    SANDBOX_NAMESPACE: TEST_NAMESPACE,
    ...env,
  });
}
