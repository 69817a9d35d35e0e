import { StringDecoder } from 'node:string_decoder';
import { SpillFile } from '../util/spill-file.js';

/**
 * Bytes encoded at once: a multiple of 3 (no padding inside the base64). Their base64 (64 Ki characters) is a
 * small string V8 makes and collects in its young generation; a slice of a megabyte or more would be a large
 * object, which only a full collection frees.
 */
const SLICE_BYTES = 48 * 1024;

/** Closes the spill file of a value that was never written (a result the SDK dropped, a cancelled call). */
const unwritten = new FinalizationRegistry<SpillFile>((file) => file.close());

/**
 * A string value of a result that is the base64 (or the UTF-8 text) of some bytes, without that string ever being
 * built: the stdio transport's writer (json-line-writer.ts) writes it into the line slice by slice, straight from
 * the bytes. A download's content is one: at 8 MiB its base64 would be an 11 MB string, and the line around it
 * another copy. `toJSON` builds the whole string, so that any other serializer still gets the right value.
 */
export class EncodedBytes {
  /**
   * `bytes`: in memory (pieces of one content, in order), or a spill file, read a slice at a time and closed once
   * written: such a value is written once.
   */
  constructor(
    private readonly bytes: Buffer | readonly Buffer[] | SpillFile,
    readonly encoding: 'base64' | 'utf8',
  ) {
    if (bytes instanceof SpillFile) unwritten.register(this, bytes, this);
  }

  /** The string's content as it goes inside a JSON string (escaped where needed, no quotes), in slices. */
  *jsonSlices(): Generator<string> {
    try {
      if (this.encoding === 'base64') yield* this.base64Slices();
      else yield* this.textSlices();
    } finally {
      this.release();
    }
  }

  toJSON(): string {
    try {
      return Buffer.concat([...this.chunks(false)]).toString(this.encoding);
    } finally {
      this.release();
    }
  }

  /** With `reuse`, a spill file's pieces share one buffer: each must be used up before the next is asked for. */
  private *chunks(reuse: boolean): Generator<Buffer> {
    if (Buffer.isBuffer(this.bytes)) yield this.bytes;
    // One buffer read into again: each piece is encoded (the base64 carry copied) before the next is read.
    else if (this.bytes instanceof SpillFile) yield* this.bytes.chunks(SLICE_BYTES, reuse);
    else yield* this.bytes;
  }

  private release(): void {
    if (!(this.bytes instanceof SpillFile)) return;
    unwritten.unregister(this);
    this.bytes.close();
  }

  /** base64 never needs escaping; the bytes left over at a chunk's end (a triple cut in two) go with the next. */
  private *base64Slices(): Generator<string> {
    let carry = Buffer.alloc(0);
    for (const chunk of this.chunks(true)) {
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
      for (let at = 0; at < whole; at += SLICE_BYTES)
        yield rest.toString('base64', at, Math.min(whole, at + SLICE_BYTES));
      if (whole < rest.length) carry = Buffer.from(rest.subarray(whole));
    }
    if (carry.length > 0) yield carry.toString('base64');
  }

  /** UTF-8 decoded across chunk boundaries (a character cut in two waits for its rest), escaped as JSON does. */
  private *textSlices(): Generator<string> {
    const decoder = new StringDecoder('utf8');
    for (const chunk of this.chunks(true)) {
      for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
        const text = decoder.write(chunk.subarray(at, Math.min(chunk.length, at + SLICE_BYTES)));
        if (text) yield JSON.stringify(text).slice(1, -1);
      }
    }
    const last = decoder.end();
    if (last) yield JSON.stringify(last).slice(1, -1);
  }
}
