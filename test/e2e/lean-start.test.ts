import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { assertBuilt, SERVER_ENTRY, spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';

const START_FIRST = path.join(path.dirname(SERVER_ENTRY), 'start-first.js');

/** Size in MB of V8's new space after a burst of short-lived allocations, in a node run with these flags. */
function newSpaceAfterBurst(flags: string[]): number {
  const script = `
    await import(${JSON.stringify(pathToFileURL(START_FIRST).href)});
    const v8 = await import('node:v8');
    let keep = [];
    for (let i = 0; i < 1_500_000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100_000) keep = []; }
    process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20));`;
  return Number(
    execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '' },
    }).toString(),
  );
}

describe('a lean start (no flags needed)', () => {
  it("keeps V8's young generation at its initial size, unless the user chose a semi-space size", () => {
    assertBuilt();
    expect(newSpaceAfterBurst([])).toBeLessThanOrEqual(2);
    // Node's own default lets it grow to 2 x 16 MB; a user's flag is left to work.
    expect(newSpaceAfterBurst(['--max-semi-space-size=4'])).toBeGreaterThan(2);
  });

  it('runs its first settings (young generation, zod) before any other module of the server is loaded', () => {
    assertBuilt();
    const firstImport = (file: string) =>
      /^import\s+(?:[^'"]*from\s+)?["']([^"']+)["']/m.exec(
        readFileSync(file, 'utf8').replace(/^.*__createRequire.*$/m, ''),
      )?.[1];
    const settingChunk = firstImport(START_FIRST);
    expect(settingChunk).toMatch(/^\.\/chunk-/);
    expect(firstImport(SERVER_ENTRY)).toBe(settingChunk);
    // That chunk depends on nothing of the server's: it is evaluated before any of it.
    expect(firstImport(path.join(path.dirname(SERVER_ENTRY), settingChunk!))).toMatch(/^(node:)?v8$/);
  });

  it('makes zod parse without compiling schemas from its first chunk on', () => {
    assertBuilt();
    // zod loaded after that chunk (as every schema of the bundle is) reads the setting.
    const script = `
      await import(${JSON.stringify(pathToFileURL(START_FIRST).href)});
      const { z } = await import('zod');
      process.stdout.write(String(z.config().jitless));`;
    expect(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() }).toString(),
    ).toBe('true');
  });

  it('loads the Docker client without ssh2 and gRPC for a local engine', () => {
    const docker = connectDocker(undefined);
    expect(docker.modem).toBeDefined();
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).some((f) => f.includes('/dockerode/'))).toBe(true);
    // Only the empty modules stood in for them: none of their code was loaded.
    const theirs = Object.keys(cache).filter((f) => /node_modules\/(ssh2|@grpc\/[^/]+)\//.test(f));
    expect(theirs.map((f) => Object.keys(cache[f]!.exports as object).length)).toEqual(theirs.map(() => 0));
  });

  it("neither evaluates Ajv at start-up nor carries zod's other languages", () => {
    assertBuilt();
    const dist = path.dirname(SERVER_ENTRY);
    const bundle = readdirSync(dist)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(path.join(dist, f), 'utf8'))
      .join('\n');
    // pino, CommonJS, is required (src/logger.ts), not imported as an ES module that Node would scan first.
    expect(bundle).not.toMatch(/^import\s[^;]*from\s*["']pino["']/m);
    expect(bundle).toMatch(/createRequire\(import\.meta\.url\)\("pino"\)/);
    // zod's English messages only (scripts/build/english-zod-locale.ts).
    expect(bundle).toMatch(/^\/\/ .*node_modules\/zod\/v4\/locales\/en\.js$/m);
    expect(bundle).not.toMatch(/^\/\/ .*node_modules\/zod\/v4\/locales\/fr\.js$/m);
    // Ajv is bundled, but evaluated only inside the SDK's createDefaultAjvInstance (scripts/build/lazy-ajv.ts):
    // no module-level (unindented) statement calls its CommonJS wrapper.
    expect(bundle).toMatch(/^function createDefaultAjvInstance\(\) \{\n\s+const Ajv = require_ajv\(\);/m);
    expect(bundle).not.toMatch(/^\S.*require_ajv\(\)/m);
  });

  it('logs to a log file readable by its owner only', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'lean-start-log-')), 'server.log');
    const server = await spawnServer({
      SANDBOX_STATE_DIR: tempStateDir(),
      SANDBOX_LOG_LEVEL: 'info',
      SANDBOX_LOG_FILE: file,
      DOCKER_HOST: 'unix:///nonexistent/docker.sock', // the backend is away: a warning to log, and nothing touched
    });
    try {
      await expect.poll(() => readFileSync(file, 'utf8'), { timeout: 10_000 }).toMatch(/not reachable yet/);
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; service: string; level: number });
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'sandbox MCP server ready on stdio', service: 'sandbox-mcp', level: 30 }),
      );
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      await server.close();
    }
  });

  it('logs when each start-up step was reached, at debug level, with the first tools/list', async () => {
    const server = await spawnServer({
      SANDBOX_STATE_DIR: tempStateDir(),
      SANDBOX_LOG_LEVEL: 'debug',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    try {
      const line = server
        .stderr()
        .split('\n')
        .find((l) => l.includes('"start-up timings"'));
      const { ms } = JSON.parse(line!) as { ms: Record<string, number> };
      expect(Object.keys(ms)).toEqual([
        'node bootstrapped',
        'modules evaluated',
        'configuration',
        'logger and backend import',
        'server (tool listing included)',
        'stdio connected',
        'first tools/list',
      ]);
      const values = Object.values(ms);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values[0]).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
