import { StringDecoder } from 'node:string_decoder';

/** Bytes encoded at once: a multiple of 3 (no padding inside the base64), whose base64 is 1 Mi characters. */
const SLICE_BYTES = 768 * 1024;

/**
 * A string value of a result that is the base64 (or the UTF-8 text) of some bytes, without that string ever being
 * built: the stdio transport's writer (json-line-writer.ts) writes it into the line slice by slice, straight from
 * the bytes. A download's content is one: at 8 MiB its base64 would be an 11 MB string, and the line around it
 * another copy. `toJSON` builds the whole string, so that any other serializer still gets the right value.
 */
export class EncodedBytes {
  readonly chunks: readonly Buffer[];

  constructor(
    bytes: Buffer | readonly Buffer[],
    readonly encoding: 'base64' | 'utf8',
  ) {
    this.chunks = Buffer.isBuffer(bytes) ? [bytes] : bytes;
  }

  /** The string's content as it goes inside a JSON string (escaped where needed, no quotes), in slices. */
  *jsonSlices(): Generator<string> {
    if (this.encoding === 'base64') yield* this.base64Slices();
    else yield* this.textSlices();
  }

  toJSON(): string {
    return Buffer.concat(this.chunks).toString(this.encoding);
  }

  /** base64 never needs escaping; the bytes left over at a chunk's end (a triple cut in two) go with the next. */
  private *base64Slices(): Generator<string> {
    let carry = Buffer.alloc(0);
    for (const chunk of this.chunks) {
      let rest = chunk;
      if (carry.length > 0) {
        const need = 3 - carry.length;
        carry = Buffer.concat([carry, rest.subarray(0, need)]);
        rest = rest.subarray(need);
        if (carry.length < 3) continue;
        yield carry.toString('base64');
        carry = Buffer.alloc(0);
      }
      const whole = rest.length - (rest.length % 3);
      for (let at = 0; at < whole; at += SLICE_BYTES) yield rest.toString('base64', at, Math.min(whole, at + SLICE_BYTES));
      if (whole < rest.length) carry = Buffer.from(rest.subarray(whole));
    }
    if (carry.length > 0) yield carry.toString('base64');
  }

  /** UTF-8 decoded across chunk boundaries (a character cut in two waits for its rest), escaped as JSON does. */
  private *textSlices(): Generator<string> {
    const decoder = new StringDecoder('utf8');
    for (const chunk of this.chunks) {
      for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
        const text = decoder.write(chunk.subarray(at, Math.min(chunk.length, at + SLICE_BYTES)));
        if (text) yield JSON.stringify(text).slice(1, -1);
      }
    }
    const last = decoder.end();
    if (last) yield JSON.stringify(last).slice(1, -1);
  }
}
