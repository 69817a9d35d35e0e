import { StringDecoder } from 'node:string_decoder';
import type { StreamedBytes } from '../providers/provider.js';
import type { SpillFile } from '../util/spill-file.js';

/** Text read from the spill file at once (base64 is ASCII: as many characters): small strings for V8. */
const READ_BYTES = 64 * 1024;
/**
 * Bytes handed on at once: each piece is written before the next is made (its buffer is used again), so a piece is
 * what is in flight to the sandbox. Larger pieces (256 KiB, 1 MiB) were tried: no faster beyond the noise of
 * this machine, and 1 MiB cost the server 10 MB more.
 */
const SEND_BYTES = 64 * 1024;

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
 * whole), gathered into one buffer of SEND_BYTES used again for each piece handed on.
 */
function* decodedPieces(file: SpillFile): Generator<Buffer> {
  const out = Buffer.allocUnsafe(SEND_BYTES);
  let filled = 0;
  let carry = '';
  for (const piece of cleanPieces(file)) {
    const text = carry + piece;
    const whole = text.length - (text.length % 4);
    carry = text.slice(whole);
    if (whole === 0) continue;
    if (filled + (whole / 4) * 3 > out.length) {
      yield out.subarray(0, filled);
      filled = 0;
    }
    filled += out.write(text.slice(0, whole), filled, 'base64');
  }
  if (carry) {
    if (filled + 3 > out.length) {
      yield out.subarray(0, filled);
      filled = 0;
    }
    filled += out.write(carry, filled, 'base64');
  }
  if (filled > 0) yield out.subarray(0, filled);
}

const OUTSIDE_ALPHABET = /[^A-Za-z0-9+/=]/;
const NOT_PADDING = /[^=]/;

/**
 * Whether a spilled content is valid base64 as upload's decode says of a string (standard alphabet, at most two
 * `=` at its end, not one character too many), read a piece at a time: undefined when it is not, else its size.
 */
function checkBase64(file: SpillFile): number | undefined {
  let length = 0;
  let padding = 0;
  for (const piece of cleanPieces(file)) {
    // Searches for what may not be there (several times faster than matching the whole piece with an anchored
    // pattern): anything outside the alphabet, then anything but `=` after the first `=`.
    if (OUTSIDE_ALPHABET.test(piece)) return undefined;
    const firstPad = padding > 0 ? 0 : piece.indexOf('=');
    if (firstPad !== -1) {
      if (NOT_PADDING.test(firstPad === 0 ? piece : piece.slice(firstPad))) return undefined;
      padding += piece.length - firstPad;
    }
    length += piece.length;
  }
  if (padding > 2 || length % 4 === 1) return undefined;
  // What Buffer.from gives: three bytes per group of four, then one for two characters left, two for three.
  const body = length - padding;
  return Math.floor(body / 4) * 3 + [0, 0, 1, 2][body % 4]!;
}

/**
 * An upload's content that the transport spilled to disk, as the bytes to write: the UTF-8 text itself, or its
 * base64 decoded a piece at a time as it is sent. Undefined when base64 content is not valid base64.
 */
export function spilledContentBytes(file: SpillFile, encoding: 'utf8' | 'base64'): StreamedBytes | undefined {
  if (encoding === 'utf8') return { size: file.size, chunks: () => file.chunks(SEND_BYTES, true) };
  const size = checkBase64(file);
  if (size === undefined) return undefined;
  return { size, chunks: () => decodedPieces(file) };
}
