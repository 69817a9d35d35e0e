import { chmodSync } from 'node:fs';
import pino, { type Logger } from 'pino';

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
