import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { SandboxProvider } from '../../src/providers/provider.js';
import { createServer } from '../../src/server.js';
import { toolCaller } from './tool-call.js';
import { wirePair } from './wire-pair.js';

/**
 * A real MCP client connected in memory to a server built by createServer. Tools are listed once, so the client
 * checks every structured result against the tool's outputSchema, as real clients do.
 */
export async function connectInMemory(config: Config, provider: SandboxProvider) {
  const { server, sandboxes, cleanup } = createServer({ config, provider, log: silentLogger() });
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  const [clientSide, serverSide] = wirePair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const { tools } = await client.listTools();
  const call = toolCaller(client);
  return {
    client,
    tools,
    sandboxes,
    call,
    close: async () => {
      await client.close();
      await cleanup();
    },
  };
}
