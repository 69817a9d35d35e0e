import type { OutputStream } from '../provider.js';

/**
 * Splits the Engine's multiplexed exec stream (8-byte header: stream type, 3 zero bytes, big-endian length)
 * into stdout and stderr chunks, across arbitrary socket chunk boundaries. A frame's payload is handed on as the
 * views of the socket's chunks it arrived in (a payload cut by a chunk's end comes in two pieces), never copied:
 * a download's megabytes pass through here.
 */
export class StreamDemuxer {
  /** The header being read (a header cut by a chunk's end). */
  private header = Buffer.alloc(8);
  private headerBytes = 0;
  /** The current frame's stream and how many of its payload's bytes are still to come. */
  private stream: OutputStream = 'stdout';
  private remaining = 0;

  constructor(private readonly emit: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        this.emit(this.stream, chunk.subarray(at, at + take));
        at += take;
        continue;
      }
      const take = Math.min(8 - this.headerBytes, chunk.length - at);
      chunk.copy(this.header, this.headerBytes, at, at + take);
      this.headerBytes += take;
      at += take;
      if (this.headerBytes < 8) break;
      this.headerBytes = 0;
      // 1 = stdout, 2 = stderr; 0 (stdin echo) does not occur without a TTY.
      this.stream = this.header[0] === 2 ? 'stderr' : 'stdout';
      this.remaining = this.header.readUInt32BE(4);
    }
  }
}
