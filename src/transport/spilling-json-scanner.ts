import { StringDecoder } from 'node:string_decoder';
import { SpillFile } from '../util/spill-file.js';
import { TransferPacer } from '../util/young-gc.js';
import { releaseSpills, spillMarkerJson } from './spilled-strings.js';

/** A string of the message longer than this (its raw bytes in the line) goes to disk. */
export const SPILL_STRING_BYTES = 64 * 1024;
/** Decoded text written to the spill file at once. */
const FLUSH_CHARS = 32 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const SIMPLE_ESCAPES: Record<number, string> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const CONTROL = /[\u0000-\u001f]/;

/**
 * Decodes one JSON string's content (after its opening quote) into a spill file, as UTF-8: the bytes
 * `Buffer.from(JSON.parse(line)[...], 'utf8')` would give, with the line decoded as the transport decodes it (raw
 * UTF-8 as Buffer#toString reads it, escapes \uXXXX included, a surrogate pair split over two escapes joined, a lone
 * surrogate as U+FFFD). What JSON.parse refuses (a raw control character, an unknown escape) throws a SyntaxError.
 */
class StringSpill {
  readonly file = new SpillFile();
  done = false;
  private readonly decoder = new StringDecoder('utf8');
  private text = '';
  /** 0: content; 1: after a backslash; 2 to 5: reading the hex digits of \u. */
  private escape = 0;
  private code = 0;

  /** Takes bytes from `at`; returns where it stopped: after the closing quote, or the chunk's end. */
  feed(chunk: Buffer, at: number): number {
    // Where the next quote and backslash are, searched natively and only again once passed: a run of content
    // between them is decoded in one call.
    let quote = -2;
    let backslash = -2;
    let i = at;
    while (i < chunk.length) {
      if (this.escape === 0) {
        if (quote !== -1 && quote < i) quote = chunk.indexOf(QUOTE, i);
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i);
        const next = quote === -1 ? backslash : backslash === -1 ? quote : Math.min(quote, backslash);
        this.raw(chunk, i, next === -1 ? chunk.length : next);
        if (next === -1) return chunk.length;
        if (next === quote) {
          this.end();
          return next + 1;
        }
        this.escape = 1;
        i = next + 1;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.escape === 1) {
        if (byte === 0x75) {
          this.escape = 2;
          this.code = 0;
          continue;
        }
        const simple = SIMPLE_ESCAPES[byte];
        if (simple === undefined) throw new SyntaxError('Bad escaped character in string literal');
        this.add(simple);
      } else {
        const digit = hexValue(byte);
        if (digit < 0) throw new SyntaxError('Bad Unicode escape in string literal');
        this.code = this.code * 16 + digit;
        if (++this.escape < 6) continue;
        this.add(String.fromCharCode(this.code));
      }
      this.escape = 0;
    }
    return chunk.length;
  }

  /**
   * Raw bytes of the string: decoded across chunks (a character cut in two waits for its rest). A control
   * character can only come from a raw control byte, which JSON.parse refuses.
   */
  private raw(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const text = this.decoder.write(chunk.subarray(from, to));
    if (CONTROL.test(text)) throw new SyntaxError('Bad control character in string literal');
    this.append(text);
  }

  /** An escaped character: whatever raw bytes came before it end there (an unfinished one is U+FFFD, as in the line). */
  private add(char: string): void {
    this.append(this.decoder.end() + char);
  }

  private append(text: string): void {
    this.text += text;
    if (this.text.length < FLUSH_CHARS) return;
    // A high surrogate at the end may pair with what comes next: it waits.
    const keep = isHighSurrogate(this.text.charCodeAt(this.text.length - 1)) ? 1 : 0;
    this.file.writeText(this.text.slice(0, this.text.length - keep));
    this.text = this.text.slice(this.text.length - keep);
  }

  private end(): void {
    this.text += this.decoder.end();
    if (this.text) this.file.writeText(this.text);
    this.text = '';
    this.done = true;
  }
}

/**
 * Reads one long line of JSON as its bytes arrive and keeps only what is small: every string longer than
 * SPILL_STRING_BYTES goes to a spill file (spill-file.ts) as it streams in, and a marker string (spilled-strings.ts)
 * takes its place in the rest of the line, which is then parsed as usual. An 8 MiB upload (an ~11 MB line) thus
 * never exists in memory whole, neither as bytes nor as a string. A line that is not JSON fails as JSON.parse would
 * (a SyntaxError, here or when the rest is parsed).
 */
export class SpillingJsonScanner {
  /** The line without its spilled strings, in pieces. */
  private rest: Buffer[] = [];
  private inString = false;
  /** The current string's raw bytes, while it is short enough to stay in the line. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The previous byte of the current (short) string was a backslash. */
  private escaped = false;
  private spill?: StringSpill;
  /** Markers of the strings spilled so far. */
  readonly markers: string[] = [];
  /** stdin's chunks are freed as the line passes (young-gc.ts). */
  private readonly pacer = new TransferPacer();

  push(chunk: Buffer): void {
    this.pacer.passed(chunk.length);
    let at = 0;
    while (at < chunk.length) {
      if (!this.inString) {
        const quote = chunk.indexOf(QUOTE, at);
        const end = quote === -1 ? chunk.length : quote;
        if (end > at) this.rest.push(chunk.subarray(at, end));
        if (quote === -1) return;
        this.inString = true;
        this.escaped = false;
        at = quote + 1;
      } else if (this.spill) {
        at = this.spill.feed(chunk, at);
        if (this.spill.done) this.endSpill();
      } else {
        at = this.takeShort(chunk, at);
      }
    }
  }

  /** The line with markers in place of the spilled strings. */
  finish(): string {
    if (this.inString) {
      this.spill?.file.close(); // the string being spilled ends with the line: nobody else will close its file
      throw new SyntaxError('Unterminated string in JSON');
    }
    const json = Buffer.concat(this.rest).toString('utf8');
    this.rest = [];
    return json;
  }

  /** Closes every spill file of the line (it failed, or was too large). */
  abort(): void {
    this.spill?.file.close();
    this.spill = undefined;
    releaseSpills(this.markers);
    this.rest = [];
    this.pending = [];
  }

  /** Bytes of a string not (yet) spilled, up to its closing quote; spilled once it grows past the threshold. */
  private takeShort(chunk: Buffer, at: number): number {
    let end = -1;
    for (let i = at; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.escaped) this.escaped = false;
      else if (byte === BACKSLASH) this.escaped = true;
      else if (byte === QUOTE) {
        end = i;
        break;
      }
    }
    const part = chunk.subarray(at, end === -1 ? chunk.length : end);
    this.pending.push(part);
    this.pendingBytes += part.length;
    if (this.pendingBytes > SPILL_STRING_BYTES) {
      // Long enough: what was held is decoded into a spill file, and the rest of the string (from its closing
      // quote, when that is in this chunk) follows it there.
      const held = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      this.spill = new StringSpill();
      for (const piece of held) this.spill.feed(piece, 0);
      return end === -1 ? chunk.length : end;
    }
    if (end === -1) return chunk.length;
    // Short: it stays in the line as it came, quotes and escapes included.
    this.rest.push(Buffer.from('"'), ...this.pending, Buffer.from('"'));
    this.pending = [];
    this.pendingBytes = 0;
    this.inString = false;
    return end + 1;
  }

  private endSpill(): void {
    const { json, marker } = spillMarkerJson(this.spill!.file);
    this.markers.push(marker);
    this.rest.push(Buffer.from(json));
    this.spill = undefined;
    this.inString = false;
  }
}
