import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { StdioServerTransport } from '../../src/transport/stdio-transport.js';

/**
 * Our stdio transport on in-memory streams: what it received, what it answered (each line parsed), and its fatal
 * errors. `deliver` writes bytes in pieces of `size`, as a pipe delivers them, then lets the transport handle them.
 */
export function transportWire(maxMessageBytes: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const fatal: Error[] = [];
  const received: JSONRPCMessage[] = [];
  const transport = new StdioServerTransport({ maxMessageBytes, onFatal: (e) => fatal.push(e) }, stdin, stdout);
  transport.onmessage = (m) => received.push(m);
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const replies = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id?: unknown; error?: { code: number; message: string } });
  const deliver = async (bytes: Buffer, size = 4093) => {
    for (let i = 0; i < bytes.length; i += size) stdin.write(bytes.subarray(i, i + size));
    await new Promise((r) => setImmediate(r));
  };
  return { stdin, stdout, transport, fatal, received, replies, deliver };
}
