import type { OutputStream } from '../provider.js';

/**
 * Splits the Engine's multiplexed exec stream (8-byte header: stream type, 3 zero bytes, big-endian length)
 * into stdout and stderr chunks, across arbitrary socket chunk boundaries.
 */
export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly emit: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const type = buf[0];
      const payload = buf.subarray(8, 8 + size);
      // 1 = stdout, 2 = stderr; 0 (stdin echo) does not occur without a TTY.
      if (size > 0) this.emit(type === 2 ? 'stderr' : 'stdout', payload);
      buf = buf.subarray(8 + size);
    }
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
