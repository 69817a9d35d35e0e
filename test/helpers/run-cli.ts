import { execFile } from 'node:child_process';
import { assertBuilt, SERVER_ENTRY } from './stdio-server.js';
import { spawnEnv } from './test-config.js';

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary with a command, as a person would in a terminal, with only these variables. */
export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliRun> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [SERVER_ENTRY, ...args],
      {
        env: spawnEnv(env),
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}
