import type { OutputStream } from '../providers/provider.js';
import type { HistoryEntry, HistoryStore } from '../store/history-store.js';

/** Longest line kept in the history; longer ones are cut with a marker. */
const MAX_LINE_CHARS = 4096;

/**
 * Writes a running execution's output to the history line by line, as it is printed, in order. After `maxLines`
 * lines, one entry says how much more was printed and the rest is only counted.
 */
export class HistoryLines {
  private readonly partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  private written = 0;
  private dropped = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly history: HistoryStore,
    private readonly sandboxId: string,
    private readonly executionId: string,
    private readonly maxLines: number,
    /** Values of the run's own env_vars, scrubbed from what is stored (the sandbox's are known to the store). */
    private readonly secrets: string[] = [],
  ) {}

  push(stream: OutputStream, chunk: Buffer): void {
    const text = this.partial[stream] + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    if (this.partial[stream].length > MAX_LINE_CHARS) {
      parts.push(this.partial[stream]);
      this.partial[stream] = '';
    }
    this.write(stream, parts);
  }

  /** Writes what is left of unfinished lines, then waits for every write. */
  async flush(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.write(stream, [this.partial[stream]]);
      this.partial[stream] = '';
    }
    if (this.dropped) {
      const message = `[${this.dropped} more lines were printed and not kept]`;
      this.enqueue([
        { ts: new Date().toISOString(), level: 'warn', source: 'execution', message, execution_id: this.executionId },
      ]);
      this.dropped = 0;
    }
    await this.chain;
  }

  private write(stream: OutputStream, lines: string[]): void {
    const ts = new Date().toISOString();
    const entries: HistoryEntry[] = [];
    for (const line of lines) {
      if (this.written >= this.maxLines) {
        this.dropped++;
        continue;
      }
      this.written++;
      const message = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)} [... line cut]` : line;
      entries.push({
        ts,
        level: stream === 'stdout' ? 'info' : 'warn',
        source: stream,
        message,
        execution_id: this.executionId,
      });
    }
    if (entries.length) this.enqueue(entries);
  }

  private enqueue(entries: HistoryEntry[]): void {
    this.chain = this.chain
      .then(() => this.history.append(this.sandboxId, entries, this.secrets))
      .catch(() => undefined);
  }
}
