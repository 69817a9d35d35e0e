import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from './config.js';

const NEWLINE = 0x0a;

/**
 * The largest JSON-RPC message read from stdin: an upload of SANDBOX_MAX_UPLOAD_SIZE as base64 (4/3 larger) or as
 * JSON-escaped text (about 2x), with room for the rest of the call. The SDK's own cap (10 MiB) is below that.
 */
export const stdioMessageLimit = (config: Pick<Config, 'limits'>): number => Math.max(10 * 1024 * 1024, 2 * config.limits.uploadBytes + 1024 * 1024);

/**
 * MCP over stdio: one JSON-RPC message per line. Unlike the SDK's StdioServerTransport, which copies its whole
 * buffer on every 64 KB chunk (quadratic: ~1 GB copied for an 8 MiB upload) and closes itself on a message over
 * its cap (the client then waits forever), this keeps the chunks of a line and joins them once, and a line over the
 * cap is skipped and reported, leaving the session open.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('error', this.onInputError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const line = `${JSON.stringify(message)}\n`;
    await new Promise<void>((resolve) => (this.output.write(line) ? resolve() : this.output.once('drain', resolve)));
  }

  async close(): Promise<void> {
    this.input.off('data', this.onData);
    this.input.off('error', this.onInputError);
    this.chunks = [];
    this.onclose?.();
  }

  private readonly onInputError = (error: Error) => this.onerror?.(error);

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.take(chunk.subarray(start, end));
      const line = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
      const skipped = this.skipping;
      this.chunks = [];
      this.size = 0;
      this.skipping = false;
      start = end + 1;
      if (!skipped) this.deliver(line);
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  };

  /** Keeps part of the current line, unless the line is over the cap. */
  private take(part: Buffer): void {
    if (this.skipping) return;
    this.size += part.length;
    if (this.size > this.maxMessageBytes) {
      this.skipping = true;
      this.chunks = [];
      this.onerror?.(new Error(`A message over ${this.maxMessageBytes} bytes was skipped (SANDBOX_MAX_UPLOAD_SIZE sets the limit).`));
      return;
    }
    this.chunks.push(part);
  }

  private deliver(line: Buffer): void {
    const text = line.toString('utf8').replace(/\r$/, '');
    if (!text.trim()) return;
    try {
      this.onmessage?.(JSONRPCMessageSchema.parse(JSON.parse(text)));
    } catch (error) {
      this.onerror?.(error as Error);
    }
  }
}
