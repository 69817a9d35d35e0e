import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { StdioTransport, stdioMessageLimit } from '../../src/stdio-transport.js';
import { testConfig } from '../helpers/test-config.js';

async function open(maxBytes: number) {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new StdioTransport(maxBytes, input, output);
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e);
  await transport.start();
  const feed = async (...chunks: string[]) => {
    for (const c of chunks) input.write(Buffer.from(c));
    await new Promise((r) => setImmediate(r));
  };
  return { transport, output, messages, errors, feed };
}

const ping = (id: number, pad = '') => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: { pad } })}\n`;

describe('stdio transport', () => {
  it('joins a message split over many chunks, and splits several in one chunk', async () => {
    const t = await open(1 << 20);
    const big = ping(1, 'x'.repeat(300_000));
    const parts = big.match(/[\s\S]{1,65536}/g)!;
    await t.feed(...parts);
    await t.feed(ping(2) + ping(3) + ping(4).slice(0, 10), ping(4).slice(10));
    expect(t.messages.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3, 4]);
    expect((t.messages[0] as unknown as { params: { pad: string } }).params.pad.length).toBe(300_000);
    expect(t.errors).toEqual([]);
  });

  it('skips a message over the limit and reports it, and goes on serving the next ones', async () => {
    const t = await open(1000);
    const long = ping(2, 'y'.repeat(1200));
    await t.feed(ping(1, 'y'.repeat(1200)), long.slice(0, 500), long.slice(500), ping(3));
    expect(t.messages.map((m) => (m as { id: number }).id)).toEqual([3]);
    expect(t.errors.map((e) => e.message)).toEqual([expect.stringMatching(/over 1000 bytes/), expect.stringMatching(/over 1000 bytes/)]);
  });

  it('reports a line that is not JSON-RPC without closing', async () => {
    const t = await open(1 << 20);
    await t.feed('not json\n', ping(5));
    expect(t.messages).toHaveLength(1);
    expect(t.errors).toHaveLength(1);
  });

  it('writes one message per line', async () => {
    const t = await open(1 << 20);
    const written: string[] = [];
    t.output.on('data', (c: Buffer) => written.push(c.toString()));
    await t.transport.send({ jsonrpc: '2.0', id: 7, result: {} });
    expect(written.join('')).toBe('{"jsonrpc":"2.0","id":7,"result":{}}\n');
  });

  it('accepts an upload of the configured size as base64', () => {
    for (const size of [10 * 1024 * 1024, 64 * 1024 * 1024]) {
      const base64Message = Math.ceil(size / 3) * 4 + 1024;
      expect(stdioMessageLimit(testConfig({ SANDBOX_MAX_UPLOAD_SIZE: String(size) }))).toBeGreaterThan(base64Message);
    }
  });
});
