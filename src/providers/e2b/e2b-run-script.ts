import { RUN_ID_VAR, RUN_WRAPPER, shellQuote } from '../shared/run-protocol.js';

/**
 * How one run is laid out for envd. The SDK always starts `/bin/bash -l -c <command>`, and envd owns the
 * command's pipes: it closes them at the command's deadline or when it is killed
 * (e2b-dev/infra packages/envd/internal/services/process/handler/handler.go, `Wait` and `SendSignal`), which
 * kills any background process still writing to them with SIGPIPE. So:
 *
 * - the program writes to two fifos, relayed to envd's pipes by `tee -p /dev/null` (tee -p ignores SIGPIPE and
 *   keeps copying to /dev/null once envd's pipe is gone), so a server left running by the run keeps running,
 *   whether it prints or not, and nothing envd does reaches it; its later output goes nowhere;
 * - the run wrapper (run-protocol.ts) is started by `setsid`, so the run has a session of its own whose id is
 *   the PID envd reports (envd's process execs into it), and the kill sweep finds its processes even when sudo
 *   reset their environment;
 * - the variables we are given reach the program as given: they travel under neutral names (`__sbx<i>`) and are
 *   exported after the login profile has run (Debian's /etc/profile resets PATH under `bash -l`), last of all,
 *   so that no name (`PATH`, `IFS`, one of our own) can change what the script does;
 * - the program's arguments (the code itself, for runners) travel as a NUL-separated file when they are large,
 *   since the whole command is one execve argument (at most 128 KiB); small ones are quoted inline.
 *
 * The command text holds no values of variables (envd logs it) and no user code when that is large.
 */

/** Above this many bytes of quoted arguments, they travel as a file. */
export const INLINE_ARGV_LIMIT = 32 * 1024;

export interface RunScriptInput {
  runId: string;
  /** Working directory, then the program and its arguments. */
  argv: string[];
  env: Record<string, string>;
  /** Paths of the files already in the sandbox (written by the caller), or undefined when not used. */
  argvFile?: string;
  stdinFile?: string;
  /** Appended to PATH once the variables are set (user runs: the home's npm tools, as on Docker). */
  pathSuffix?: string;
}

export interface RunScript {
  command: string;
  /** envd's `envs` for the command: the values, under neutral names. */
  envs: Record<string, string>;
}

/** Where a run's files live in the sandbox. */
export const runFilesBase = (runId: string): string => `/tmp/.sandbox-run-${runId}`;

/** The argv as it must be written to the file: NUL-terminated words. */
export const argvFileContent = (argv: string[]): Buffer => Buffer.from(argv.map((w) => `${w}\0`).join(''), 'utf8');

/** Whether the words are too large to be quoted into the command line. */
export const argvNeedsFile = (argv: string[]): boolean =>
  argv.reduce((n, w) => n + shellQuote(w).length + 1, 0) > INLINE_ARGV_LIMIT;

export function runScript(input: RunScriptInput): RunScript {
  const base = runFilesBase(input.runId);
  const names = Object.keys(input.env);
  const envs = Object.fromEntries(names.map((name, i) => [`__sbx${i}`, input.env[name]!]));
  // Whatever names the variables have, nothing below may read a shell variable once they are exported: what
  // runs next is in the positional parameters, with setsid and sh found before the given PATH applies.
  const lines: string[] = [
    input.argvFile
      ? `mapfile -d '' -t __sbx_a < ${shellQuote(input.argvFile)} && rm -f ${shellQuote(input.argvFile)} || exit 125`
      : `__sbx_a=(${input.argv.map(shellQuote).join(' ')})`,
    `set -- "$(command -v setsid)" "$(command -v sh)" -c ${shellQuote(RUN_WRAPPER)} sandbox-run "\${__sbx_a[@]}"; unset __sbx_a`,
    input.stdinFile
      ? `exec < ${shellQuote(input.stdinFile)}; rm -f ${shellQuote(input.stdinFile)}`
      : 'exec < /dev/null',
    `export ${RUN_ID_VAR}=${input.runId}`,
    `__sbx_d=${base}.d; mkdir -m 700 "$__sbx_d" && mkfifo "$__sbx_d/o" "$__sbx_d/e" || exit 125`,
    'tee -p /dev/null < "$__sbx_d/o" &',
    'tee -p /dev/null < "$__sbx_d/e" >&2 &',
    'exec > "$__sbx_d/o" 2> "$__sbx_d/e"; rm -rf "$__sbx_d"; unset __sbx_d',
  ];
  if (names.length) {
    // One `export`: every value is expanded before any is assigned, whatever the names.
    lines.push(`export ${names.map((name, i) => `${name}="$__sbx${i}"`).join(' ')}`);
    const carriers = names.map((_, i) => `__sbx${i}`).filter((c) => !names.includes(c));
    if (carriers.length) lines.push(`unset ${carriers.join(' ')}`);
  }
  // An assignment: neither IFS nor any other variable given can change what it does.
  if (input.pathSuffix) lines.push(`PATH="$PATH:"${shellQuote(input.pathSuffix)}; export PATH`);
  lines.push('exec "$@"');
  return { command: lines.join('\n'), envs };
}
