import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { isSandboxError } from '../errors.js';
import { SERVER_VERSION } from '../version.js';
import { openCliSession } from './cli-session.js';
import { commands, UsageError } from './commands.js';
import { print } from '../terminal.js';

function usage(): string {
  const lines = Object.values(commands).map((c) => `  sandbox-mcp ${c.usage}\n      ${c.summary}`);
  return [
    `sandbox-mcp ${SERVER_VERSION}: sandboxes for AI agents (MCP server over stdio, and this command line)`,
    '',
    'With no command it is the MCP server, speaking on stdin/stdout (what MCP clients launch).',
    '',
    'Commands (add --json for machine-readable output):',
    '  sandbox-mcp doctor',
    '      checks Node, the configuration, the backend, template images and the state folder',
    ...lines,
    '',
    'Configuration comes from the environment, as for the server (see .env.example).',
  ].join('\n');
}

/** The command line for people: one command, its exit status. Errors never show a stack trace. */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    print(`${usage()}\n`);
    return 0;
  }
  if (name === 'version' || name === '--version' || name === '-v') {
    print(`${SERVER_VERSION}\n`);
    return 0;
  }
  if (name === 'doctor') {
    const { runDoctor } = await import('../doctor/run-doctor.js');
    return runDoctor(rest);
  }
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`sandbox-mcp: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`sandbox-mcp ${name}: ${(err as Error).message}\nusage: sandbox-mcp ${command.usage}\n`);
    return 2;
  }
  let session;
  try {
    session = await openCliSession();
    return await command.run(session, {
      positionals: parsed.positionals,
      values: parsed.values as Record<string, string | boolean | undefined>,
      json: parsed.values.json === true,
    });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sandbox-mcp ${name}: ${err.message}\n`);
      return 2;
    }
    const message =
      err instanceof ConfigError
        ? err.message
        : isSandboxError(err)
          ? `${err.code}: ${err.message} ${err.hint}`
          : `${(err as Error).message ?? err}`;
    process.stderr.write(`sandbox-mcp ${name}: ${message}\n`);
    return 1;
  } finally {
    await session?.close().catch(() => undefined);
  }
}
