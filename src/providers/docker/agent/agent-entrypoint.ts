import { ROOT_RUN_ENV, SANDBOX_HOME, USER_PATH_SUFFIX } from '../../shared/base-env.js';
import AGENT_SOURCE from './agent.py';

/** Written by the first start's entrypoint: later starts (a restart) only idle, and runs get an exec'd agent. */
const STARTED_MARKER = '/.sandbox-agent-started';

/** The line the entrypoint prints when no agent runs (or it has exited): the attached session stops waiting. */
export const AGENT_GONE_LINE = '{"ev":"gone"}';

/** Both loaders' first line (tests and people find the agent's processes by it) and their last (runs the source). */
const LOADER_MARK = '# sandbox-mcp run agent: its source is the first line of stdin';
const RUN_SOURCE_FROM_STDIN = 'exec(compile(json.loads(sys.stdin.buffer.readline()), "agent.py", "exec"))';

/**
 * What the container's command runs: PREPARE_SCRIPT's work (lifecycle.ts; keep the two in step) done in Python, no
 * process per step, in python3's first milliseconds; then the agent, whose source comes as the first line on stdin
 * (a JSON string), so that it is not in the container's configuration, which every listing and inspect of the
 * engine would carry back. If the preparation fails the loader exits before reading its source: the exec path then
 * runs PREPARE_SCRIPT itself and says why.
 */
const AGENT_LOADER = [
  LOADER_MARK,
  'import json, os, sys',
  'def prepare():',
  `    home = ${JSON.stringify(SANDBOX_HOME)}`,
  '    os.makedirs(home, exist_ok=True)',
  '    if os.stat(home).st_uid != 1000:',
  '        os.chown(home, 1000, 1000)',
  `    for path, entry in (("/etc/passwd", b"user:x:1000:1000:sandbox user:${SANDBOX_HOME}:/bin/sh\\n"), ("/etc/group", b"user:x:1000:\\n")):`,
  '        with open(path, "a+b") as f:',
  '            f.seek(0)',
  '            if not any(len(x) > 3 and x[2] == b"1000" for x in (line.split(b":") for line in f)):',
  '                f.write(entry)',
  'try:',
  '    prepare()',
  'except Exception:',
  '    sys.exit(90)',
  'del prepare',
  RUN_SOURCE_FROM_STDIN,
].join('\n');

/** The first line written on a loader's stdin: `source` as one JSON string. */
export const sourceLine = (source: string): string => `${JSON.stringify(source)}\n`;

/** The first line the server writes on the agent's stdin (see AGENT_LOADER and AGENT_STDIN_LOADER). */
export const AGENT_SOURCE_LINE = sourceLine(AGENT_SOURCE);

/**
 * python3's program for an agent started in an exec (AgentSession.start): its source, too, comes as the first line
 * on stdin, so that no process of the sandbox carries 25 KB of it in its command line (the agent, its spare
 * supervisors and their launchers are forks of one python3): a `ps` in the sandbox, or a listing of /proc, stays
 * readable and within a run's output limit.
 */
export const AGENT_STDIN_LOADER = [LOADER_MARK, 'import json, sys', RUN_SOURCE_FROM_STDIN].join('\n');

/**
 * The container's own command when the server attaches to it before its start (AgentSession.attach): on the first
 * start, the run agent as the main process, preparing the sandbox first (AGENT_LOADER), talking over the
 * container's stdin and stdout, so that the agent starts with the container instead of in an exec after it
 * (create → first output). It runs exactly as the exec'd agent does: root, `python3 -I -S` in `/`, with the same
 * arguments (its source comes on stdin). When the agent exits (its stdin closed: the server went away) or could
 * not start (no python3, the preparation failed: the exec path then prepares and says why), the container idles as
 * before. Restarts only idle: the marker is in `/`, which only root can write.
 */
export function agentEntrypoint(): string[] {
  const script = [
    'cd / || exit 1;',
    `if [ ! -e ${STARTED_MARKER} ] && : >${STARTED_MARKER} 2>/dev/null && command -v python3 >/dev/null 2>&1;`,
    'then python3 -I -S -u -c "$1" "$2" "$3"; fi;',
    `echo '${AGENT_GONE_LINE}'; exec sleep infinity`,
  ].join(' ');
  return ['sh', '-c', script, 'sandbox-agent', AGENT_LOADER, JSON.stringify(ROOT_RUN_ENV), USER_PATH_SUFFIX];
}
