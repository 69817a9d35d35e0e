import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { ByteSink } from '../providers/provider.js';
import { TransferPacer } from '../util/young-gc.js';
import { SNIFFED_BYTES } from './mime.js';

/** How many bytes a UTF-8 sequence starting with `lead` has (1 for anything that is not a lead byte of 2 to 4). */
const sequenceLength = (lead: number): number => (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1);

/**
 * What a download needs to know of a file, learnt from its bytes as they stream past on their way to `next` (a spill
 * file), without gathering them: its size, its sha256, its first bytes (for the MIME type) and whether it is text
 * (valid UTF-8 without NUL bytes, as mime.ts's isText says of a whole file).
 */
export class FileDigest implements ByteSink {
  size = 0;
  private readonly hash = createHash('sha256');
  private headBytes = Buffer.alloc(0);
  private utf8 = true;
  private nul = false;
  /** The start of a UTF-8 sequence cut by a chunk's end, checked with the next chunk. */
  private carry = Buffer.alloc(0);
  /** The socket's chunks are freed as the file passes (young-gc.ts). */
  private readonly pacer = new TransferPacer();

  constructor(private readonly next: ByteSink) {}

  /**
   * The first failure of `next` (the spill file: disk full, or closed after the read was given up). It is called
   * from the engine stream's data events, where a throw would take the server down: the bytes are dropped from
   * then on, and the reader reports the failure once the read is over (readSpilled).
   */
  failure?: Error;

  write(chunk: Buffer): void {
    if (this.failure) return;
    try {
      this.next.write(chunk);
    } catch (err) {
      this.failure = err as Error;
      return;
    }
    this.size += chunk.length;
    this.hash.update(chunk);
    if (this.headBytes.length < SNIFFED_BYTES)
      this.headBytes = Buffer.concat([this.headBytes, chunk.subarray(0, SNIFFED_BYTES - this.headBytes.length)]);
    if (!this.nul && chunk.includes(0)) this.nul = true;
    if (this.utf8) this.checkUtf8(chunk);
    this.pacer.passed(chunk.length);
  }

  get checksum(): string {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  get head(): Buffer {
    return this.headBytes;
  }

  get isText(): boolean {
    return !this.nul && this.utf8 && this.carry.length === 0;
  }

  private checkUtf8(chunk: Buffer): void {
    let data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    // A sequence begun in the last three bytes and not finished there waits for the next chunk.
    for (let i = data.length - 1; i >= Math.max(0, data.length - 3); i--) {
      const byte = data[i]!;
      if ((byte & 0xc0) === 0x80) continue;
      if (data.length - i < sequenceLength(byte)) {
        this.carry = Buffer.from(data.subarray(i));
        data = data.subarray(0, i);
      }
      break;
    }
    if (!isUtf8(data)) this.utf8 = false;
  }
}
