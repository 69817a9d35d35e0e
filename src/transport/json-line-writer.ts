import { randomBytes } from 'node:crypto';
import { EncodedBytes } from './encoded-bytes.js';

/** Characters written at once: a longer string goes out in slices. */
const SLICE_CHARS = 1024 * 1024;
/** Strings at least this long are written from the value itself, not from a copy inside the message's JSON. */
const LARGE_STRING_CHARS = 256 * 1024;
/** Marks where a large string goes; the NULs come out escaped, and the nonce makes it unforgeable by content. */
const MARK = `\u0000large-${randomBytes(8).toString('hex')}:`;
const MARK_IN_JSON = JSON.stringify(MARK).slice(1, -1);
const MARK_PATTERN = new RegExp(`"${MARK_IN_JSON.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)\\\\u0000"`, 'g');
/** Characters that never need escaping in a JSON string: base64 content (uploads' and downloads' bytes). */
const PLAIN = /^[A-Za-z0-9+/=]*$/;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** `text` in slices of at most SLICE_CHARS, never between the two halves of a surrogate pair. */
function writeSliced(text: string, write: (chunk: string) => boolean): boolean {
  let flushed = true;
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + SLICE_CHARS);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    flushed = write(at === 0 && end === text.length ? text : text.slice(at, end));
    at = end;
  }
  return flushed;
}

type Large = string | EncodedBytes;

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * A copy of `value` (its arrays and plain objects only) where each large string and each EncodedBytes is a mark
 * naming its place in `large`. A walk of our own, not JSON.stringify's replacer: JSON.stringify would call an
 * EncodedBytes' toJSON, building the very string it stands for, before any replacer sees it.
 */
function marked(value: unknown, large: Large[]): unknown {
  if (typeof value === 'string') {
    if (value.length < LARGE_STRING_CHARS) return value;
    large.push(value);
    return `${MARK}${large.length - 1}\u0000`;
  }
  if (value instanceof EncodedBytes) {
    large.push(value);
    return `${MARK}${large.length - 1}\u0000`;
  }
  if (Array.isArray(value)) return value.map((v) => marked(v, large));
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = marked(v, large);
    return out;
  }
  return value;
}

/**
 * Writes `message` as one line of JSON, the same bytes JSON.stringify would give, without ever holding the whole
 * line: a large string is written from the value itself, in slices, and an EncodedBytes (a download's content)
 * from its bytes, encoded a slice at a time, with the rest of the message around them. A single JSON.stringify
 * would copy them into the line, and the stream would copy the line again into bytes. Returns what the last write
 * returned (false: wait for 'drain').
 */
export function writeJsonLine(message: unknown, write: (chunk: string) => boolean): boolean {
  const large: Large[] = [];
  const json = JSON.stringify(marked(message, large));
  if (large.length === 0) {
    // Both writes happen whatever the first returned: false only means "wait for 'drain'", never "skip the rest".
    const flushed = writeSliced(json, write);
    return write('\n') && flushed;
  }
  let flushed = true;
  let at = 0;
  for (const m of json.matchAll(MARK_PATTERN)) {
    flushed = writeSliced(json.slice(at, m.index), write);
    const value = large[Number(m[1])]!;
    write('"');
    if (value instanceof EncodedBytes) {
      for (const slice of value.jsonSlices()) write(slice);
    } else if (PLAIN.test(value)) {
      writeSliced(value, write);
    } else {
      // Escaped a slice at a time: JSON.stringify of each slice, without its quotes.
      writeSliced(value, (slice) => write(JSON.stringify(slice).slice(1, -1)));
    }
    flushed = write('"');
    at = m.index + m[0].length;
  }
  flushed = writeSliced(json.slice(at), write) && flushed;
  const ended = write('\n');
  return ended && flushed;
}
