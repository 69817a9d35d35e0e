import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { DeferredProvider } from '../providers/deferred-provider.js';
import { capabilitiesOf, createProvider } from '../providers/index.js';
import type { SandboxService } from '../sandbox/sandbox-service.js';
import { createServer } from '../server.js';
import type { ToolErrorShape, ToolName, ToolOutput } from '../tools/tool-types.js';

/**
 * A tool's outcome: its structured result, typed from its output schema (the client checked it against that
 * schema), or the error shape `{ error: { code, message, hint } }`; and its text.
 */
export type ToolOutcome<N extends ToolName = ToolName> =
  { ok: true; structured: ToolOutput<N>; text: string } | { ok: false; structured: ToolErrorShape; text: string };

export interface CliSession {
  config: Config;
  sandboxes: SandboxService;
  /** Arguments go as people typed them: the tool checks them against its schema and answers INVALID_ARGUMENT. */
  call<N extends ToolName>(
    tool: N,
    args: Record<string, unknown>,
    onProgress?: (message: string) => void,
  ): Promise<ToolOutcome<N>>;
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
  // Ajv, named here: the build keeps the SDK's default validator (and Ajv) out of the server's own chunk.
  const client = new Client(
    { name: 'sandbox-mcp-cli', version: '1.0.0' },
    { jsonSchemaValidator: new AjvJsonSchemaValidator() },
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  await client.listTools(); // so the client checks every result against the tool's output schema
  return {
    config,
    sandboxes,
    async call<N extends ToolName>(tool: N, args: Record<string, unknown>, onProgress?: (message: string) => void) {
      const result = (await client.callTool(
        { name: tool, arguments: args },
        undefined,
        // A run or an install can take as long as its own time limit: the server enforces those.
        { timeout: 24 * 3600 * 1000, ...(onProgress ? { onprogress: (p) => onProgress(p.message ?? '') } : {}) },
      )) as CallToolResult;
      const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      // The one assertion: the client has validated the result against the schema these types come from.
      return { ok: !result.isError, structured: result.structuredContent ?? {}, text } as ToolOutcome<N>;
    },
    async close() {
      await client.close();
      await cleanup();
      log.flush();
    },
  };
}
