import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { DeferredProvider } from '../providers/deferred-provider.js';
import { capabilitiesOf, createProvider } from '../providers/index.js';
import type { SandboxService } from '../sandbox/sandbox-service.js';
import { createServer } from '../server.js';

/** A tool's structured result: JSON of the shape its output schema states (the client checked it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read by field for printing; the schema is the type
export type Structured = Record<string, any>;

export interface ToolOutcome {
  ok: boolean;
  /** The tool's structured result, or `{ error: { code, message, hint } }`. */
  structured: Structured;
  text: string;
}

export interface CliSession {
  config: Config;
  sandboxes: SandboxService;
  call(tool: string, args: Record<string, unknown>, onProgress?: (message: string) => void): Promise<ToolOutcome>;
  close(): Promise<void>;
}

/**
 * The command line talks to the same server the MCP clients do, in this process, through the SDK's in-memory
 * transport: every command is a tool call, so arguments, limits, ownership and error codes are the tools' own.
 * No background work (expiry sweep, warm pool) starts here.
 */
export async function openCliSession(env: NodeJS.ProcessEnv = process.env): Promise<CliSession> {
  const config = loadConfig(env);
  // People read this terminal: only warnings and errors, unless they asked for a level.
  const log: Logger = createLogger({ ...config.log, level: env.SANDBOX_LOG_LEVEL ? config.log.level : 'warn' });
  const provider = new DeferredProvider(config.provider, capabilitiesOf(config.provider), createProvider(config, log));
  await provider.ready;
  const { server, sandboxes, cleanup } = createServer({ config, provider, log });
  const client = new Client({ name: 'sandbox-mcp-cli', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  await client.listTools(); // so the client checks every result against the tool's output schema
  return {
    config,
    sandboxes,
    async call(tool, args, onProgress) {
      const result = (await client.callTool(
        { name: tool, arguments: args },
        undefined,
        // A run or an install can take as long as its own time limit: the server enforces those.
        { timeout: 24 * 3600 * 1000, ...(onProgress ? { onprogress: (p) => onProgress(p.message ?? '') } : {}) },
      )) as CallToolResult;
      const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      return { ok: !result.isError, structured: (result.structuredContent ?? {}) as Structured, text };
    },
    async close() {
      await client.close();
      await cleanup();
      log.flush();
    },
  };
}
