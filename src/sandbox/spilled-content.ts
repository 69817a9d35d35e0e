import { StringDecoder } from 'node:string_decoder';
import type { StreamedBytes } from '../providers/provider.js';
import type { SpillFile } from '../util/spill-file.js';

/** Text read from the spill file at once (base64 is ASCII: as many characters). */
const READ_BYTES = 64 * 1024;

/** The file's text in pieces with whitespace taken out, as upload's decode does to a string (`/\s+/g`). */
function* cleanPieces(file: SpillFile): Generator<string> {
  const decoder = new StringDecoder('utf8');
  for (const piece of file.chunks(READ_BYTES, true)) {
    const text = decoder.write(piece).replace(/\s+/g, '');
    if (text) yield text;
  }
  const last = decoder.end().replace(/\s+/g, '');
  if (last) yield last;
}

/**
 * The bytes of base64 pieces, decoded whole groups of four characters at a time (which give the same bytes as the
 * whole), into one buffer used again for each piece.
 */
function* decodedPieces(file: SpillFile): Generator<Buffer> {
  const out = Buffer.allocUnsafe((READ_BYTES / 4) * 3 + 3);
  let carry = '';
  for (const piece of cleanPieces(file)) {
    const text = carry + piece;
    const whole = text.length - (text.length % 4);
    if (whole > 0) yield out.subarray(0, out.write(text.slice(0, whole), 'base64'));
    carry = text.slice(whole);
  }
  if (carry) yield out.subarray(0, out.write(carry, 'base64'));
}

/**
 * Whether a spilled content is valid base64 as upload's decode says of a string (standard alphabet, at most two
 * `=` at its end, not one character too many), read a piece at a time: undefined when it is not, else its size.
 */
function checkBase64(file: SpillFile): number | undefined {
  let length = 0;
  let padding = 0;
  let size = 0;
  for (const piece of cleanPieces(file)) {
    if (padding > 0) {
      // `=` only at the very end: after the first, nothing else.
      if (!/^=*$/.test(piece)) return undefined;
      padding += piece.length;
    } else {
      const m = /^[A-Za-z0-9+/]*(=*)$/.exec(piece);
      if (!m) return undefined;
      padding = m[1]!.length;
    }
    length += piece.length;
  }
  if (padding > 2 || length % 4 === 1) return undefined;
  for (const bytes of decodedPieces(file)) size += bytes.length;
  return size;
}

/**
 * An upload's content that the transport spilled to disk, as the bytes to write: the UTF-8 text itself, or its
 * base64 decoded a piece at a time as it is sent. Undefined when base64 content is not valid base64.
 */
export function spilledContentBytes(file: SpillFile, encoding: 'utf8' | 'base64'): StreamedBytes | undefined {
  if (encoding === 'utf8') return { size: file.size, chunks: () => file.chunks(undefined, true) };
  const size = checkBase64(file);
  if (size === undefined) return undefined;
  return { size, chunks: () => decodedPieces(file) };
}
