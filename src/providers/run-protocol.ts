/** Every process of a run carries this variable, so that all of them can be found and killed. */
export const RUN_ID_VAR = 'SANDBOX_RUN_ID';

/**
 * A shell script (`sh -c KILL_SWEEP sweep <run id>`) that kills every process whose environment carries the run's
 * id, over several rounds so that processes forked meanwhile are caught too. It must run as the run's own user:
 * reading another user's /proc/<pid>/environ needs CAP_SYS_PTRACE. (agent.py carries the same script.)
 */
export const KILL_SWEEP = [
  'i=0; while [ "$i" -lt 50 ]; do',
  `pids=$(grep -lsxzF "${RUN_ID_VAR}=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3);`,
  '[ -z "$pids" ] && exit 0; kill -9 $pids 2>/dev/null; i=$((i+1)); done',
].join(' ');

/**
 * Runs "$@" in the working directory given as $1, then prints the exit marker (see exit-marker.ts) on both
 * streams. The program's arguments arrive as argv, never through shell quoting.
 */
export const RUN_WRAPPER = [
  'if cd -- "$1" 2>/dev/null; then shift; "$@"; rc=$?;',
  'else printf "working directory %s does not exist or is not a directory\\n" "$1" >&2; rc=2; fi;',
  `printf "\\n%s:%s\\n" "$${RUN_ID_VAR}" "$rc"; printf "\\n%s:%s\\n" "$${RUN_ID_VAR}" "$rc" >&2; exit "$rc"`,
].join(' ');

/** Quotes a word for POSIX shells: any string, without expansion. */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
