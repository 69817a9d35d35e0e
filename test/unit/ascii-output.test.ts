import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { asciiOutput } from '../../scripts/build/ascii-output.js';

/** A build folder holding one chunk with this text. */
function chunk(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ascii-output-'));
  writeFileSync(path.join(dir, 'chunk.js'), text);
  return dir;
}
const read = (dir: string) => readFileSync(path.join(dir, 'chunk.js'), 'utf8');

describe('the build step that keeps chunks ASCII', () => {
  it('escapes what is not ASCII in comments, and the code runs the same', async () => {
    const dir = chunk('// a dash \u2014 here\n/* caf\u00e9 */\nexport const x = "ok";\n');
    await asciiOutput(dir);
    expect(read(dir)).toBe('// a dash \\u2014 here\n/* caf\\u00e9 */\nexport const x = "ok";\n');
    expect(read(dir)).not.toMatch(/[^\x00-\x7f]/);
  });

  it('fails the build, naming the chunk, where escaping would change the code', async () => {
    for (const code of ['export const r = /\u00e9/u;\n', 'export const t = String.raw`\u00e9`;\n']) {
      const dir = chunk(code);
      await expect(asciiOutput(dir)).rejects.toThrow(/chunk\.js: a character outside ASCII is in code/);
      expect(read(dir)).toBe(code); // left as it was
    }
  });
});
