import { randomBytes } from 'node:crypto';
import { EncodedBytes } from './encoded-bytes.js';

/** Characters written at once: a longer string goes out in slices (small enough for V8's young generation). */
const SLICE_CHARS = 64 * 1024;
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
function* sliced(text: string): Generator<string> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + SLICE_CHARS);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    yield at === 0 && end === text.length ? text : text.slice(at, end);
    at = end;
  }
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
 * `message` as one line of JSON, the same text JSON.stringify would give, in pieces made as they are asked for,
 * without ever holding the whole line: a large string is given from the value itself, in slices, and an
 * EncodedBytes (a download's content) from its bytes, encoded a slice at a time, with the rest of the message
 * around them. A single JSON.stringify would copy them into the line, and the stream would copy the line again into
 * bytes. Whoever writes the pieces waits for the stream to drain before asking for the next: pieces written to a
 * stream that is behind are queued in memory, which for a download would be the whole line again.
 */
export function* jsonLinePieces(message: unknown): Generator<string> {
  const large: Large[] = [];
  const json = JSON.stringify(marked(message, large));
  if (!large.length && json.length < SLICE_CHARS) {
    // A small message and its newline in one piece: each write to a pipe is a system call and a wake-up of the client.
    yield `${json}\n`;
    return;
  }
  let at = 0;
  for (const m of large.length ? json.matchAll(MARK_PATTERN) : []) {
    yield* sliced(json.slice(at, m.index));
    const value = large[Number(m[1])]!;
    yield '"';
    if (value instanceof EncodedBytes) {
      yield* value.jsonSlices();
    } else if (PLAIN.test(value)) {
      yield* sliced(value);
    } else {
      // Escaped a slice at a time: JSON.stringify of each slice, without its quotes.
      for (const slice of sliced(value)) yield JSON.stringify(slice).slice(1, -1);
    }
    yield '"';
    at = m.index + m[0].length;
  }
  yield* sliced(json.slice(at));
  yield '\n';
}

/**
 * Writes every piece of `message` (jsonLinePieces) at once, whatever `write` returns. Returns what the last write
 * returned (false: the stream asks to wait for 'drain'). For a writer that need not wait (tests, memory).
 */
export function writeJsonLine(message: unknown, write: (chunk: string) => boolean): boolean {
  let flushed = true;
  for (const piece of jsonLinePieces(message)) if (!write(piece)) flushed = false;
  return flushed;
}
