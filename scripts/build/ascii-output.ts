import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Escapes what is not ASCII in the built chunks. V8 keeps each loaded module's source text in the heap for as long
 * as the process lives, one byte per character when every character fits in Latin-1 and two bytes otherwise; one
 * dash in a comment of a dependency doubled a 400 KB chunk. esbuild's `charset: 'ascii'` escapes strings and
 * identifiers but leaves comments as they are, so what is left here is in comments, where `\uXXXX` reads the same.
 */
export async function asciiOutput(outDir: string): Promise<void> {
  for (const file of await readdir(outDir)) {
    if (!file.endsWith('.js')) continue;
    const full = path.join(outDir, file);
    const text = await readFile(full, 'utf8');
    const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (ascii !== text) await writeFile(full, ascii);
  }
}
