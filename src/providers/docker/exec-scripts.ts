import { RUN_ID_VAR } from '../shared/run-protocol.js';

/**
 * Shell scripts of the one-exec-per-run path (images without python3, where the run agent cannot run). They
 * only use POSIX sh, grep, cut, cat, mktemp and mkfifo, which minimal images have.
 */

const marker = (fd: number) => `printf "\\n%s:%s\\n" "$${RUN_ID_VAR}" "$rc" >&${fd};`;

/**
 * RUN_WRAPPER's contract (cd to $1, run the rest as argv, the exit marker on both streams), with the program's
 * output going through two relays: a process the run leaves in the background writes into them, never into the
 * exec's streams, which close when the server hangs up after the marker. The relays ignore SIGPIPE and, once the
 * exec's streams are gone, read on into /dev/null until the last writer exits; so background processes live on
 * whether they print or not. Without mkfifo (or a writable /tmp) the program writes to the exec's streams directly.
 */
export const EXEC_WRAPPER = [
  'if ! cd -- "$1" 2>/dev/null; then printf "working directory %s does not exist or is not a directory\\n" "$1" >&2; rc=2;',
  `${marker(1)} ${marker(2)} exit "$rc"; fi; shift;`,
  'd=$(mktemp -d 2>/dev/null) && mkfifo "$d/o" "$d/e" 2>/dev/null && {',
  '(trap "" PIPE; cat 2>/dev/null; exec cat >/dev/null 2>&1) <"$d/o" &',
  '(trap "" PIPE; cat 2>/dev/null; exec cat >/dev/null 2>&1) <"$d/e" >&2 &',
  'exec 3>"$d/o" 4>"$d/e"; rm -rf "$d"; } || exec 3>&1 4>&2;',
  '"$@" >&3 2>&4 3>&- 4>&-; rc=$?;',
  `${marker(3)} ${marker(4)} exit "$rc"`,
].join(' ');

/** The init Docker puts in every container started with `Init: true` (tini). */
export const DOCKER_INIT = '/sbin/docker-init';

/**
 * Runs "$@" under the container's tini as child subreaper (`-s`), when there is one and the kernel lets it be one:
 * processes of the run that double-fork or leave its session are reparented to it instead of the container's init,
 * so the kill sweep (shared/kill-sweep.ts) finds them as its descendants whatever they do to their environment.
 * gVisor has no child subreaper (tini exits 1 at once, "PR_SET_CHILD_SUBREAPER is unavailable"), so tini is tried
 * first with `true`; without it the sweep finds the run by its ID in the environment and by ancestry.
 */
export const SUBREAPED = `if [ -x ${DOCKER_INIT} ] && ${DOCKER_INIT} -s -- true >/dev/null 2>&1; then exec ${DOCKER_INIT} -s -- "$@"; fi; exec "$@"`;
