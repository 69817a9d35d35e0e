import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { toolCaller } from './tool-call.js';
import { spawnEnv } from './test-config.js';

export const SERVER_ENTRY = path.resolve(import.meta.dirname, '..', '..', 'dist', 'index.js');

export function assertBuilt(): void {
  if (!existsSync(SERVER_ENTRY))
    throw new Error('dist/index.js is missing: run `npm run build` (npm test does it first)');
}

/** The built server, spawned over stdio as an MCP client launches it, with the SDK's real Client. */
export async function spawnServer(env: Record<string, string>, options: { maxBufferSize?: number } = {}) {
  assertBuilt();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY],
    env: spawnEnv(env),
    stderr: 'pipe',
    // The client's own cap on one message (10 MiB by default) is below an 8 MiB download as base64.
    ...(options.maxBufferSize ? { maxBufferSize: options.maxBufferSize } : {}),
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const call = toolCaller(client);
  return {
    client,
    tools,
    call,
    pid: () => transport.pid,
    stderr: () => stderr,
    close: () => client.close(),
  };
}
