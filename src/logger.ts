import { chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

// pino is CommonJS. Required as such, Node does not first scan its source for named exports as it does for an ES
// `import` (4 to 5 ms of every start-up: 16.9 against 20.6 ms to load it, medians of 6 fresh nodes).
const { default: pino } = createRequire(import.meta.url)('pino') as typeof import('pino');

export type { Logger };

/**
 * Logs go to stderr (fd 2) or to a file, never to stdout: stdout is the MCP channel.
 * Secret-bearing fields are redacted by path as a second line of defence; the code never logs env values.
 */
export function createLogger(options: { level: string; file?: string }): Logger {
  const destination = options.file
    ? pino.destination({ dest: options.file, mkdir: true, sync: false, mode: 0o600 })
    : pino.destination({ fd: 2, sync: true });
  if (options.file) {
    // Made 0600 above; a file that existed before keeps its mode unless we tighten it.
    try {
      chmodSync(options.file, 0o600);
    } catch {
      // not there yet (opened asynchronously, with mode 0600) or not ours to change
    }
  }
  return pino(
    {
      level: options.level,
      base: { service: 'sandbox-mcp' },
      redact: {
        paths: ['env', 'envVars', 'env_vars', '*.env', '*.envVars', '*.env_vars', 'apiKey', '*.apiKey', 'E2B_API_KEY'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything, for tests and tools that do not care. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
