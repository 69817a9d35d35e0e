import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Logs go to stderr (fd 2) or to a file, never to stdout: stdout is the MCP channel.
 * Secret-bearing fields are redacted by path as a second line of defence; the code never logs env values.
 */
export function createLogger(options: { level: string; file?: string }): Logger {
  const destination = options.file
    ? pino.destination({ dest: options.file, mkdir: true, sync: false })
    : pino.destination({ fd: 2, sync: true });
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
