import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { claimStdoutForTransport } from '../terminal.js';
import { jsonLinePieces } from './json-line-writer.js';
import { extractRequestId } from './message-limits.js';
import { releaseSpills } from './spilled-strings.js';
import { SpillingJsonScanner } from './spilling-json-scanner.js';

/** JSON-RPC 2.0 error codes for what cannot become a request. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/** What parseLine returns for an empty line. */
const BLANK = Symbol('blank line');

/**
 * A line longer than this is read by a SpillingJsonScanner: its long strings go to disk as they arrive. Low, so that
 * few of a long line's chunks are ever held at once (held chunks outlive V8's young generation, and what is older is
 * freed only by a full collection).
 */
const SCAN_FROM_BYTES = 256 * 1024;
/** Bytes of a line's start and end kept to find its ID when it is skipped. */
const EDGE_BYTES = 256;

type RequestId = string | number;

/** The last EDGE_BYTES of `tail` followed by `part`, copied (so that no chunk of the line is kept for them). */
const lastBytes = (tail: Buffer, part: Buffer): Buffer =>
  Buffer.from(
    part.length >= EDGE_BYTES ? part.subarray(-EDGE_BYTES) : Buffer.concat([tail, part]).subarray(-EDGE_BYTES),
  );

export interface StdioTransportOptions {
  /** Longest message (one line) accepted, in bytes; a longer one is answered with an error and skipped. */
  maxMessageBytes: number;
  /** The input or output stream failed: the session cannot go on (the caller logs it and exits non-zero). */
  onFatal: (error: Error) => void;
}

/**
 * Newline-delimited JSON-RPC over stdin/stdout, as the SDK's StdioServerTransport
 * (@modelcontextprotocol/sdk src/server/stdio.ts, src/shared/stdio.ts) but with three differences:
 * - the line limit comes from our own limits (an upload at SANDBOX_MAX_UPLOAD_SIZE is legal), not a fixed 10 MiB;
 * - a line over the limit is skipped and answered with a JSON-RPC error (under the request's ID where it can be
 *   read), and the session goes on, where the SDK clears its buffer and closes the transport;
 * - chunks of a line are kept in a list and joined once, not copied again on every chunk; once a line passes 1 MiB,
 *   a scanner takes its bytes instead (spilling-json-scanner.ts): each long string in it (an upload's content) goes
 *   to a spill file as it arrives and a marker takes its place, and only the rest of the line is parsed. The tool
 *   registry takes the spilled strings (spilled-arguments.ts); what it did not take is closed once the request is
 *   answered;
 * - a long message is written in slices, its large strings straight from their values (json-line-writer.ts): no
 *   copy of a download's content inside the line, nor of the whole line as bytes.
 */
export class StdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  /** Reading a line past SCAN_FROM_BYTES: its scanner, and the line's first and last bytes (for its ID). */
  private scanning?: { scanner: SpillingJsonScanner; head: Buffer; tail: Buffer; failed?: Error };
  /** While skipping an oversize line: its first and last bytes (to find its ID) and its length. */
  private skipping?: { head: Buffer; tail: Buffer; bytes: number };
  /** Spilled strings of requests not answered yet, by request ID: closed when the answer is sent. */
  private readonly spillsOf = new Map<RequestId, string[]>();
  private started = false;
  /** The message being written, if any: the next waits for it. */
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: StdioTransportOptions,
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
  ) {}

  private readonly onData = (chunk: Buffer) => {
    let rest = chunk;
    while (rest.length > 0) {
      const newline = rest.indexOf(0x0a);
      const part = newline === -1 ? rest : rest.subarray(0, newline);
      this.take(part);
      if (newline === -1) break;
      this.endLine();
      rest = rest.subarray(newline + 1);
    }
  };

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error);
    this.options.onFatal(error);
  };

  async start(): Promise<void> {
    if (this.started) throw new Error('StdioServerTransport already started');
    this.started = true;
    if (this.stdout === process.stdout) claimStdoutForTransport();
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStreamError);
    this.stdout.on('error', this.onStreamError);
  }

  /**
   * Writes the message's line a piece at a time, waiting for stdout to drain whenever it is behind: the pieces of a
   * download's answer are made only as the client reads them, instead of all queued in the stream (the whole answer
   * again, in memory). Messages go out whole and in the order they were sent: one waits for the one before it.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const answered = 'id' in message && !('method' in message) ? message.id : undefined;
    if (answered !== undefined) {
      const markers = this.spillsOf.get(answered);
      this.spillsOf.delete(answered);
      if (markers) releaseSpills(markers);
    }
    const sent = this.sending.then(() => this.write(message));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  private async write(message: JSONRPCMessage): Promise<void> {
    let started = false;
    try {
      for (const piece of jsonLinePieces(message)) {
        started = true;
        if (!this.stdout.write(piece)) await this.drained();
      }
    } catch (err) {
      // A piece could not be made (a download's spill file failed) after others were written: the line is cut,
      // and whatever followed it would be read as part of it. Nothing more can be said on this stream.
      if (started) this.options.onFatal(err as Error);
      throw err;
    }
  }

  /** Resolves when stdout has drained, or can take nothing more (closed, failed: onFatal has been told). */
  private drained(): Promise<void> {
    if (this.stdout.destroyed || this.stdout.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stdout.off('drain', done);
        this.stdout.off('close', done);
        this.stdout.off('error', done);
        resolve();
      };
      this.stdout.on('drain', done);
      this.stdout.on('close', done);
      this.stdout.on('error', done);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    this.stdout.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.pendingBytes = 0;
    this.skipping = undefined;
    this.scanning?.scanner.abort();
    this.scanning = undefined;
    for (const markers of this.spillsOf.values()) releaseSpills(markers);
    this.spillsOf.clear();
    this.onclose?.();
  }

  /** Adds part of the current line: kept, or scanned once the line is long, or skipped once it is over the limit. */
  private take(part: Buffer): void {
    if (this.skipping) {
      this.skipping.bytes += part.length;
      this.skipping.tail = lastBytes(this.skipping.tail, part);
      return;
    }
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.options.maxMessageBytes) return this.startSkipping(part);
    if (this.scanning) return this.scan(part);
    this.chunks.push(part);
    if (this.pendingBytes > SCAN_FROM_BYTES) {
      const held = this.chunks;
      this.chunks = [];
      const head = Buffer.concat(held.slice(0, 1 + Math.ceil(EDGE_BYTES / Math.max(1, held[0]!.length)))).subarray(
        0,
        EDGE_BYTES,
      );
      this.scanning = { scanner: new SpillingJsonScanner(), head: Buffer.from(head), tail: Buffer.alloc(0) };
      for (const chunk of held) this.scan(chunk);
    }
  }

  private scan(part: Buffer): void {
    const scanning = this.scanning!;
    scanning.tail = lastBytes(scanning.tail, part);
    if (scanning.failed) return;
    try {
      scanning.scanner.push(part);
    } catch (err) {
      // Not JSON: answered as such at the line's end; what was spilled goes now.
      scanning.failed = err as Error;
      scanning.scanner.abort();
    }
  }

  private startSkipping(part: Buffer): void {
    const line = this.scanning
      ? { head: this.scanning.head, tail: lastBytes(this.scanning.tail, part) }
      : (() => {
          const whole = Buffer.concat([...this.chunks, part]);
          return { head: whole.subarray(0, EDGE_BYTES), tail: whole.subarray(-EDGE_BYTES) };
        })();
    this.scanning?.scanner.abort();
    this.scanning = undefined;
    this.skipping = { head: Buffer.from(line.head), tail: Buffer.from(line.tail), bytes: this.pendingBytes };
    this.chunks = [];
    this.pendingBytes = 0;
  }

  private endLine(): void {
    if (this.skipping) {
      const { head, tail, bytes } = this.skipping;
      this.skipping = undefined;
      const id = extractRequestId(head.toString('utf8'), tail.toString('utf8'));
      this.onerror?.(
        new Error(`skipped a message of ${bytes} bytes, over the limit of ${this.options.maxMessageBytes}`),
      );
      void this.replyError(
        id,
        INVALID_REQUEST,
        `Message too large: ${bytes} bytes, over this server's limit of ${this.options.maxMessageBytes} bytes (set from SANDBOX_MAX_UPLOAD_SIZE). Send less at once, e.g. a file in parts.`,
      );
      return;
    }
    const markers = this.scanning?.scanner.markers ?? [];
    let raw: unknown;
    try {
      raw = this.parseLine();
    } catch (err) {
      releaseSpills(markers);
      this.onerror?.(err as Error);
      void this.replyError(undefined, PARSE_ERROR, 'Parse error: the message is not valid JSON.');
      return;
    }
    if (raw === BLANK) return;
    const parsed = JSONRPCMessageSchema.safeParse(raw);
    const id = (raw as { id?: unknown })?.id;
    if (markers.length) {
      // Kept until the request is answered (send); a message that is no request has nobody to take them.
      if (parsed.success && 'method' in parsed.data && (typeof id === 'string' || typeof id === 'number'))
        this.spillsOf.set(id, [...(this.spillsOf.get(id) ?? []), ...markers]);
      else releaseSpills(markers);
    }
    if (!parsed.success) {
      this.onerror?.(new Error(`invalid JSON-RPC message: ${parsed.error.message.slice(0, 200)}`));
      void this.replyError(
        typeof id === 'string' || typeof id === 'number' ? id : undefined,
        INVALID_REQUEST,
        'Invalid Request: not a JSON-RPC 2.0 message.',
      );
      return;
    }
    this.onmessage?.(parsed.data);
  }

  /**
   * The current line, parsed (BLANK for an empty one). Its chunks, their joined bytes and its text are all let go of
   * here, before the message is handled: for an upload they are three more copies of it (~11 MB each at 8 MiB).
   */
  private parseLine(): unknown {
    const chunks = this.chunks;
    const scanning = this.scanning;
    this.chunks = [];
    this.scanning = undefined;
    this.pendingBytes = 0;
    if (scanning) {
      if (scanning.failed) throw scanning.failed;
      const rest = scanning.scanner.finish();
      return JSON.parse(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
    }
    let line = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return BLANK;
    return JSON.parse(line);
  }

  private replyError(id: string | number | undefined, code: number, message: string): Promise<void> {
    return this.send({
      jsonrpc: '2.0',
      ...(id === undefined ? {} : { id }),
      error: { code, message },
    } as JSONRPCMessage);
  }
}
