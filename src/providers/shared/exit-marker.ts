/**
 * The run wrapper prints `\n<run id>:<exit code>\n` on stdout and on stderr once the program exits. Seeing it on
 * both streams means all of the program's output has arrived, even while daemons it started keep the pipes open,
 * and it carries the exit code without another round trip to the engine. The program can read its run id, so it
 * can imitate the marker: that only ends its own run early, as daemonising itself would (the agent path does not
 * use markers).
 *
 * The scanner holds back a stream's last bytes only while they could be the start of a marker split across chunks,
 * so ordinary output streams on without delay.
 */
export class ExitMarkerScanner {
  private held: Buffer = Buffer.alloc(0);
  private readonly needle: Buffer;
  private readonly holdBytes: number;
  exitCode: number | null = null;

  constructor(
    nonce: string,
    private readonly deliver: (chunk: Buffer) => void,
  ) {
    this.needle = Buffer.from(`\n${nonce}:`);
    this.holdBytes = this.needle.length + 4; // exit codes are at most 3 digits, plus the final newline
  }

  get done(): boolean {
    return this.exitCode !== null;
  }

  push(chunk: Buffer): void {
    if (this.done) return; // output after the marker comes from leftover background processes
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.needle);
    if (at >= 0) {
      const end = buf.indexOf(0x0a, at + this.needle.length);
      const digits = end >= 0 ? buf.subarray(at + this.needle.length, end).toString('latin1') : null;
      if (digits !== null && /^\d{1,3}$/.test(digits)) {
        if (at > 0) this.deliver(buf.subarray(0, at));
        this.held = Buffer.alloc(0);
        this.exitCode = Number.parseInt(digits, 10);
        return;
      }
    }
    const hold = this.possibleMarkerStart(buf);
    if (hold > 0) this.deliver(buf.subarray(0, hold));
    this.held = hold < buf.length ? Buffer.from(buf.subarray(hold)) : Buffer.alloc(0);
  }

  /** Where an unfinished marker may begin at the end of `buf` (buf.length when nowhere), so nothing else waits. */
  private possibleMarkerStart(buf: Buffer): number {
    for (
      let pos = buf.indexOf(0x0a, Math.max(0, buf.length - this.holdBytes));
      pos >= 0;
      pos = buf.indexOf(0x0a, pos + 1)
    ) {
      const rest = buf.subarray(pos);
      const n = Math.min(rest.length, this.needle.length);
      if (rest.subarray(0, n).equals(this.needle.subarray(0, n))) return pos;
    }
    return buf.length;
  }

  /** Delivers whatever was held back; used when the stream ends without a marker. */
  flush(): void {
    if (!this.done && this.held.length) this.deliver(this.held);
    this.held = Buffer.alloc(0);
  }
}
