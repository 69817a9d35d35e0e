import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { RateLimiter } from './rate-limiter.js';
import { SandboxService } from './sandbox/sandbox-service.js';
import { toolsFor } from './tools/index.js';
import { registerTools } from './tools/registry.js';
import type { SandboxProvider } from './providers/provider.js';
import type { TemplateCatalog } from './sandbox/templates.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

export interface ServerDeps {
  config: Config;
  provider: SandboxProvider;
  log: Logger;
  /** Defaults to the templates of templates/ and SANDBOX_TEMPLATES_DIR. */
  templates?: TemplateCatalog;
}

/**
 * Builds the MCP server around a provider, without a transport, so tests can connect it in memory. Background
 * work (expiry sweep, warm pool) starts with `sandboxes.startBackgroundWork()`.
 */
export function createServer(deps: ServerDeps): {
  server: Server;
  sandboxes: SandboxService;
  cleanup: () => Promise<void>;
} {
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'Sandboxes for AI agents' },
    {
      capabilities: { tools: {}, logging: {} },
      // The SDK validates only elicitation answers with it, which this server never asks for: no Ajv instance.
      jsonSchemaValidator: {
        getValidator: () => () => ({
          valid: false,
          data: undefined,
          errorMessage: 'This server does not elicit input.',
        }),
      },
      instructions:
        'Run code in isolated sandboxes: sandbox_create returns a sandbox_id; sandbox_execute runs code in it; sandbox_upload puts files in; sandbox_logs reads its history; sandbox_stop keeps its files; sandbox_delete removes it. Sandboxes expire after their lifetime.',
    },
  );
  const sandboxes = new SandboxService(deps.config, deps.provider, deps.log, deps.templates);
  registerTools(
    server,
    toolsFor(deps.config),
    { sandboxes, log: deps.log },
    new RateLimiter(deps.config.limits.callsPerMinute),
  );
  return {
    server,
    sandboxes,
    cleanup: async () => {
      await server.close();
      await sandboxes.close();
    },
  };
}
