import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { assertBuilt, SERVER_ENTRY } from '../helpers/stdio-server.js';

const YOUNG_GENERATION = path.join(path.dirname(SERVER_ENTRY), 'young-generation.js');

/** Size in MB of V8's new space after a burst of short-lived allocations, in a node run with these flags. */
function newSpaceAfterBurst(flags: string[]): number {
  const script = `
    await import(${JSON.stringify(pathToFileURL(YOUNG_GENERATION).href)});
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

  it('runs that setting before any other module of the server is loaded', () => {
    assertBuilt();
    const firstImport = (file: string) =>
      /^import\s+(?:[^'"]*from\s+)?["']([^"']+)["']/m.exec(
        readFileSync(file, 'utf8').replace(/^.*__createRequire.*$/m, ''),
      )?.[1];
    const settingChunk = firstImport(YOUNG_GENERATION);
    expect(settingChunk).toMatch(/^\.\/chunk-/);
    expect(firstImport(SERVER_ENTRY)).toBe(settingChunk);
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
