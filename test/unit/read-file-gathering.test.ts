import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFile, type Runner } from '../../src/providers/docker/files.js';

// How the Docker backend gathers a file it reads (`cat` through the run agent or an exec): into one buffer of the
// size a stat gave, so that its pieces are not all kept and then joined. The runner here stands in for the agent
// and hands the bytes over in pieces, as the agent's output frames do (at most 64 KiB each).
const catOf =
  (bytes: Buffer, piece = 65536): Runner =>
  async (spec) => {
    for (let at = 0; at < bytes.length; at += piece) spec.onOutput?.('stdout', bytes.subarray(at, at + piece));
    return { exitCode: 0, timedOut: false, cancelled: false, durationMs: 1 };
  };

describe('reading a file back (Docker backend)', () => {
  const file = randomBytes(300_000);

  it('returns the bytes whole when the size is as the stat said, less, or more (the file changed meanwhile)', async () => {
    for (const hint of [file.length, file.length - 70_000, file.length + 5, undefined])
      expect((await readFile(catOf(file), '/f', 'user', 1_000_000, hint))!.equals(file)).toBe(true);
  });

  it('refuses a file that grew past the limit, whatever the stat said', async () => {
    await expect(readFile(catOf(file), '/f', 'user', 200_000, 100_000)).rejects.toThrow(/too large/);
  });
});
