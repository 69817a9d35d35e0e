/** Every process of a run carries this variable, so that all of them can be found and killed. */
export const RUN_ID_VAR = 'SANDBOX_RUN_ID';

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
