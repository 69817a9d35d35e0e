import { appendFileSync, mkdirSync, promises as fsPromises, readFileSync, statSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { newSandboxId } from '../../src/ids.js';
import { RateLimiter } from '../../src/rate-limiter.js';
import { endEntry, startEntry } from '../../src/sandbox/execute.js';
import { sandboxPath } from '../../src/sandbox/upload.js';
import { HistoryStore, type HistoryEntry } from '../../src/store/history-store.js';
import { SandboxRecords } from '../../src/store/sandbox-records.js';
import { tempStateDir } from '../helpers/test-config.js';
import { LogCapture } from '../helpers/docker-session.js';

const entry = (message: string): HistoryEntry => ({
  ts: new Date().toISOString(),
  level: 'info',
  source: 'system',
  message,
});

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

describe('HistoryStore bounds and scrubbing', () => {
  const padded = (i: number) => entry(`entry ${i} ${'x'.repeat(80)}`);

  it("keeps a sandbox's history under its size limit by dropping the oldest entries", async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { maxBytes: 64 * 1024, maxLines: 100_000 });
    for (let i = 0; i < 2000; i += 10)
      await store.append(
        id,
        Array.from({ length: 10 }, (_, k) => padded(i + k)),
      );
    expect(statSync(path.join(root, id, 'history.jsonl')).size).toBeLessThanOrEqual(64 * 1024 + 10 * 200);
    const messages = (await store.read(id)).map((e) => e.message);
    expect(messages.at(-1)).toMatch(/^entry 1999 /);
    expect(messages[0]).not.toMatch(/^entry 0 /);
    expect(messages.length).toBeGreaterThan(100);
  });

  it('keeps at most its line limit, newest last', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { maxBytes: 64 * 1024 * 1024, maxLines: 100 });
    for (let i = 0; i < 500; i++) await store.append(id, [entry(`line ${i}`)]);
    const messages = (await store.read(id)).map((e) => e.message);
    expect(messages.length).toBeLessThanOrEqual(100);
    expect(messages.at(-1)).toBe('line 499');
    // Trimmed on disk too, not only when read.
    expect(
      readFileSync(path.join(root, id, 'history.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean).length,
    ).toBeLessThanOrEqual(100 + 25);
  });

  it('loses no entry appended while it trims (runs go on during a trim)', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { maxBytes: 64 * 1024 * 1024, maxLines: 100 });
    // Appends as concurrent runs make them: each on its own turn of the event loop, none waiting for another's
    // trim, so trims read and rewrite the file while later appends land.
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      pending.push(store.append(id, [entry(`line ${i}`)]));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    const lines = readFileSync(path.join(root, id, 'history.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { message: string }).message);
    // What is kept is the newest entries, every one of them, in order: a trim drops only the oldest.
    const newest = Number(/\d+/.exec(lines[0]!)![0]);
    expect(lines).toEqual(Array.from({ length: 600 - newest }, (_, k) => `line ${newest + k}`));
    // Trimmed, though not to the limit exactly: what lands during a trim is carried over, and the next check comes
    // a quarter of the limit later.
    expect(lines.length).toBeLessThan(450);
  });

  it('carries over an append another process had half written when the trim read the file', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { maxBytes: 64 * 1024 * 1024, maxLines: 100 });
    const file = path.join(root, id, 'history.jsonl');
    mkdirSync(path.dirname(file), { recursive: true });
    // 200 entries, then another writer's append of two entries, cut inside its first line (and inside a character).
    const late = '\n' + [entry('late 1 \u00e9t\u00e9'), entry('late 2')].map((e) => JSON.stringify(e)).join('\n');
    const half = Buffer.from(late).subarray(0, Buffer.byteLength(late.slice(0, late.indexOf('\u00e9'))) + 1);
    writeFileSync(file, Array.from({ length: 200 }, (_, i) => '\n' + JSON.stringify(entry(`line ${i}`))).join(''));
    appendFileSync(file, half);
    // The other writer finishes while the trim writes its new file.
    const writeFile = fsPromises.writeFile.bind(fsPromises);
    const spy = vi.spyOn(fsPromises, 'writeFile').mockImplementationOnce(async (...args) => {
      appendFileSync(file, Buffer.from(late).subarray(half.length));
      return writeFile(...args);
    });
    try {
      await (store as unknown as { compact(id: string, size: number): Promise<void> }).compact(id, 0);
    } finally {
      spy.mockRestore();
    }
    const messages = (await store.read(id)).map((e) => e.message);
    expect(messages.slice(-3)).toEqual(['line 199', 'late 1 \u00e9t\u00e9', 'late 2']);
    expect(messages.length).toBeLessThanOrEqual(100);
  });

  it('keeps the start of a background execution that has not ended, however old (it names its owner)', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { maxBytes: 64 * 1024 * 1024, maxLines: 100 });
    const background = {
      run_id: 'r1',
      owner: { host: 'h', pid: 1, instance: 'i' },
      deadline: new Date(Date.now() + 60_000).toISOString(),
    };
    const started = new Date();
    await store.append(id, [
      startEntry('ended', 'bash', 1, started, background),
      startEntry('going', 'bash', 1, started, background),
    ]);
    await store.append(id, [endEntry('ended', 'completed', 0, 5)]);
    for (let i = 0; i < 500; i++) await store.append(id, [{ ...entry(`output ${i}`), execution_id: 'going' }]);
    const kept = await store.read(id);
    expect(kept.length).toBeLessThanOrEqual(101);
    expect(kept.filter((e) => e.background).map((e) => e.execution_id)).toEqual(['going']);
    expect(kept[0]).toMatchObject({ execution_id: 'going', background });
    expect(kept.at(-1)!.message).toBe('output 499');
  });

  it("never stores the values of the sandbox's or the run's env_vars, from a minimum length on", async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const store = new HistoryStore(root, { secrets: () => ['sk-live-123456', 'abc'] });
    await store.append(id, [entry('token sk-live-123456 and run-secret-99 and abc')], ['run-secret-99']);
    const text = readFileSync(path.join(root, id, 'history.jsonl'), 'utf8');
    expect(text).not.toContain('sk-live-123456');
    expect(text).not.toContain('run-secret-99');
    expect((await store.read(id))[0]!.message).toBe('token [redacted] and [redacted] and abc'); // "abc" is too short to hide
  });

  it('skips history lines of the wrong shape, and reports them', async () => {
    const root = tempStateDir();
    const id = newSandboxId();
    const logs = new LogCapture();
    const store = new HistoryStore(root, { log: pino(logs) });
    await store.append(id, [entry('good')]);
    appendFileSync(path.join(root, id, 'history.jsonl'), '\n{"ts":5,"level":"loud","source":"system","message":[]}');
    await store.append(id, [entry('also good')]);
    expect((await store.read(id)).map((e) => e.message)).toEqual(['good', 'also good']);
    expect(logs.text).toMatch(/history lines with unexpected contents skipped/);
  });
});

describe('SandboxRecords', () => {
  it('treats a record of the wrong shape as missing, and reports it', async () => {
    const root = tempStateDir();
    const logs = new LogCapture();
    const records = new SandboxRecords(root, pino(logs));
    const id = newSandboxId();
    mkdirSync(path.join(root, id), { recursive: true });
    for (const bad of ['{}', '[]', 'null', '{"id":"' + id + '","provider":"docker","expiresAt":"soon"}', 'not json']) {
      writeFileSync(path.join(root, id, 'record.json'), bad);
      expect(await records.get(id), bad).toBeUndefined();
    }
    expect(logs.text).toMatch(/sandbox record is invalid/);
  });

  it('stores, updates and removes a record atomically', async () => {
    const records = new SandboxRecords(tempStateDir());
    const id = newSandboxId();
    const now = new Date().toISOString();
    await records.put({
      id,
      provider: 'docker',
      name: 'n',
      metadata: {},
      createdAt: now,
      expiresAt: now,
      envNames: ['A'],
      packages: [],
      startupScript: false,
    });
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
  it("resolves relative paths under /home/user and keeps .. inside the sandbox's own tree", () => {
    expect(sandboxPath('data/x.csv')).toBe('/home/user/data/x.csv');
    expect(sandboxPath('../../../etc/passwd')).toBe('/etc/passwd');
    expect(sandboxPath('/tmp/a')).toBe('/tmp/a');
  });

  it.each(['', 'a\0b', '/', 'dir/', 'x'.repeat(300)])('refuses %j', (bad) => {
    expect(() => sandboxPath(bad)).toThrow();
  });
});
