import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { assertBuilt, SERVER_ENTRY } from '../helpers/stdio-server.js';

const DIST = path.dirname(SERVER_ENTRY);
const HEAP_SIZING = path.join(DIST, 'heap-sizing.js');

/** Size in MB of V8's new space after a burst of short-lived allocations, in a node run with these flags. */
function newSpaceAfterBurst(flags: string[]): number {
  const script = `
    await import(${JSON.stringify(pathToFileURL(HEAP_SIZING).href)});
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

/** The factor V8 applied to the old generation's limit at a full collection, in a node run with these flags. */
function oldGenerationFactor(flags: string[]): number {
  const script = `await import(${JSON.stringify(pathToFileURL(HEAP_SIZING).href)}); gc();`;
  // V8 traces each limit it sets: "[HeapController] Limit: old size: 3047 KB, new limit: 12245 KB (1.3)".
  const trace = execFileSync(
    process.execPath,
    [...flags, '--trace-gc-verbose', '--expose-gc', '--input-type=module', '-e', script],
    { env: { PATH: process.env.PATH ?? '' } },
  ).toString();
  return Number(/\[HeapController\] Limit: .*\(([\d.]+)\)/.exec(trace)?.[1]);
}

/** The chunks Node loads when the server starts: the entry and what it imports statically, transitively. */
function startUpChunks(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?["'](\.\/[^"']+)["'];?$/gms))
      visit(path.join(DIST, spec!));
  };
  visit(SERVER_ENTRY);
  return [...seen];
}

describe('a lean start (no flags needed)', () => {
  it("keeps V8's young generation at its initial size, unless the user chose a semi-space size", () => {
    assertBuilt();
    expect(newSpaceAfterBurst([])).toBeLessThanOrEqual(2);
    // Node's own default lets it grow to 2 x 16 MB; a user's flag is left to work.
    expect(newSpaceAfterBurst(['--max-semi-space-size=4'])).toBeGreaterThan(2);
  });

  it('grows the old generation by 30% of what survived, unless the user chose a growing percent', () => {
    assertBuilt();
    expect(oldGenerationFactor([])).toBe(1.3);
    // V8's own choice for a small heap on a machine with memory is 4x; a user's flag is left to work.
    expect(oldGenerationFactor(['--heap-growing-percent=50'])).toBe(1.5);
  });

  it("keeps out of the start-up chunks the source the server does not run: Ajv, zod's other languages", () => {
    assertBuilt();
    const chunks = startUpChunks();
    expect(chunks.length).toBeGreaterThan(2);
    const source = chunks.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(source).toContain('node_modules/@modelcontextprotocol/sdk/dist/esm/server/index.js');
    expect(source).toContain('node_modules/zod/v4/locales/en.js');
    expect(source).not.toContain('node_modules/ajv/');
    expect(source).not.toContain('node_modules/zod/v4/locales/de.js');
    // One character outside Latin-1 makes V8 hold a whole chunk's source at two bytes a character.
    expect(source).not.toMatch(/[^\x00-\x7f]/);
  });

  it('runs that setting before any other module of the server is loaded', () => {
    assertBuilt();
    const firstImport = (file: string) =>
      /^import\s+(?:[^'"]*from\s+)?["']([^"']+)["']/m.exec(
        readFileSync(file, 'utf8').replace(/^.*__createRequire.*$/m, ''),
      )?.[1];
    const settingChunk = firstImport(HEAP_SIZING);
    expect(settingChunk).toMatch(/^\.\/chunk-/);
    expect(firstImport(SERVER_ENTRY)).toBe(settingChunk);
  });

  it("makes docker-modem's formatting of each request's options (for its debug log, on or off) a few characters", () => {
    const docker = connectDocker(undefined);
    const options = { path: '/_ping', method: 'GET', agent: (docker.modem as unknown as { agent: object }).agent };
    expect(inspect(options, { showHidden: true, depth: null }).length).toBeLessThan(200);
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
});
