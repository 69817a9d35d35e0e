import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '../providers/provider.js';

/** Progress messages are capped in total, like the result, so a flood does not flood the client either. */
const STREAM_BUDGET_BYTES = 256 * 1024;
/** Output without a newline waits at most this long before it is sent. */
const FLUSH_DELAY_MS = 50;

/**
 * Turns a run's output chunks into progress messages of whole lines (`stdout: ...`), so that a program writing
 * a line in pieces does not produce a notification per piece. `finish()` sends what is left before the result.
 */
export class OutputProgress {
  private readonly pending: Record<OutputStream, string> = { stdout: '', stderr: '' };
  private readonly decoders: Record<OutputStream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };
  private sent = 0;
  private exhausted = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (message: string) => void) {}

  push = (stream: OutputStream, chunk: Buffer): void => {
    if (this.exhausted) return;
    const room = STREAM_BUDGET_BYTES - this.sent;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.sent += piece.length;
    this.pending[stream] += this.decoders[stream].write(piece);
    if (this.sent >= STREAM_BUDGET_BYTES) {
      this.finish();
      this.send('[output continues; no more is streamed, the result keeps its head and tail]');
      this.exhausted = true;
      return;
    }
    const lastNewline = this.pending[stream].lastIndexOf('\n');
    if (lastNewline >= 0) {
      this.send(`${stream}: ${this.pending[stream].slice(0, lastNewline + 1)}`);
      this.pending[stream] = this.pending[stream].slice(lastNewline + 1);
    }
    if ((this.pending.stdout || this.pending.stderr) && !this.timer) {
      this.timer = setTimeout(() => this.flushPending(), FLUSH_DELAY_MS);
    }
  };

  /** Sends whatever is still buffered; call before returning the result. */
  finish(): void {
    for (const stream of ['stdout', 'stderr'] as const) this.pending[stream] += this.decoders[stream].end();
    this.flushPending();
  }

  private flushPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.exhausted) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream]) this.send(`${stream}: ${this.pending[stream]}`);
      this.pending[stream] = '';
    }
  }
}
