import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import AGENT_SOURCE from '../../src/providers/docker/agent/agent.py';
import { killSweepArgv } from '../../src/providers/shared/kill-sweep.js';
import { RUN_ID_VAR } from '../../src/providers/shared/run-protocol.js';
import {
  hasPython,
  killProcessesWith,
  processesWith,
  startHostAgent,
  until,
  type HostAgent,
} from '../helpers/host-processes.js';

// The kill sweep (src/providers/shared/kill-sweep.ts) has two implementations: the shell's KILL_SWEEP (Docker's
// exec path, E2B) and agent.py's sweep_run. Both are held here to one table of process trees, on this host,
// without a sandbox: each tree is started by the test, its processes carry a token of their own on their command
// line (the number of seconds they sleep), and the sweep gets a run id (or group, or session) only they carry.

/** What ties a process to its run, as far as a sweep can see. */
type Tie = 'environment' | 'ancestry' | 'session' | 'subreaper' | 'group';

interface Tree {
  name: string;
  /** The run's program, `$T` standing for the tree's token. */
  script: string;
  /** How many `sleep $T` are running once the tree is up. */
  sleeps: number;
  /** What still ties every process of the tree to the run. */
  ties: Tie[];
  /** Only root can build it. */
  root?: boolean;
}

/** Every tree stays under a subreaper and, unless it says otherwise, keeps its supplementary groups. */
const ties = (tree: Tree): Tie[] => [...tree.ties, ...(tree.root ? [] : (['subreaper', 'group'] as const))];

const TREES: Tree[] = [
  {
    name: 'a background child',
    script: 'sleep $T & sleep $T',
    sleeps: 2,
    ties: ['environment', 'ancestry', 'session'],
  },
  {
    name: 'a child in a session of its own',
    script: 'setsid sleep $T & sleep $T',
    sleeps: 2,
    ties: ['environment', 'ancestry'],
  },
  {
    name: 'a child with its environment cleared',
    script: 'env -i sleep $T & sleep $T',
    sleeps: 2,
    ties: ['ancestry', 'session'],
  },
  { name: 'a double fork', script: '( sleep $T & ); sleep $T', sleeps: 2, ties: ['environment', 'session'] },
  {
    name: 'a child that ignores SIGTERM, SIGINT and SIGHUP',
    script: 'sh -c \'trap "" TERM INT HUP; sleep $0 & wait\' $T & sleep $T',
    sleeps: 2,
    ties: ['environment', 'ancestry', 'session'],
  },
  {
    // Orphans keep appearing while the sweep runs; bounded, so that a failing sweep cannot flood the host.
    name: 'a fork loop',
    script: 'i=0; while [ $i -lt 600 ]; do ( sleep $T & ); i=$((i+1)); done; sleep $T',
    sleeps: 20,
    ties: ['environment', 'session'],
  },
  {
    // Children that only their ancestry ties to the run: one forked after the sweep looked, whose parent is then
    // killed, would be lost, unless the sweep freezes the tree first.
    name: 'a fork loop of children that clear their environment and leave the session',
    script: 'i=0; while [ $i -lt 600 ]; do setsid env -i sleep $T & i=$((i+1)); done; sleep $T',
    sleeps: 20,
    ties: ['ancestry'],
  },
  {
    // A sweep that spared processes by their name (tini's) would never freeze this one, which forks for ever.
    name: 'a process that calls itself docker-init and forks for ever',
    script:
      'd=$(mktemp -d) && cp /bin/sh "$d/docker-init" && "$d/docker-init" -c \'while :; do sleep $0 & sleep 0.05; done\' $T & sleep $T',
    sleeps: 5,
    ties: ['environment', 'ancestry', 'session'],
  },
  {
    // What sudo does: a cleared environment, in the run's session; its parent gone.
    name: 'a double fork with its environment cleared, in the run session (like sudo)',
    script: '( env -i sleep $T & ); sleep $T',
    sleeps: 2,
    ties: ['session'],
  },
  {
    name: 'a double fork that cleared its environment and left the session',
    script: '( setsid env -i sleep $T & ); sleep $T',
    sleeps: 2,
    ties: [],
  },
  {
    // Also what sudo (and apt) do as root: drop the supplementary groups, the run's own included.
    name: 'a double fork that dropped its groups, in the run session (as sudo does, as root)',
    script: '( setpriv --clear-groups env -i sleep $T & ); sleep $T',
    sleeps: 2,
    ties: ['session', 'subreaper'],
    root: true,
  },
];

interface Sweeper {
  name: string;
  /** What this sweep finds a process by. */
  finds: Tie[];
  skip?: string;
  /** Starts `sh -c script` as the run and, once its processes are up, `kill()` ends it. */
  start(script: string): { kill(): Promise<void> };
}

let runs = 0;
const runId = () => `sweep-test-${process.pid}-${++runs}`;
const isRoot = process.getuid?.() === 0;
const hostDockerInit = ['/sbin/docker-init', '/usr/bin/docker-init'].find((path) => existsSync(path));

/** The shell sweep over the tree `root` heads, with what its caller knows; resolves once the sweep has exited. */
async function shellSweep(root: ChildProcess, target: Parameters<typeof killSweepArgv>[0]): Promise<void> {
  const [command, ...args] = killSweepArgv(target);
  const sweep = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sweep.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => sweep.on('close', (c) => resolve(c)));
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' }); // 0: nothing of the run is left
  if (root.exitCode === null && root.signalCode === null) await new Promise((resolve) => root.on('exit', resolve));
}

const agents: HostAgent[] = [];

/** agent.py's kill over its protocol: a root run here (the tests run as root in CI), then `kill`, then `killed`. */
function agentSweeper(agent: () => HostAgent) {
  return (script: string) => {
    const running = agent();
    agents.push(running);
    const id = runId();
    running.send({ op: 'run', id, argv: ['sh', '-c', script], env: {}, cwd: '/tmp', uid: 0, gid: 0 });
    return {
      kill: async () => {
        running.send({ op: 'kill', id });
        await running.next((e) => 'id' in e && e.id === id && e.ev === 'killed');
      },
    };
  };
}

/** gVisor's answer to PR_SET_CHILD_SUBREAPER (EINVAL), given on this host by asking for an option that is none. */
const AGENT_WITHOUT_SUBREAPER = AGENT_SOURCE.replace('PR_SET_CHILD_SUBREAPER = 36', 'PR_SET_CHILD_SUBREAPER = -1');

const SWEEPERS: Sweeper[] = [
  {
    name: 'the shell sweep by run id, no subreaper (Docker exec path under gVisor)',
    finds: ['environment', 'ancestry'],
    start: (script) => {
      const id = runId();
      const root = spawn('sh', ['-c', script], { env: { ...process.env, [RUN_ID_VAR]: id }, stdio: 'ignore' });
      return { kill: () => shellSweep(root, { runId: id }) };
    },
  },
  {
    name: 'the shell sweep by run id, under docker-init -s (Docker exec path)',
    finds: ['environment', 'ancestry', 'subreaper'],
    skip: hostDockerInit ? undefined : 'no docker-init on this host',
    start: (script) => {
      const id = runId();
      const root = spawn(hostDockerInit!, ['-s', '--', 'sh', '-c', script], {
        env: { ...process.env, [RUN_ID_VAR]: id },
        stdio: 'ignore',
      });
      return { kill: () => shellSweep(root, { runId: id }) };
    },
  },
  {
    name: 'the shell sweep by run id and session (E2B)',
    finds: ['environment', 'ancestry', 'session'],
    start: (script) => {
      const id = runId();
      // detached: the run leads a session of its own, as E2B's `setsid` wrapper does.
      const root = spawn('sh', ['-c', script], {
        env: { ...process.env, [RUN_ID_VAR]: id },
        stdio: 'ignore',
        detached: true,
      });
      return { kill: () => shellSweep(root, { runId: id, sessionId: root.pid! }) };
    },
  },
  {
    name: "agent.py's sweep, with a child subreaper (runc)",
    finds: ['subreaper', 'session', 'ancestry'],
    skip: hasPython ? undefined : 'no python3 on this host',
    start: agentSweeper(() => startHostAgent()),
  },
  {
    name: "agent.py's sweep, with the run's group instead of a subreaper (gVisor)",
    finds: ['group', 'session', 'ancestry'],
    skip: !hasPython ? 'no python3 on this host' : !isRoot ? 'the run group needs root' : undefined,
    start: agentSweeper(() => startHostAgent(AGENT_WITHOUT_SUBREAPER)),
  },
];

let tokens = 0;
/** A number of seconds no other process on this host sleeps. */
const newToken = () => `9${process.pid}${String(++tokens).padStart(4, '0')}`;
const used: string[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
  for (const token of used.splice(0)) killProcessesWith(token); // only what a failed test left behind
});

describe.each(SWEEPERS)('$name', (sweeper) => {
  // A tree is only a case for a sweep that can see what still ties it to its run: the rest escape (SECURITY.md).
  const cases = TREES.filter((tree) => (isRoot || !tree.root) && ties(tree).some((tie) => sweeper.finds.includes(tie)));

  it.skipIf(sweeper.skip !== undefined).each(cases)('kills every process of $name', async (tree) => {
    const token = newToken();
    used.push(token);
    const run = sweeper.start(tree.script.replaceAll('$T', token));
    await until(
      () => processesWith(token).filter((p) => p.words[0] === 'sleep').length >= tree.sleeps,
      `the tree of ${tree.name} is up`,
    );
    if (sweeper.finds.includes('group') && !tree.root) {
      // The path under test: the run's processes carry a group of their own (agent.py's RUN_GROUP_BASE and up).
      const groups = processesWith(token).map((p) => p.status.Groups!.split(/\s+/).map(Number));
      expect(groups.every((g) => g.some((n) => n >= 0x60000000))).toBe(true);
    }
    await run.kill();
    expect(processesWith(token).map((p) => p.words.join(' '))).toEqual([]);
  });
});

it('simulates gVisor by a source change that took', () => {
  expect(AGENT_WITHOUT_SUBREAPER).not.toBe(AGENT_SOURCE);
});
