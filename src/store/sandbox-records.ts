import { mkdirSync, promises as fs, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { randomBytes } from 'node:crypto';
import type { ProviderName } from '../providers/provider.js';
import { isSandboxId } from '../ids.js';
import type { Logger } from '../logger.js';
import { sandboxDir } from './sandbox-dir.js';
import { SandboxRecordSchema, type SameType } from './schemas.js';

/** What the server knows about a sandbox beyond the backend's own labels. Never holds env values. */
export interface SandboxRecord {
  id: string;
  provider: ProviderName;
  /** SANDBOX_NAMESPACE of the server that made it: a state folder may be shared by servers of several. */
  namespace?: string;
  /** Name and metadata as the agent gave them (a warm sandbox's labels were written before it was claimed). */
  name: string;
  metadata: Record<string, string>;
  createdAt: string;
  expiresAt: string;
  /** A warm-pool sandbox not yet handed to an agent: never listed. */
  warm?: boolean;
  /** Names of the variables set through env_vars; the values live only inside the sandbox. */
  envNames: string[];
  packages: string[];
  startupScript: boolean;
  languageVersions?: Record<string, string>;
  /** Ports the agent asked to reach from the user's machine (sandbox_create and sandbox_configure). */
  ports?: number[];
}

// A field added to the record but not to its schema would be stripped on every read: this fails to compile then.
const _recordMatchesSchema: SameType<z.infer<typeof SandboxRecordSchema>, SandboxRecord> = true;

/**
 * One small JSON file per sandbox, replaced atomically (write then rename), beside its history. Together with the
 * backend's labels this is the whole state: a restarted server, or a second one, reads the same.
 */
export class SandboxRecords {
  constructor(
    private readonly root: string,
    private readonly log?: Logger,
  ) {}

  private file(id: string): string {
    return path.join(sandboxDir(this.root, id), 'record.json');
  }

  /** The record, or undefined when there is none or it is not a valid record (logged; then treated as missing). */
  async get(id: string): Promise<SandboxRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file(id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.log?.warn({ sandboxId: id }, 'sandbox record is not JSON; ignoring it');
      return undefined;
    }
    const parsed = SandboxRecordSchema.safeParse(raw);
    if (!parsed.success || parsed.data.id !== id) {
      const problems = parsed.success
        ? 'it names another sandbox'
        : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      this.log?.warn({ sandboxId: id, problems }, 'sandbox record is invalid; ignoring it');
      return undefined;
    }
    return parsed.data;
  }

  /**
   * Writes the record (write, then rename over the old one). Synchronously, as the history's appends: a record is
   * a few hundred bytes, and each asynchronous file operation is a round trip through libuv's thread pool. A warm
   * claim made eight of them one after the other: 3 to 12 ms on a loaded 2-core machine, against well under 1 ms.
   */
  async put(record: SandboxRecord): Promise<void> {
    const file = this.file(record.id);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(tmp, file);
  }

  private readonly updating = new Map<string, Promise<unknown>>();

  /** Read, change, write; updates of one sandbox in this process run one at a time, so none is lost. */
  async update(id: string, change: (record: SandboxRecord) => SandboxRecord): Promise<SandboxRecord | undefined> {
    const previous = this.updating.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const current = await this.get(id);
      if (!current) return undefined;
      const changed = change(current);
      await this.put(changed);
      return changed;
    });
    const settled = next.catch(() => undefined);
    this.updating.set(id, settled);
    void settled.then(() => {
      if (this.updating.get(id) === settled) this.updating.delete(id);
    });
    return next;
  }

  /** IDs of every sandbox with a record or a history. */
  async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(this.root, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && isSandboxId(d.name))
        .map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * Takes a sandbox for one caller only: creating a folder is atomic across processes, so of two servers that
   * try to claim the same warm sandbox, one wins.
   */
  async claim(id: string): Promise<boolean> {
    try {
      mkdirSync(path.join(sandboxDir(this.root, id), 'claimed'));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' || (err as NodeJS.ErrnoException).code === 'ENOENT')
        return false;
      throw err;
    }
  }

  /** Removes the record and the history beside it. */
  async remove(id: string): Promise<void> {
    await fs.rm(sandboxDir(this.root, id), { recursive: true, force: true });
  }
}
