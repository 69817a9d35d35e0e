import type { Language } from './templates.js';

/** What the agent learns of how a run ended, beyond its exit code. */
export interface RunFacts {
  status: 'completed' | 'failed' | 'timeout' | 'cancelled';
  exitCode: number | null;
  timeoutS: number;
  memoryMb: number;
  language: Language;
  /** The language was the template's default, not asked for. */
  languageDefaulted: boolean;
  stdout: string;
  stderr: string;
}

/** The language a line of code (or its first word) is written in, when that is plain to see. */
function languageOfLine(line: string): Language | undefined {
  const l = line.trim();
  if (
    /^(import [\w.]+( as \w+)?(, *[\w.]+)*$|from [\w.]+ import |def \w+\(|print\(|elif |class \w+(\(.*\))?:$|if __name__)/.test(
      l,
    ) ||
    /^(import|from|def|print|elif)$/.test(l)
  )
    return 'python';
  if (
    /^(const |let |var |console\.|function[ (]|require\(|import .* from ['"]|export (default|const|function))/.test(
      l,
    ) ||
    /^(const|let|var|console\.log|function|require)$/.test(l)
  )
    return 'javascript';
  if (/^(echo|ls|cd|apt|apt-get|npm|npx|pip|pip3|curl|wget|export|cat|mkdir|rm|sudo|git|touch|chmod)( |$)/.test(l))
    return 'bash';
  return undefined;
}

const family = (l: Language): string => (l === 'sh' || l === 'bash' ? 'shell' : l === 'typescript' ? 'javascript' : l);

/** The lines an interpreter's error points at: a shell's "X: not found", Python's and node's echoed source line. */
function offendingLines(output: string): string[] {
  const found: string[] = [];
  for (const m of output.matchAll(/: (?:line )?\d+: ([^\s:]+): (?:command )?not found/g)) found.push(m[1]!);
  for (const m of output.matchAll(/: line \d+: `(.*)'$/gm)) found.push(m[1]!);
  for (const m of output.matchAll(/File "<string>", line \d+\n {4}(.*)\n/g)) found.push(m[1]!);
  for (const m of output.matchAll(/NameError: name '(\w+)' is not defined/g)) found.push(m[1]!);
  for (const m of output.matchAll(/^\[eval\]:\d+\n(.*)\n/gm)) found.push(m[1]!);
  for (const m of output.matchAll(/ReferenceError: (\w+) is not defined/g)) found.push(m[1]!);
  return found;
}

/** When the output says the code and the interpreter do not match: the language the code looks written in. */
export function wrongInterpreter(ran: Language, output: string): Language | undefined {
  for (const line of offendingLines(output)) {
    const looksLike = languageOfLine(line);
    if (looksLike && family(looksLike) !== family(ran)) return looksLike;
  }
  return undefined;
}

/** A process could not be started: the sandbox's process table (pids limit) is full. */
const OUT_OF_PROCESSES =
  /pids limit reached|no process left to start|fork: (retry: )?Resource temporarily unavailable|Cannot fork|can't fork|BlockingIOError: \[Errno 11\]|EAGAIN.*spawn|spawn .*EAGAIN|Resource temporarily unavailable/;

export function hintFor(f: RunFacts): string | undefined {
  if (f.status === 'cancelled') return 'The run was cancelled; its processes were killed.';
  if (f.status === 'timeout') {
    return `The run was killed after ${f.timeoutS}s with all its processes. Pass a larger timeout, or start long jobs with background: true and follow them with sandbox_logs.`;
  }
  const output = `${f.stderr}\n${f.stdout}`;
  if (f.status === 'failed' && OUT_OF_PROCESSES.test(output)) {
    return 'The sandbox is out of processes (its pids limit is reached: a runaway or backgrounded process keeps forking). Call sandbox_configure with restart: true to kill every process and start it again (files and variables are kept).';
  }
  if (f.status === 'failed') {
    const looksLike = wrongInterpreter(f.language, output);
    if (looksLike) {
      return `The code looks like ${looksLike === 'bash' ? 'shell commands' : looksLike} but ran as ${f.language}${f.languageDefaulted ? " (the template's default language)" : ''}. Pass language: "${looksLike}" to sandbox_execute.`;
    }
  }
  if (f.exitCode === 137) {
    return `The process was killed (SIGKILL), most likely for going over the sandbox's memory limit of ${f.memoryMb} MB. Use less memory, or create a sandbox with a larger memory_mb.`;
  }
  if (f.exitCode === 127) return 'Command not found: install it with sandbox_configure install_packages.';
  return undefined;
}
