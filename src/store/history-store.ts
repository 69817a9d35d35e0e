import {
  appendFileSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  promises as fs,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { ServerIdentity } from '../util/server-identity.js';
import { sandboxDir } from './sandbox-dir.js';
import type { z } from 'zod';
import { HistoryEntrySchema, type SameType } from './schemas.js';

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
  /**
   * On a background execution's start: its run ID in the sandbox, the server running it and the end of its time
   * limit, so that another server sharing the history can tell whether it still runs, and end it.
   */
  background?: {
    run_id: string;
    owner: ServerIdentity;
    deadline: string;
  };
  /** Another server ended this execution (sandbox_stop): its owner records the end it sees as cancelled. */
  stop_requested?: boolean;
}

// A field or status added to entries but not to their schema would drop them on read: this fails to compile then.
const _entryMatchesSchema: SameType<z.infer<typeof HistoryEntrySchema>, HistoryEntry> = true;

export interface HistoryOptions {
  /** Largest history file per sandbox; past it the oldest entries are dropped. */
  maxBytes?: number;
  /** Most entries kept per sandbox; past it the oldest are dropped. */
  maxLines?: number;
  /** Values never to store (the sandbox's env_vars values): replaced by [redacted] in every message. */
  secrets?: (sandboxId: string) => string[];
  log?: Logger;
}

export const HISTORY_DEFAULTS = { maxBytes: 4 * 1024 * 1024, maxLines: 10_000 };
/** Values shorter than this are not scrubbed: too likely to be ordinary words or numbers. */
export const MIN_SECRET_LENGTH = 6;
const REDACTED = '[redacted]';

/** Replaces every occurrence of each secret (longest first, so that one inside another goes whole). */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of [...new Set(secrets)]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * The bytes of `file` from `start` to its end, read from the same open file that is checked to be the one read
 * before (`identity`: inode and birth time) and not shorter; undefined if it is gone, replaced or shorter.
 */
function tailSince(file: string, identity: string, start: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (`${st.ino}:${st.birthtimeMs}` !== identity || st.size < start) return undefined;
    const buf = Buffer.alloc(st.size - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Each sandbox's history is an append-only JSON-lines file: appends of one write each do not interleave, so two
 * servers on one machine can share it, and a crash loses at most the line being written. It is bounded: once it
 * passes its size or line limit, it is rewritten with the newest three quarters (write then rename), so a busy
 * sandbox cannot fill the host's disk outside its own quota. Values of the sandbox's env_vars are scrubbed from
 * what is stored.
 */
export class HistoryStore {
  private readonly maxBytes: number;
  private readonly maxLines: number;
  /** Entries appended per sandbox since its line count was last checked. */
  private readonly sinceCheck = new Map<string, number>();
  private readonly compacting = new Map<string, Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly options: HistoryOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? HISTORY_DEFAULTS.maxBytes;
    this.maxLines = options.maxLines ?? HISTORY_DEFAULTS.maxLines;
  }

  private file(sandboxId: string): string {
    return path.join(sandboxDir(this.root, sandboxId), 'history.jsonl');
  }

  /** Appends one lifecycle event of the sandbox (source `system`). */
  note(sandboxId: string, message: string, level: LogLevel = 'info', at: Date = new Date()): Promise<void> {
    return this.append(sandboxId, [{ ts: at.toISOString(), level, source: 'system', message }]);
  }

  /** Appends entries; `secrets` are values to scrub besides the sandbox's own (a run's env_vars). */
  async append(sandboxId: string, entries: HistoryEntry[], secrets: string[] = []): Promise<void> {
    if (entries.length === 0) return;
    const file = this.file(sandboxId);
    const hidden = [...(this.options.secrets?.(sandboxId) ?? []), ...secrets];
    const stored = hidden.length ? entries.map((e) => ({ ...e, message: scrub(e.message, hidden) })) : entries;
    // Each append starts with a newline, so a line torn by a crash never swallows the next one. Written
    // synchronously: an append is small, and done asynchronously it is three round trips through libuv's thread
    // pool (open, write, close) and a fourth for the size, on the way of every execution's answer.
    const data = '\n' + stored.map((e) => JSON.stringify(e)).join('\n');
    try {
      appendFileSync(file, data, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      appendFileSync(file, data, { mode: 0o600 });
    }
    await this.bound(sandboxId, entries.length);
  }

  /** Drops the oldest entries once the file is over its size, or (checked every so often) its line limit. */
  private async bound(sandboxId: string, appended: number): Promise<void> {
    const count = (this.sinceCheck.get(sandboxId) ?? 0) + appended;
    this.sinceCheck.set(sandboxId, count);
    let size = 0;
    try {
      size = statSync(this.file(sandboxId), { throwIfNoEntry: false })?.size ?? 0;
    } catch {
      // unreadable: checked again at the next append
    }
    if (size <= this.maxBytes && count < this.maxLines / 4) return;
    // A trim under way: the count goes on, and is checked again when that trim ends (below).
    const running = this.compacting.get(sandboxId);
    if (running) return running;
    this.sinceCheck.set(sandboxId, 0);
    const run = this.compact(sandboxId, size)
      .catch((err) => this.options.log?.warn({ sandboxId, err }, 'could not trim the history'))
      .finally(() => this.compacting.delete(sandboxId))
      // Appends that landed during the trim are trimmed now if they were enough to ask for it, not only once a
      // later append comes: a slow trim (a busy machine) otherwise left them over the limit. On the count alone,
      // which only appends raise: a trim that cannot bring the size down does not start the next one itself.
      .then(() => {
        if ((this.sinceCheck.get(sandboxId) ?? 0) >= this.maxLines / 4) return this.bound(sandboxId, 0);
      });
    this.compacting.set(sandboxId, run);
    return run;
  }

  /**
   * Rewrites the file with its newest entries. Entries appended while it reads and writes (this server's runs go
   * on meanwhile, and another server's may append too) are carried over: the rewrite works on the file up to the
   * last newline it read (every append starts with one, so what follows may be an append still being written),
   * and it ends synchronously, copying everything from that newline on, so that none of this server's appends can
   * come between its last look at the file and the rename. Another process's append can still fall in those few
   * microseconds. If the file was replaced meanwhile (another server trimmed it), that rewrite stands.
   */
  private async compact(sandboxId: string, size: number): Promise<void> {
    const file = this.file(sandboxId);
    const handle = await fs.open(file, 'r');
    let read: Buffer;
    let identity: string;
    try {
      const st = await handle.stat();
      identity = `${st.ino}:${st.birthtimeMs}`;
      read = await handle.readFile();
    } finally {
      await handle.close();
    }
    const cut = read.lastIndexOf(0x0a);
    if (cut <= 0) return;
    const lines = read.subarray(0, cut).toString('utf8').split('\n').filter(Boolean);
    if (size <= this.maxBytes && lines.length <= this.maxLines) return;
    // Keep the newest three quarters of each limit, so that trimming is rare rather than on every append.
    const keepBytes = Math.floor(this.maxBytes * 0.75);
    const kept: string[] = [];
    let bytes = 0;
    for (let i = lines.length - 1; i >= 0 && kept.length < Math.floor(this.maxLines * 0.75); i--) {
      bytes += Buffer.byteLength(lines[i]!) + 1;
      if (bytes > keepBytes) break;
      kept.push(lines[i]!);
    }
    kept.reverse();
    kept.unshift(...unfinishedStarts(lines.slice(0, lines.length - kept.length), lines));
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, '\n' + kept.join('\n'), { mode: 0o600 });
      // From here on, synchronous: no append of this server comes in between.
      const tail = tailSince(file, identity, cut);
      if (!tail) {
        rmSync(tmp, { force: true });
        return;
      }
      appendFileSync(tmp, tail);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.options.log?.debug(
      { sandboxId, dropped: lines.length - kept.length },
      'history trimmed: oldest entries dropped',
    );
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
      const start = Math.max(0, size - this.maxBytes * 2); // bounded, and trimmed past maxBytes
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      if (start > 0) lines.shift(); // the first line is cut
      const entries: HistoryEntry[] = [];
      let invalid = 0;
      for (const line of lines) {
        if (!line) continue;
        let raw: unknown;
        try {
          raw = JSON.parse(line);
        } catch {
          continue; // a line torn by a crash mid-write
        }
        const parsed = HistoryEntrySchema.safeParse(raw);
        if (parsed.success) entries.push(parsed.data);
        else invalid++;
      }
      if (invalid) this.options.log?.warn({ sandboxId, invalid }, 'history lines with unexpected contents skipped');
      return entries.slice(-this.maxLines);
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

/**
 * The start entries among `dropped` of background executions that have not ended (no end entry in `all`):
 * they are kept, whatever their age, since they say who runs the execution and how another server may end it.
 * Lines are matched as text first, so that only the few starts are parsed.
 */
function unfinishedStarts(dropped: string[], all: string[]): string[] {
  const starts = dropped.filter((line) => line.includes('"background":'));
  if (!starts.length) return [];
  const ended = new Set<string>();
  for (const line of all) {
    if (!line.includes('"run":')) continue;
    const id = parseEntry(line)?.execution_id;
    if (id) ended.add(id);
  }
  return starts.filter((line) => {
    const entry = parseEntry(line);
    return entry?.background && entry.execution_id && !ended.has(entry.execution_id);
  });
}

function parseEntry(line: string): { execution_id?: string; background?: unknown } | undefined {
  try {
    return JSON.parse(line) as { execution_id?: string; background?: unknown };
  } catch {
    return undefined;
  }
}
