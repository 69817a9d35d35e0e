import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { transform } from 'esbuild';

/** The code of a chunk without its comments or layout, strings and identifiers escaped: what the rewrite must keep. */
const codeOf = async (js: string): Promise<string> =>
  (
    await transform(js, {
      loader: 'js',
      format: 'esm',
      minifyWhitespace: true,
      charset: 'ascii',
      legalComments: 'none',
    })
  ).code;

/**
 * Escapes what is not ASCII in the built chunks. V8 keeps each loaded module's source text in the heap for as long
 * as the process lives, one byte per character when every character fits in Latin-1 and two bytes otherwise; one
 * dash in a comment of a dependency doubled a 400 KB chunk. esbuild's `charset: 'ascii'` escapes strings and
 * identifiers but not comments, regular expression literals or tagged templates, where `\uXXXX` would mean
 * something else. So a chunk is rewritten only if its code, comments aside, stays the same (compared by esbuild
 * itself); otherwise the build fails and names the chunk.
 */
export async function asciiOutput(outDir: string): Promise<void> {
  for (const file of await readdir(outDir)) {
    if (!file.endsWith('.js')) continue;
    const full = path.join(outDir, file);
    const text = await readFile(full, 'utf8');
    const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (ascii === text) continue;
    if ((await codeOf(ascii)) !== (await codeOf(text)))
      throw new Error(
        `${full}: a character outside ASCII is in code (a regular expression or a tagged template), not only in comments; escaping it would change what the code does`,
      );
    await writeFile(full, ascii);
  }
}
