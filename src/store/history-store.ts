import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sandboxDir } from './sandbox-dir.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogSource = 'system' | 'execution' | 'stdout' | 'stderr';

export interface HistoryEntry {
  ts: string;
  level: LogLevel;
  source: LogSource;
  message: string;
  execution_id?: string;
  /** Machine-readable facts of an execution's end, for the status tool's counters. */
  run?: { status: 'completed' | 'failed' | 'timeout' | 'cancelled'; exit_code: number | null; duration_ms: number };
}

/** Only the end of a very long history is read back. */
const READ_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Each sandbox's history is an append-only JSON-lines file: appends of one write each do not interleave, so two
 * servers on one machine can share it, and a crash loses at most the line being written.
 */
export class HistoryStore {
  constructor(private readonly root: string) {}

  private file(sandboxId: string): string {
    return path.join(sandboxDir(this.root, sandboxId), 'history.jsonl');
  }

  async append(sandboxId: string, entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const file = this.file(sandboxId);
    // Each append starts with a newline, so a line torn by a crash never swallows the next one.
    const data = '\n' + entries.map((e) => JSON.stringify(e)).join('\n');
    try {
      await fs.appendFile(file, data, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.appendFile(file, data, { mode: 0o600 });
    }
  }

  async read(sandboxId: string): Promise<HistoryEntry[]> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file(sandboxId), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - READ_WINDOW_BYTES);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      if (start > 0) lines.shift(); // the first line is cut
      const entries: HistoryEntry[] = [];
      for (const line of lines) {
        if (!line) continue;
        try {
          entries.push(JSON.parse(line) as HistoryEntry);
        } catch {
          // a line torn by a crash mid-write
        }
      }
      return entries;
    } finally {
      await handle.close();
    }
  }

  /** When the sandbox last did something, from the file's modification time. */
  async lastActivity(sandboxId: string): Promise<Date | undefined> {
    try {
      return (await fs.stat(this.file(sandboxId))).mtime;
    } catch {
      return undefined;
    }
  }
}
