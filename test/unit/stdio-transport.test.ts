import { describe, expect, it } from 'vitest';
import { extractRequestId, maxMessageBytes } from '../../src/transport/message-limits.js';
import { transportWire } from '../helpers/transport-wire.js';

const wire = transportWire;

const request = (id: number, padding = '') =>
  JSON.stringify({ method: 'tools/call', params: { name: 'x', arguments: { content: padding } }, jsonrpc: '2.0', id }) +
  '\n';

describe('the stdio transport', () => {
  it('answers a message over the limit with an error under its ID and goes on serving', async () => {
    const t = wire(64 * 1024);
    await t.transport.start();
    const big = request(7, 'A'.repeat(200 * 1024));
    // Delivered in small chunks, as a pipe does.
    for (let i = 0; i < big.length; i += 10_000) t.stdin.write(big.slice(i, i + 10_000));
    t.stdin.write(request(8, 'small'));
    await new Promise((r) => setImmediate(r));
    expect(t.replies()).toEqual([
      {
        jsonrpc: '2.0',
        id: 7,
        error: { code: -32600, message: expect.stringMatching(/too large.*limit of 65536 bytes/) },
      },
    ]);
    expect(t.received).toEqual([expect.objectContaining({ id: 8, method: 'tools/call' })]);
    expect(t.fatal).toEqual([]);
  });

  it('accepts a message just under the limit, however it is split', async () => {
    const message = request(3, 'B'.repeat(100_000));
    const t = wire(Buffer.byteLength(message) - 1); // the newline is not part of the message
    await t.transport.start();
    for (let i = 0; i < message.length; i += 777) t.stdin.write(message.slice(i, i + 777));
    await new Promise((r) => setImmediate(r));
    expect(t.received).toHaveLength(1);
    expect(t.replies()).toEqual([]);
  });

  it('reads text whose UTF-8 characters are split across chunks', async () => {
    const t = wire(1024 * 1024);
    await t.transport.start();
    const text = 'é€😀 '.repeat(5_000);
    const bytes = Buffer.from(request(4, text) + request(5, text));
    for (let i = 0; i < bytes.length; i += 4093) t.stdin.write(bytes.subarray(i, i + 4093));
    await new Promise((r) => setImmediate(r));
    expect(
      t.received.map((m) => (m as unknown as { params: { arguments: { content: string } } }).params.arguments.content),
    ).toEqual([text, text]);
  });

  it('answers a line that is not JSON with a parse error and keeps the session', async () => {
    const t = wire(1024);
    await t.transport.start();
    t.stdin.write('{not json\n' + request(1));
    await new Promise((r) => setImmediate(r));
    expect(t.replies()).toEqual([{ jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } }]);
    expect(t.received).toHaveLength(1);
  });

  it('writes a long message in slices that join into exactly the message, surrogate pairs kept whole', async () => {
    const t = wire(1024);
    await t.transport.start();
    const writes: number[] = [];
    t.stdout.on('data', (c: Buffer) => writes.push(c.length));
    // Emoji only (two UTF-16 units each), after a lead of 0 or 1 character: in one of the two messages, a pair
    // straddles the 1 Mi-character boundary.
    const texts = ['', 'x'].map((lead) => lead + 'é😀'.repeat(400_000));
    for (const [i, text] of texts.entries())
      await t.transport.send({ jsonrpc: '2.0', id: i, result: { content: [{ type: 'text', text }] } });
    await new Promise((r) => setImmediate(r));
    expect(writes.length).toBeGreaterThan(4); // not one copy of the whole as bytes
    expect(t.replies()).toEqual(
      texts.map((text, id) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } })),
    );
  });

  it('reports a failing input stream as fatal', async () => {
    const t = wire(1024);
    await t.transport.start();
    t.stdin.emit('error', new Error('EIO'));
    expect(t.fatal.map((e) => e.message)).toEqual(['EIO']);
  });

  it('finds the ID of an oversize request where clients put it', () => {
    expect(extractRequestId('{"method":"tools/call","params":{', '"x"}},"jsonrpc":"2.0","id":42}')).toBe(42);
    expect(extractRequestId('{"jsonrpc":"2.0","id":"abc","method":"tools/call"', '"x"}}}')).toBe('abc');
    expect(extractRequestId('{"id":5,"jsonrpc":"2.0"', '}}')).toBe(5);
    // An "id" nested in the arguments is not the request's.
    expect(extractRequestId('{"method":"x","params":{', '"params":{"id":9}}}')).toBeUndefined();
  });

  it('sizes the limit so that an upload at the configured limit fits, escaped as utf8 or as base64', () => {
    const limits = { uploadBytes: 10 * 1024 * 1024, codeBytes: 100 * 1024 };
    expect(maxMessageBytes(limits)).toBeGreaterThan(6 * limits.uploadBytes);
    expect(maxMessageBytes(limits)).toBeGreaterThan(Math.ceil(limits.uploadBytes / 3) * 4 + 64 * 1024);
  });
});
