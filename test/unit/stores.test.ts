import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newSandboxId } from '../../src/ids.js';
import { RateLimiter } from '../../src/rate-limiter.js';
import { sandboxPath } from '../../src/sandbox/upload.js';
import { HistoryStore, type HistoryEntry } from '../../src/store/history-store.js';
import { SandboxRecords } from '../../src/store/sandbox-records.js';
import { tempStateDir } from '../helpers/test-config.js';

const entry = (message: string): HistoryEntry => ({ ts: new Date().toISOString(), level: 'info', source: 'system', message });

describe('HistoryStore', () => {
  it('appends and reads back in order, across instances (as after a restart)', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    await new HistoryStore(root).append(id, [entry('one'), entry('two')]);
    await new HistoryStore(root).append(id, [entry('three')]);
    expect((await new HistoryStore(root).read(id)).map((e) => e.message)).toEqual(['one', 'two', 'three']);
  });

  it('skips a line torn by a crash and keeps what comes after it', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root);
    await store.append(id, [entry('whole')]);
    // A crash mid-append leaves a prefix of what append writes: a newline and part of a line.
    appendFileSync(path.join(root, id, 'history.jsonl'), '\n{"ts":"2026-');
    await store.append(id, [entry('after')]);
    expect((await store.read(id)).map((e) => e.message)).toEqual(['whole', 'after']);
  });

  it('refuses IDs that would make a path outside its folder', async () => {
    await expect(new HistoryStore(tempStateDir()).append('../../etc', [entry('x')])).rejects.toThrow(/malformed/);
  });
});

describe('SandboxRecords', () => {
  it('stores, updates and removes a record atomically', async () => {
    const records = new SandboxRecords(tempStateDir());
    const id = newSandboxId();
    const now = new Date().toISOString();
    await records.put({ id, provider: 'docker', name: 'n', metadata: {}, createdAt: now, expiresAt: now, envNames: ['A'], packages: [], startupScript: false });
    await records.update(id, (r) => ({ ...r, envNames: [...r.envNames, 'B'] }));
    expect((await records.get(id))?.envNames).toEqual(['A', 'B']);
    expect(await records.ids()).toEqual([id]);
    await records.remove(id);
    expect(await records.get(id)).toBeUndefined();
  });
});

describe('RateLimiter', () => {
  it('allows the limit per sliding minute, then says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now);
    limiter.take();
    now = 30_000;
    limiter.take();
    expect(() => limiter.take()).toThrow(/More than 2 calls/);
    now = 60_001;
    expect(() => limiter.take()).not.toThrow();
  });
});

describe('sandboxPath', () => {
  it('resolves relative paths under /home/user and keeps .. inside the sandbox\'s own tree', () => {
    expect(sandboxPath('data/x.csv')).toBe('/home/user/data/x.csv');
    expect(sandboxPath('../../../etc/passwd')).toBe('/etc/passwd');
    expect(sandboxPath('/tmp/a')).toBe('/tmp/a');
  });

  it.each(['', 'a\0b', '/', 'dir/', 'x'.repeat(300)])('refuses %j', (bad) => {
    expect(() => sandboxPath(bad)).toThrow();
  });
});
