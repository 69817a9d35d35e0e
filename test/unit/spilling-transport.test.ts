import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { EncodedBytes } from '../../src/transport/encoded-bytes.js';
import { pendingSpills } from '../../src/transport/spilled-strings.js';
import { resolveSpilledArguments } from '../../src/tools/spilled-arguments.js';
import { StdioServerTransport } from '../../src/transport/stdio-transport.js';
import { SpillFile } from '../../src/util/spill-file.js';
import { transportWire } from '../helpers/transport-wire.js';

// A long line is read as it arrives: its long strings go to disk behind markers (no ~11 MB line, string or parsed
// argument in memory for an 8 MiB upload), and the tools see what JSON.parse of the whole line would have given.

type Call = { id: number; params: { arguments: Record<string, unknown> } };

/** The transport on in-memory streams, its messages read as tool calls. */
function wire(maxMessageBytes = 64 * 1024 * 1024) {
  const t = transportWire(maxMessageBytes);
  return { ...t, received: t.received as unknown as Call[] };
}

const line = (id: number, args: Record<string, unknown>) =>
  `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x', arguments: args } })}\n`;

/** Files of this process's spill folders that still have a name (spill files are unlinked as soon as opened). */
const namedSpillFiles = () =>
  readdirSync(os.tmpdir())
    .filter((d) => d.startsWith('sandbox-mcp-spill-'))
    .flatMap((d) => {
      try {
        return readdirSync(`${os.tmpdir()}/${d}`);
      } catch {
        return [];
      }
    });

/** Every string as its UTF-8 reads back (a lone surrogate becomes U+FFFD, as when the string is written out). */
const asUtf8 = (value: unknown): unknown =>
  typeof value === 'string'
    ? Buffer.from(value, 'utf8').toString('utf8')
    : Array.isArray(value)
      ? value.map(asUtf8)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asUtf8(v)]))
        : value;

const answer = (t: ReturnType<typeof wire>, id: number) =>
  t.transport.send({ jsonrpc: '2.0', id, result: { content: [] } } as JSONRPCMessage);

describe('the stdio transport, for lines longer than 256 KiB', () => {
  it('gives tools exactly the strings JSON.parse gives: escapes, \\u escapes, surrogate pairs, UTF-8 cut by chunks', async () => {
    const t = wire();
    await t.transport.start();
    // Escaped and raw: quotes, backslashes, controls, \u escapes (a pair split over two), lone surrogates, and
    // multibyte characters wherever the 4093-byte pieces cut them.
    const unit = 'a"b\\c\n\t\u0001/é€😀\ud83d\ude00 \ud800x \udc00 end ';
    const text = unit.repeat(40_000);
    const raw = Buffer.from(line(1, { content: text, small: 'kept "as" is', nested: { more: [text, 1] } }));
    // The same content with every character as a \u escape, and with invalid UTF-8 among raw bytes.
    const escaped = `"${'é😀x\ud800'
      .repeat(30_000)
      .split('')
      .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join('')}"`;
    const invalid = Buffer.concat([
      Buffer.from('"'),
      Buffer.from('ok \xff\xfe é'.repeat(30_000), 'latin1'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('\\n tail"'),
    ]);
    const other = Buffer.concat([
      Buffer.from(
        `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"a":${escaped},"b":`,
      ),
      invalid,
      Buffer.from('}}}\n'),
    ]);
    await t.deliver(Buffer.concat([raw, other]));
    expect(t.received).toHaveLength(2);
    const expected = [JSON.parse(raw.toString('utf8')), JSON.parse(other.toString('utf8'))] as Call[];
    for (const [i, message] of t.received.entries()) {
      // In place of each long string, a marker; resolved, the string itself (as UTF-8: a lone surrogate is U+FFFD).
      const args = message.params.arguments;
      expect(JSON.stringify(args).length).toBeLessThan(2000);
      const resolved = JSON.stringify(asUtf8(resolveSpilledArguments(args).args));
      // A boolean: a failing toEqual would diff megabytes.
      expect(resolved === JSON.stringify(asUtf8(expected[i]!.params.arguments))).toBe(true);
    }
    expect(pendingSpills()).toBe(0);
  });

  it('keeps a spilled argument as its file for a tool that streams it, and closes what nobody took once answered', async () => {
    const t = wire();
    await t.transport.start();
    const content = randomBytes(600_000).toString('base64');
    await t.deliver(Buffer.from(line(5, { content, other: 'y'.repeat(300_000) })));
    const { args, streamed } = resolveSpilledArguments(t.received[0]!.params.arguments, ['content']);
    expect(args).toEqual({ content: '', other: 'y'.repeat(300_000) });
    const file = streamed.get('content')!;
    expect(file.text()).toBe(content);
    file.close();

    // A request whose markers no tool took (say, an unknown method): closed when its answer is sent.
    const before = SpillFile.open;
    await t.deliver(Buffer.from(line(6, { content })));
    expect(SpillFile.open).toBe(before + 1);
    await answer(t, 6);
    expect(SpillFile.open).toBe(before);
    expect(pendingSpills()).toBe(0);
    expect(namedSpillFiles()).toEqual([]);
  });

  it('keeps an argument named "__proto__" an own property, as JSON.parse does, beside a spilled one', async () => {
    const t = wire();
    await t.transport.start();
    const args = JSON.parse(`{"__proto__":{"polluted":true},"code":"${'c'.repeat(300_000)}"}`) as object;
    await t.deliver(Buffer.from(line(15, args as Record<string, unknown>)));
    const resolved = resolveSpilledArguments(t.received[0]!.params.arguments).args as Record<string, unknown>;
    expect(resolved.code).toBe('c'.repeat(300_000));
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(Object.hasOwn(resolved, '__proto__')).toBe(true);
    expect((resolved as { polluted?: boolean }).polluted).toBeUndefined();
    await t.transport.close();
  });

  it('does not take a string that looks like a marker for one', async () => {
    const t = wire();
    await t.transport.start();
    const lookalike = `\u0000spill-${'0'.repeat(32)}:1`;
    await t.deliver(Buffer.from(line(7, { content: 'z'.repeat(400_000), fake: lookalike, [lookalike]: lookalike })));
    const { args } = resolveSpilledArguments(t.received[0]!.params.arguments);
    expect(args).toEqual({ content: 'z'.repeat(400_000), fake: lookalike, [lookalike]: lookalike });
  });

  it('answers a long line that is not JSON with a parse error, and closes what it had spilled', async () => {
    const t = wire();
    await t.transport.start();
    const before = SpillFile.open;
    // A bad escape deep inside a long string (already spilled), then a raw control character in another.
    await t.deliver(Buffer.from(`{"jsonrpc":"2.0","id":8,"method":"m","params":{"a":"${'q'.repeat(200_000)}\\x"}}\n`));
    await t.deliver(
      Buffer.from(`{"jsonrpc":"2.0","id":9,"method":"m","params":{"a":"${'q'.repeat(300_000)}\u0001"}}\n`),
    );
    // Valid strings, broken JSON around them.
    await t.deliver(Buffer.from(`{"jsonrpc":"2.0","id":10,"params":{"a":"${'q'.repeat(300_000)}"}}}\n`));
    // A line that ends in the middle of a long string being spilled.
    await t.deliver(Buffer.from(`{"jsonrpc":"2.0","id":14,"method":"m","params":{"a":"${'q'.repeat(300_000)}\n`));
    expect(t.received).toEqual([]);
    expect(t.replies()).toEqual([
      { jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } },
      { jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } },
      { jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } },
      { jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } },
    ]);
    expect(SpillFile.open).toBe(before);
    expect(pendingSpills()).toBe(0);
    // And the session goes on.
    await t.deliver(Buffer.from(line(11, { content: 'ok' })));
    expect(t.received.map((m) => m.id)).toEqual([11]);
  });

  it('still skips and answers a line over the limit once it is being scanned, and closes its spill files', async () => {
    const t = wire(1024 * 1024);
    await t.transport.start();
    const before = SpillFile.open;
    await t.deliver(Buffer.from(line(12, { content: 'w'.repeat(3 * 1024 * 1024) })));
    expect(t.replies()).toEqual([
      { jsonrpc: '2.0', id: 12, error: { code: -32600, message: expect.stringMatching(/too large/) } },
    ]);
    expect(t.received).toEqual([]);
    expect(SpillFile.open).toBe(before);
    expect(pendingSpills()).toBe(0);
  });

  it('closes unanswered spill files when the transport closes', async () => {
    const t = wire();
    await t.transport.start();
    const before = SpillFile.open;
    await t.deliver(Buffer.from(line(13, { content: 'v'.repeat(500_000) })));
    expect(SpillFile.open).toBe(before + 1);
    await t.transport.close();
    expect(SpillFile.open).toBe(before);
  });
});

describe('the stdio transport, writing a download', () => {
  it('makes the pieces of a large answer only as stdout drains: they are never all queued in memory', async () => {
    const stdin = new PassThrough();
    let held: (() => void) | undefined;
    const pieces: string[] = [];
    // A reader that takes one piece, then needs a drain: the pipe of a client that reads slowly.
    const stdout = new Writable({
      highWaterMark: 1,
      decodeStrings: false,
      write(chunk: string, _enc, done) {
        pieces.push(chunk);
        held = done;
      },
    });
    const transport = new StdioServerTransport({ maxMessageBytes: 1024, onFatal: () => undefined }, stdin, stdout);
    await transport.start();
    const bytes = randomBytes(2 * 1024 * 1024);
    const sent = transport.send({
      jsonrpc: '2.0',
      id: 1,
      result: { structuredContent: { content: new EncodedBytes(bytes, 'base64') }, content: [] },
    } as unknown as JSONRPCMessage);
    // Sent after it, written after it whole.
    const next = transport.send({ jsonrpc: '2.0', id: 2, result: {} } as JSONRPCMessage);
    await new Promise((r) => setImmediate(r));
    expect(pieces).toHaveLength(1);
    for (let i = 0; i < 10_000 && held; i++) {
      const release = held;
      held = undefined;
      release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([sent, next]);
    const lines = pieces.join('').split('\n').filter(Boolean);
    expect(JSON.parse(lines[0]!)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { structuredContent: { content: bytes.toString('base64') }, content: [] },
    });
    expect(JSON.parse(lines[1]!)).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(pieces.length).toBeGreaterThan(20);
  });
});
