import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { print } from '../../src/terminal.js';
import { StdioServerTransport } from '../../src/transport/stdio-transport.js';

// stdout is the MCP channel in server mode: once the stdio transport has started on it, the commands' printer
// refuses to write there (a stray line would corrupt the JSON-RPC stream). Before, it prints (the commands' mode).
it('refuses to print to stdout once the MCP transport owns it, and prints before that', async () => {
  const written: unknown[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: unknown) => (written.push(chunk), true)) as typeof process.stdout.write;
  try {
    print("a command's table\n");
    expect(written).toEqual(["a command's table\n"]);
    const transport = new StdioServerTransport(
      { maxMessageBytes: 1024, onFatal: () => undefined },
      new PassThrough(),
      process.stdout,
    );
    await transport.start();
    expect(() => print('stray\n')).toThrow(/MCP transport/);
    expect(written).toEqual(["a command's table\n"]);
    await transport.close();
  } finally {
    process.stdout.write = write;
  }
});
