import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { claimStdoutForTransport } from '../terminal.js';
import { writeJsonLine } from './json-line-writer.js';
import { extractRequestId } from './message-limits.js';

/** JSON-RPC 2.0 error codes for what cannot become a request. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/** What parseLine returns for an empty line. */
const BLANK = Symbol('blank line');

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
 * - chunks of a long line are kept in a list and joined once, not copied again on every chunk, and let go of as
 *   soon as the line is text; the text as soon as it is parsed;
 * - a long message is written in slices, its large strings straight from their values (json-line-writer.ts): no
 *   copy of a download's content inside the line, nor of the whole line as bytes.
 */
export class StdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  /** While skipping an oversize line: its first and last bytes (to find its ID) and its length. */
  private skipping?: { head: Buffer; tail: Buffer; bytes: number };
  private started = false;

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

  send(message: JSONRPCMessage): Promise<void> {
    const flushed = writeJsonLine(message, (chunk) => this.stdout.write(chunk));
    return new Promise((resolve) => {
      if (flushed) resolve();
      else this.stdout.once('drain', resolve);
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
    this.onclose?.();
  }

  /** Adds part of the current line, switching to skipping once the line is over the limit. */
  private take(part: Buffer): void {
    if (this.skipping) {
      this.skipping.bytes += part.length;
      this.skipping.tail = Buffer.concat([this.skipping.tail, part]).subarray(-256);
      return;
    }
    this.chunks.push(part);
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.options.maxMessageBytes) {
      const line = Buffer.concat(this.chunks);
      this.skipping = { head: line.subarray(0, 256), tail: line.subarray(-256), bytes: line.length };
      this.chunks = [];
      this.pendingBytes = 0;
    }
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
    let raw: unknown;
    try {
      raw = this.parseLine();
    } catch (err) {
      this.onerror?.(err as Error);
      void this.replyError(undefined, PARSE_ERROR, 'Parse error: the message is not valid JSON.');
      return;
    }
    if (raw === BLANK) return;
    const parsed = JSONRPCMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.onerror?.(new Error(`invalid JSON-RPC message: ${parsed.error.message.slice(0, 200)}`));
      const id = (raw as { id?: unknown })?.id;
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
    this.chunks = [];
    this.pendingBytes = 0;
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
