import { RUN_ID_VAR, shellQuote } from './run-protocol.js';

/**
 * The kill sweep: how every process of one run is ended, on every backend. Two implementations follow it:
 * KILL_SWEEP below (POSIX sh, for Docker's exec path and E2B) and `sweep_run` in docker/agent/agent.py (Python
 * that never forks, so that it works when a fork bomb has taken every pid). test/unit/kill-sweep.test.ts holds
 * both to one table of process trees.
 *
 * 1. The run's members are found in /proc, afresh at every round:
 *    - marked processes: those carrying the run's mark, which every process it starts inherits (the shell: the
 *      run ID in the environment, `SANDBOX_RUN_ID=<id>`; the agent without a subreaper: a supplementary group of
 *      the run's own), and those whose parent is the agent's supervisor (the run's subreaper);
 *    - when the caller knows the run's session ID, every member of that session (sudo resets the environment and
 *      the groups, but keeps the session);
 *    - every descendant of those, by PPid (/proc/<pid>/status is readable for every process, also a non-dumpable
 *      one, so a cleared environment or a dropped group does not hide a child);
 *    - never the sweep itself, never PID 1, never a zombie.
 * 2. Freeze: SIGSTOP every member that is not stopped yet, subreapers included, and look again, until a round
 *    finds every member stopped (at most 50 rounds). A stopped process neither forks nor exits, so once the tree
 *    is frozen no process can leave it by being orphaned, and a fork loop cannot outrun the sweep.
 * 3. Kill: SIGKILL every member but the subreapers, and look again; once only subreapers are left, SIGKILL them;
 *    until no member is left (the shell: at most 50 rounds; the agent: at most 30 s, reaping its children
 *    meanwhile). Subreapers go last because, while they live (stopped or not), the orphans of killed members go
 *    to them and so stay in the run's tree. The shell takes a member named `docker-init` for one (tini, which
 *    Docker's exec path puts above the run); a run's own process that takes that name is frozen like the rest, so
 *    it cannot fork, and is only killed last. The agent has no subreaper in the tree (its supervisor, outside the
 *    tree, is the run's), so it spares no member.
 *
 * The mark and the session are the caller's knowledge: Docker's exec path passes the run ID (it runs the sweep
 * as the run's user, who can read the environment of the run's processes only), E2B passes the run ID and the
 * session ID (it runs the sweep as root, which also reads sudo's), the agent its group and its children. What
 * escapes: only a process that dropped every mark the caller can see and was orphaned outside a subreaper
 * (SECURITY.md says which, per backend).
 */
export const KILL_SWEEP = `
id=$1; sid=\${2-}
[ -n "$id" ] || exit 2
scan() {
  marked=" "
  for f in $(grep -lsxzF "${RUN_ID_VAR}=$id" /proc/[0-9]*/environ 2>/dev/null); do
    f=\${f#/proc/}; marked="$marked\${f%/environ} "
  done
  table=""; tree=" "; reapers=" "; stopped=" "
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    [ "$p" = "$$" ] || [ "$p" = 1 ] && continue
    nm=""; st=""; pp=""; ss=""
    while read -r k v _; do
      case "$k" in
        Name:) nm=$v ;;
        State:) st=$v ;;
        PPid:) pp=$v; [ -z "$sid" ] && break ;;
        NSsid:) ss=$v; break ;;
      esac
    done < "$d/status"
    [ -z "$pp" ] || [ "$st" = Z ] || [ "$st" = X ] && continue
    table="$table $p:$pp"
    case "$marked" in
      *" $p "*) tree="$tree$p " ;;
      *) [ -n "$sid" ] && [ "$ss" = "$sid" ] && tree="$tree$p " ;;
    esac
    [ "$nm" = docker-init ] && reapers="$reapers$p "
    case "$st" in T|t) stopped="$stopped$p " ;; esac
  done
  grow=1
  while [ "$grow" = 1 ]; do
    grow=0
    for e in $table; do
      p=\${e%%:*}
      case "$tree" in *" $p "*) continue ;; *" \${e#*:} "*) tree="$tree$p "; grow=1 ;; esac
    done
  done
  members=""; last=""; fresh=""
  for p in $tree; do
    case "$stopped" in *" $p "*) ;; *) fresh="$fresh $p" ;; esac
    case "$reapers" in *" $p "*) last="$last $p"; continue ;; esac
    members="$members $p"
  done
}
i=0
while [ "$i" -lt 50 ]; do
  scan
  [ -z "$fresh" ] && break
  kill -STOP $fresh
  i=$((i+1))
done 2>/dev/null
i=0
while [ "$i" -lt 50 ]; do
  scan
  [ -z "$members$last" ] && exit 0
  if [ -n "$members" ]; then kill -KILL $members; else kill -KILL $last; fi
  i=$((i+1))
done 2>/dev/null
exit 1
`;

/** Who a sweep is for: the run's ID and, where the caller knows it, the run's session ID. */
export interface SweepTarget {
  runId: string;
  sessionId?: number;
}

/** The argv that runs the sweep: `sh -c KILL_SWEEP sandbox-kill <run id> [<session id>]`. */
export const killSweepArgv = ({ runId, sessionId }: SweepTarget): string[] => [
  'sh',
  '-c',
  KILL_SWEEP,
  'sandbox-kill',
  runId,
  ...(sessionId !== undefined ? [String(sessionId)] : []),
];

/** The same as one command line, for backends that take a shell command (E2B's envd). */
export const killSweepCommand = (target: SweepTarget): string => killSweepArgv(target).map(shellQuote).join(' ');
