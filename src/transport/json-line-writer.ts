import { randomBytes } from 'node:crypto';

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

/**
 * Writes `message` as one line of JSON, the same bytes JSON.stringify would give, without ever holding the whole
 * line: a large string (a download's content, ~11 MB at 8 MiB) is written from the value itself, in slices, and
 * the rest of the message around it. A single JSON.stringify would copy it into the line, and the stream would copy
 * the line again into bytes. Returns what the last write returned (false: wait for 'drain').
 */
export function writeJsonLine(message: unknown, write: (chunk: string) => boolean): boolean {
  const large: string[] = [];
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (typeof value !== 'string' || value.length < LARGE_STRING_CHARS) return value;
    large.push(value);
    return `${MARK}${large.length - 1}\u0000`;
  });
  if (large.length === 0) {
    // A small message and its newline in one write: each write to a pipe is a system call and a wake-up of the
    // client. Otherwise both writes happen whatever the first returned: false only means "wait for 'drain'".
    if (json.length < SLICE_CHARS) return write(`${json}\n`);
    const flushed = writeSliced(json, write);
    return write('\n') && flushed;
  }
  let flushed = true;
  let at = 0;
  for (const m of json.matchAll(MARK_PATTERN)) {
    flushed = writeSliced(json.slice(at, m.index), write);
    const value = large[Number(m[1])]!;
    if (PLAIN.test(value)) {
      write('"');
      writeSliced(value, write);
      flushed = write('"');
    } else {
      // Escaped a slice at a time: JSON.stringify of each slice, without its quotes.
      write('"');
      writeSliced(value, (slice) => write(JSON.stringify(slice).slice(1, -1)));
      flushed = write('"');
    }
    at = m.index + m[0].length;
  }
  flushed = writeSliced(json.slice(at), write) && flushed;
  const ended = write('\n');
  return ended && flushed;
}
