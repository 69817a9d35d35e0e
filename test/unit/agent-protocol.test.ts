import { randomBytes } from 'node:crypto';
import AGENT_SOURCE from '../../src/providers/docker/agent/agent.py';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasPython, hostProcesses, startHostAgent, until, type HostAgent } from '../helpers/host-processes.js';

// The in-sandbox run agent (agent.py) spoken to directly, under this host's python3, without Docker: started the
// way agent-session.ts starts it in a sandbox (`python3 -I -S -u -c <source> <root env json> <path suffix>`), over its
// frames (a JSON line, then raw bytes when it says `n`), read and written with the server's own agent-frames.ts
// (test/helpers/host-processes.ts).

// Runs as whoever runs the tests (root in CI): the agent only switches users when it is root.
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

type Agent = HostAgent;
const agents: Agent[] = [];
/** Distinct sleep durations mark this file's processes in /proc (other test files run at the same time). */
const marker = (n: number) => `900.${process.pid}${n}`;
const markers: string[] = [];

function startAgent(): Agent {
  const agent = startHostAgent();
  agents.push(agent);
  return agent;
}

let runs = 0;
/** Starts `sh -c script` as the current user and returns its id. */
function run(agent: Agent, script: string, stdin?: Buffer): string {
  const id = `r${++runs}`;
  agent.send({ op: 'run', id, argv: ['sh', '-c', script], env: { GREETING: 'hello' }, cwd: '/tmp', uid, gid }, stdin);
  return id;
}

const exitOf = (agent: Agent, id: string) =>
  agent.next((e) => 'id' in e && e.id === id && e.ev === 'exit') as Promise<{ code: number }>;

/** The run's events in arrival order, output decoded. */
const eventsOf = (agent: Agent, id: string) =>
  agent.events.filter((e) => 'id' in e && e.id === id).map((e) => (e.ev === 'out' ? [e.s, e.body.toString()] : e.ev));

/** PIDs of live (not zombie) processes whose command line is `command`, read from /proc. */
function processesWith(command: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ').pop()!.split(' ')[0];
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (state !== 'Z' && cmdline === command) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
  // Nothing a failed test started outlives it.
  for (const text of markers.splice(0)) for (const pid of processesWith(`sleep ${text}`)) process.kill(pid, 'SIGKILL');
});

describe.skipIf(!hasPython)(
  `run agent protocol (agent.py under the host's python3, uid ${uid})${hasPython ? '' : ': skipped, no python3 on this host'}`,
  () => {
    it('says it is ready with its pid, then sends a run stdout and stderr in order, as raw bytes, and its exit code', async () => {
      const agent = startAgent();
      expect(await agent.next((e) => e.ev === 'ready')).toEqual({ ev: 'ready', pid: agent.child.pid });
      const id = run(
        agent,
        'echo "one $GREETING in $PWD"; sleep 0.2; echo two >&2; sleep 0.2; printf "\\377three"; exit 7',
      );
      expect(await exitOf(agent, id)).toMatchObject({ code: 7 });
      // A user run gets its variables and working directory; a root run (uid 0: this test as root) neither.
      const first = uid === 0 ? 'one  in /\n' : 'one hello in /tmp\n';
      expect(eventsOf(agent, id)).toEqual([[1, first], [2, 'two\n'], [1, '\ufffdthree'], 'exit']);
      // The bytes themselves, not their text: a frame's body carries what no JSON string can.
      const last = agent.events.filter((e) => 'id' in e && e.id === id && e.ev === 'out').pop() as { body: Buffer };
      expect(last.body).toEqual(Buffer.from([0xff, ...Buffer.from('three')]));
    });

    it('delivers stdin whole, also beyond a pipe buffer, and ends it', async () => {
      const agent = startAgent();
      const small = run(agent, 'cat', Buffer.from('hello\nworld'));
      const large = run(agent, 'wc -c', Buffer.alloc(1_000_000, 'x'));
      const none = run(agent, 'cat; echo "eof $?"');
      expect(await exitOf(agent, small)).toMatchObject({ code: 0 });
      expect(await exitOf(agent, large)).toMatchObject({ code: 0 });
      expect(await exitOf(agent, none)).toMatchObject({ code: 0 });
      expect(eventsOf(agent, small)).toEqual([[1, 'hello\nworld'], 'exit']);
      expect(eventsOf(agent, large)).toEqual([[1, '1000000\n'], 'exit']);
      expect(eventsOf(agent, none)).toEqual([[1, 'eof 0\n'], 'exit']);
    });

    it('carries any bytes both ways as they are: stdin in, output out, and the frames after them', async () => {
      const agent = startAgent();
      // Every byte value, newlines and JSON-looking text included, beyond a pipe buffer and a 64 KiB output piece.
      const bytes = Buffer.concat([Buffer.from('{"op":"kill","id":"x"}\n'), randomBytes(300_000), Buffer.from('\n\n')]);
      const echoed = run(agent, 'cat', bytes);
      const empty = run(agent, 'wc -c', Buffer.alloc(0));
      const after = run(agent, 'echo after');
      expect(await exitOf(agent, echoed)).toMatchObject({ code: 0 });
      expect(await exitOf(agent, empty)).toMatchObject({ code: 0 });
      expect(await exitOf(agent, after)).toMatchObject({ code: 0 });
      const out = agent.events.filter((e) => 'id' in e && e.id === echoed && e.ev === 'out') as { body: Buffer }[];
      expect(out.length).toBeGreaterThan(1);
      expect(Buffer.concat(out.map((e) => e.body)).equals(bytes)).toBe(true);
      expect(eventsOf(agent, empty)).toEqual([[1, '0\n'], 'exit']);
      expect(eventsOf(agent, after)).toEqual([[1, 'after\n'], 'exit']);
    });

    it('ends a killed run with its exit then `killed`, leaving none of its processes', async () => {
      const agent = startAgent();
      const [bg, left, main] = [marker(1), marker(2), marker(3)];
      markers.push(bg, left, main);
      const id = run(agent, `sleep ${bg} & ( setsid sleep ${left} & ); echo going; sleep ${main}; echo never`);
      await agent.next((e) => e.ev === 'out' && e.id === id);
      await until(
        () => processesWith(`sleep ${left}`).length === 1 && processesWith(`sleep ${bg}`).length === 1,
        'the run started its processes',
      );
      agent.send({ op: 'kill', id });
      await agent.next((e) => 'id' in e && e.id === id && e.ev === 'killed');
      expect(eventsOf(agent, id)).toEqual([[1, 'going\n'], 'exit', 'killed']);
      // `killed` comes once every process of the run is gone, its own session's and the one that left it.
      expect([bg, left, main].flatMap((m) => processesWith(`sleep ${m}`))).toEqual([]);
    });

    it('returns the exit of a run that left a background process without waiting for it, and leaves it running', async () => {
      const agent = startAgent();
      const bg = marker(4);
      markers.push(bg);
      // The background process keeps the run's stdout open.
      const id = run(agent, `sleep ${bg} & echo done`);
      expect(await exitOf(agent, id)).toMatchObject({ code: 0 });
      expect(eventsOf(agent, id)).toEqual([[1, 'done\n'], 'exit']);
      // Still running (the fork may not have reached its exec when the run's shell exited).
      await until(() => processesWith(`sleep ${bg}`).length === 1, 'the background process runs on');
      // The agent goes on serving other runs meanwhile.
      expect(await exitOf(agent, run(agent, 'exit 3'))).toMatchObject({ code: 3 });
    });

    it("forks a run's supervisor and launcher ahead when asked, and the program then only execs", async () => {
      const agent = startAgent();
      await agent.next((e) => e.ev === 'ready');
      const childrenOf = (pid: number) => hostProcesses().filter((p) => p.status.PPid === String(pid));
      // Asked for (a warm sandbox), before any run: one supervisor of the agent, with its launcher.
      agent.send({ op: 'spare' });
      await until(() => childrenOf(agent.child.pid!).length === 1, 'a spare supervisor');
      const supervisor = childrenOf(agent.child.pid!)[0]!.pid;
      await until(() => childrenOf(supervisor).length === 1, 'its launcher');
      const launcher = childrenOf(supervisor)[0]!.pid;
      // The program is the launcher itself, exec'd: a session of its own, stdin /dev/null when the run gives none,
      // SIGPIPE back to its default (Python ignores it, and an exec'd program would inherit that).
      const id = run(agent, 'echo "$$ $(cut -d" " -f6 /proc/$$/stat) $(readlink /proc/$$/fd/0)"; yes | head -n 1');
      expect(await exitOf(agent, id)).toMatchObject({ code: 0 });
      const output = eventsOf(agent, id).filter((e): e is [1 | 2, string] => Array.isArray(e));
      // All on stdout, nothing on stderr (an ignored SIGPIPE makes `yes` complain of a broken pipe).
      expect(output.filter(([stream]) => stream === 2)).toEqual([]);
      expect(output.map(([, text]) => text).join('')).toBe(`${launcher} ${launcher} /dev/null\ny\n`);
      // The next run's pair is made after this one's exit, and a program that cannot be run says why.
      await until(() => childrenOf(agent.child.pid!).some((p) => p.pid !== supervisor), 'the next spare');
      const missing = `r${++runs}`;
      agent.send({ op: 'run', id: missing, argv: ['no-such-program-here'], env: {}, cwd: '/tmp', uid, gid });
      expect(await exitOf(agent, missing)).toMatchObject({ code: 127 });
      expect(eventsOf(agent, missing)).toEqual([[2, 'no-such-program-here: No such file or directory\n'], 'exit']);
      // A request the launcher cannot even read (no program) fails the run with a reason, not an empty exit.
      const empty = `r${++runs}`;
      agent.send({ op: 'run', id: empty, argv: [], env: {}, cwd: '/tmp', uid, gid });
      expect(await exitOf(agent, empty)).toMatchObject({ code: 126 });
      expect(eventsOf(agent, empty)).toEqual([[2, expect.stringMatching(/^\(no program\): /)], 'exit']);
      // Two spares after a run (one for a run that follows at once, one for the run after it); they end with the
      // agent.
      await until(() => childrenOf(agent.child.pid!).length === 2, 'the spares after that run');
      const spares = [
        ...childrenOf(agent.child.pid!),
        ...childrenOf(agent.child.pid!).flatMap((p) => childrenOf(p.pid)),
      ];
      agent.child.stdin.end();
      await agent.closed;
      await until(() => spares.every((p) => !hostProcesses().some((q) => q.pid === p.pid)), 'the spares end');
    });

    it('makes no spare until a run or a request, and drops those made after a run once idle', async () => {
      const idle = AGENT_SOURCE.replace('SPARE_IDLE_SECONDS = 60', 'SPARE_IDLE_SECONDS = 0.5');
      expect(idle).not.toBe(AGENT_SOURCE);
      const agent = startHostAgent(idle);
      agents.push(agent);
      await agent.next((e) => e.ev === 'ready');
      const childrenOf = (pid: number) => hostProcesses().filter((p) => p.status.PPid === String(pid));
      // Before any run the agent is alone (an idle sandbox costs no more than its agent); the run forks its own.
      expect(childrenOf(agent.child.pid!)).toEqual([]);
      const first = run(agent, 'echo $$');
      expect(await exitOf(agent, first)).toMatchObject({ code: 0 });
      // After it, two spares; half a second without a run, and they are gone with their launchers.
      await until(() => childrenOf(agent.child.pid!).length === 2, 'the spares after the run');
      const spares = childrenOf(agent.child.pid!).map((p) => p.pid);
      await until(() => !hostProcesses().some((p) => spares.includes(p.pid)), 'the idle spares end', 5_000);
      expect(childrenOf(agent.child.pid!)).toEqual([]);
      // A run after that forks its own again and works as before.
      const second = run(agent, 'echo again');
      expect(await exitOf(agent, second)).toMatchObject({ code: 0 });
      expect(eventsOf(agent, second)).toEqual([[1, 'again\n'], 'exit']);
      // And the spares made after it go once idle too (the one thread that drops them waited without a deadline).
      await until(() => childrenOf(agent.child.pid!).length === 2, 'the spares after the second run');
      await until(() => childrenOf(agent.child.pid!).length === 0, 'the idle spares end again', 5_000);
    });

    it('fails a malformed run request alone and goes on serving', async () => {
      const agent = startAgent();
      await agent.next((e) => e.ev === 'ready');
      const bad = `r${++runs}`;
      agent.send({ op: 'run', id: bad, argv: ['true'], env: {}, cwd: '/tmp', uid: 'nobody', gid });
      expect(await exitOf(agent, bad)).toMatchObject({ code: 126 });
      expect(eventsOf(agent, bad)).toEqual([[2, expect.stringMatching(/^the run could not be started: /)], 'exit']);
      expect(await exitOf(agent, run(agent, 'exit 4'))).toMatchObject({ code: 4 });
    });

    it('kills every run still going when its stdin closes (the server went away)', async () => {
      const agent = startAgent();
      const [a, b] = [marker(5), marker(6)];
      markers.push(a, b);
      const first = run(agent, `sleep ${a} & echo going; sleep ${a}`);
      const second = run(agent, `( setsid sleep ${b} & ); echo going; sleep ${b}`);
      await agent.next((e) => e.ev === 'out' && e.id === first);
      await agent.next((e) => e.ev === 'out' && e.id === second);
      await until(
        () => processesWith(`sleep ${a}`).length === 2 && processesWith(`sleep ${b}`).length === 2,
        'runs going',
      );
      agent.child.stdin.end();
      await agent.closed;
      await until(
        () => processesWith(`sleep ${a}`).length + processesWith(`sleep ${b}`).length === 0,
        "the runs' processes end",
      );
    });
  },
);
