import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Bytes read back at once: small enough that no piece is a large object for V8 or the C allocator. */
export const SPILL_READ_BYTES = 64 * 1024;

let folder: string | undefined;

/** This process's folder for spilled bytes (mode 0700), made on first use and removed when the process exits. */
function spillFolder(): string {
  if (folder) return folder;
  folder = mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-spill-'));
  const made = folder;
  process.once('exit', () => {
    try {
      rmdirSync(made);
    } catch {
      // not empty or already gone: nothing of ours is left in it by name (files are unlinked at once)
    }
  });
  return folder;
}

/**
 * Bytes kept on disk instead of in memory while a transfer needs them: an upload's content as it streams in, a
 * download's file on its way out. The file (mode 0600, in a 0700 folder of this process) is unlinked as soon as it is
 * opened: only this descriptor reaches it, nobody can open it by name, and nothing is left on disk whatever ends the
 * process. `close` (idempotent) gives the space back.
 */
export class SpillFile {
  private fd: number | undefined;
  private written = 0;

  constructor() {
    const file = path.join(spillFolder(), randomBytes(12).toString('hex'));
    this.fd = openSync(file, 'wx+', 0o600);
    unlinkSync(file);
    SpillFile.open += 1;
  }

  /** Spill files not closed yet, in this process (tests check that every path closes its own). */
  static open = 0;

  get size(): number {
    return this.written;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  write(bytes: Buffer): void {
    const fd = this.descriptor();
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at, this.written + at);
    this.written += bytes.length;
  }

  /** Appends text as UTF-8, converted by the write itself (no Buffer made for it). */
  writeText(text: string): void {
    const fd = this.descriptor();
    const bytes = Buffer.byteLength(text, 'utf8');
    const wrote = writeSync(fd, text, this.written, 'utf8');
    if (wrote !== bytes) {
      // A short write (not seen on regular files): the rest again, from its bytes.
      const rest = Buffer.from(text, 'utf8').subarray(wrote);
      for (let at = 0; at < rest.length;) at += writeSync(fd, rest, at, rest.length - at, this.written + wrote + at);
    }
    this.written += bytes;
  }

  /**
   * The bytes in order, in pieces of at most `pieceBytes`: fresh ones each may keep, or, with `reuse`, one buffer
   * read into again for each piece (the caller is done with a piece when it asks for the next): no allocation per
   * piece, for a caller that only encodes or sends them.
   */
  *chunks(pieceBytes = SPILL_READ_BYTES, reuse = false): Generator<Buffer> {
    const shared = reuse ? Buffer.allocUnsafe(Math.min(pieceBytes, this.written)) : undefined;
    for (let at = 0; at < this.written;) {
      const length = Math.min(pieceBytes, this.written - at);
      const piece = shared ? shared.subarray(0, length) : Buffer.allocUnsafe(length);
      // The descriptor is asked for at each piece: a reader still going after close() fails instead of reading
      // whatever file has been given the same number since.
      const got = readSync(this.descriptor(), piece, 0, piece.length, at);
      if (got === 0) throw new Error('spill file ended early');
      yield got === piece.length ? piece : piece.subarray(0, got);
      at += got;
    }
  }

  /** The whole content as UTF-8 text (a spilled string read back where a tool needs it as a string). */
  text(): string {
    const decoder = new TextDecoder('utf-8');
    const parts: string[] = [];
    for (const piece of this.chunks()) parts.push(decoder.decode(piece, { stream: true }));
    parts.push(decoder.decode());
    return parts.join('');
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    SpillFile.open -= 1;
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error('spill file already closed');
    return this.fd;
  }
}
