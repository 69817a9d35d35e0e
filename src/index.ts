#!/usr/bin/env node
import './heap-sizing.js'; // first: it sizes the heap before anything else is loaded
import { ConfigError, loadConfig } from './config.js';
import { isSandboxError } from './errors.js';
import { createLogger } from './logger.js';
import { DeferredProvider } from './providers/deferred-provider.js';
import { capabilitiesOf, createProvider } from './providers/index.js';
import { applyExitPolicy } from './sandbox/background/on-exit.js';
import { createServer } from './server.js';
import { maxMessageBytes } from './transport/message-limits.js';
import { StdioServerTransport } from './transport/stdio-transport.js';

/** Start-up failures are configuration problems the person installing us must fix: say what, on stderr. */
function fail(err: unknown): never {
  const message =
    err instanceof ConfigError
      ? err.message
      : isSandboxError(err)
        ? `${err.message} ${err.hint}`
        : `Start-up failed: ${(err as Error)?.stack ?? err}`;
  process.stderr.write(`sandbox-mcp: ${message}\n`);
  process.exit(1);
}

/**
 * Entry point: configuration, provider, server, stdio, signals. Nothing here writes to stdout. The backend loads
 * while the client initialises. A backend that cannot be reached does not stop the server: every call that needs
 * it answers PROVIDER_UNAVAILABLE with the fix, and works as soon as the backend is there.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.log);
  const provider = new DeferredProvider(config.provider, capabilitiesOf(config.provider), createProvider(config, log));
  const { server, sandboxes, cleanup } = createServer({ config, provider, log });

  let closing = false;
  let exitStatus = 0;
  // Every way out (signal, client gone, broken stdio) applies SANDBOX_ON_EXIT and records running work first.
  const shutdown = async (reason: string, status = 0) => {
    exitStatus = Math.max(exitStatus, status);
    if (closing) return;
    closing = true;
    log.info({ reason }, 'shutting down');
    await applyExitPolicy(sandboxes, config.onExit, log);
    await cleanup().catch((err: unknown) => log.error({ err }, 'cleanup failed'));
    log.flush();
    process.exit(exitStatus);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.stdin.on('close', () => void shutdown('stdin closed'));

  // Problems with one message (too large, not JSON) are answered and logged; the session goes on.
  server.onerror = (err) => log.warn({ err }, 'MCP protocol error');
  const transport = new StdioServerTransport({
    maxMessageBytes: maxMessageBytes(config.limits),
    onFatal: (err) => {
      // stdin or stdout broke: nothing more can be said to the client. Say why, then leave with an error.
      log.fatal({ err }, 'stdio transport failed; exiting');
      void shutdown('stdio transport failed', 1);
    },
  });
  await server.connect(transport);
  await provider.ready.catch(fail);
  sandboxes.startBackgroundWork(); // expiry sweep and warm pool; each retries while the backend is away
  log.info({ provider: provider.name, stateDir: config.stateDir }, 'sandbox MCP server ready on stdio');
  await provider.ping().catch((err: unknown) => {
    const why = isSandboxError(err) ? `${err.message} ${err.hint}` : String(err);
    log.warn(`${provider.name} backend not reachable yet: ${why} Tool calls answer PROVIDER_UNAVAILABLE until it is.`);
  });
}

const [command] = process.argv.slice(2);
if (command && command !== 'serve') {
  // A command for people (doctor, list, exec...): see src/cli/run-cli.ts.
  Promise.all([import('./cli/run-cli.js'), import('./terminal.js')])
    .then(async ([{ runCli }, { exitAfterOutput }]) => exitAfterOutput(await runCli(process.argv.slice(2))))
    .catch(fail);
} else {
  main().catch(fail);
}
