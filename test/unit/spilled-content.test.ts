import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spilledContentBytes } from '../../src/sandbox/spilled-content.js';
import { SpillFile } from '../../src/util/spill-file.js';

// An upload's content that came spilled to disk is validated and decoded a piece at a time; it must be accepted,
// refused and decoded exactly as the string itself is (src/sandbox/upload.ts's decode, copied here as the reference).

function reference(content: string): Buffer | undefined {
  const clean = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  return Buffer.from(clean, 'base64');
}

function spilled(content: string): SpillFile {
  const file = new SpillFile();
  file.writeText(content);
  return file;
}

/** The pieces, each copied before the next is asked for (a piece's buffer is read into again). */
function copied(pieces: Iterable<Buffer>): Buffer {
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(Buffer.from(piece));
  return Buffer.concat(out);
}

function decoded(content: string): Buffer | undefined {
  const file = spilled(content);
  try {
    const body = spilledContentBytes(file, 'base64');
    if (!body) return undefined;
    const bytes = copied(body.chunks());
    expect(bytes.length).toBe(body.size);
    return bytes;
  } finally {
    file.close();
  }
}

describe('an upload spilled to disk', () => {
  const long = randomBytes(200_001).toString('base64'); // several pieces of 64 KiB, padded
  const cases: Record<string, string> = {
    long,
    'long, unpadded': long.replace(/=+$/, ''),
    'long, wrapped at 76 with CRLF': long.replace(/.{76}/g, '$&\r\n'),
    'long, with Unicode spaces that \\s takes out': long.replace(/.{1000}/g, '$&\u00a0\u2028\ufeff '),
    'padding cut from its body by whitespace': 'QUJDRA\n=\n=',
    'one = after a 6-character body': 'QUJDRA=',
    'one character too many': 'QUJDR',
    'three =': 'QUJDRA===',
    '= inside': 'QU=JDRA==',
    'a character outside the alphabet': long.slice(0, 70_000) + '-' + long.slice(70_001),
    'a non-ASCII letter': 'QUJDé',
    empty: '',
    'whitespace only': ' \n\t ',
    'padding alone': '==',
    '= at a piece boundary': 'A'.repeat(65_534) + '==',
    'text after = at a piece boundary': 'A'.repeat(65_535) + '=' + 'AAAA',
  };
  for (const [name, content] of Object.entries(cases)) {
    it(`is read as the string would be: ${name}`, () => {
      const want = reference(content);
      const got = decoded(content);
      expect(got === undefined).toBe(want === undefined);
      if (want) expect(got!.equals(want)).toBe(true);
    });
  }

  it('is its own bytes as utf8', () => {
    const text = 'é€😀 \u0000 text '.repeat(20_000);
    const file = spilled(text);
    const body = spilledContentBytes(file, 'utf8')!;
    expect(copied(body.chunks()).equals(Buffer.from(text))).toBe(true);
    expect(body.size).toBe(Buffer.byteLength(text));
    file.close();
  });
});
