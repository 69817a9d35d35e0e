import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A lease held through a small file, so that of several servers sharing a state folder one does a periodic job
 * (the disk watchdog) instead of each. The holder renews it on every round; when it stops (exit, crash) the lease
 * runs out and another server takes it. Two servers racing for a free lease may both win one round; from the next
 * one on, the file names one owner. It spreads work, it does not guard anything.
 */
export class LeaseFile {
  private readonly owner = randomBytes(8).toString('hex');

  constructor(
    private readonly file: string,
    private readonly durationMs: number,
  ) {}

  /** True when this process holds the lease (taking or renewing it); false when another live holder has it. */
  async acquire(now = Date.now()): Promise<boolean> {
    const current = await this.read();
    if (current && current.owner !== this.owner && current.until > now) return false;
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify({ owner: this.owner, until: now + this.durationMs }), { mode: 0o600 });
    await fs.rename(tmp, this.file);
    return (await this.read())?.owner === this.owner;
  }

  private async read(): Promise<{ owner: string; until: number } | undefined> {
    try {
      const raw = JSON.parse(await fs.readFile(this.file, 'utf8')) as { owner?: unknown; until?: unknown };
      return typeof raw.owner === 'string' && typeof raw.until === 'number'
        ? { owner: raw.owner, until: raw.until }
        : undefined;
    } catch {
      return undefined; // none yet, or unreadable: free
    }
  }
}
