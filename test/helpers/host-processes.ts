import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import AGENT_SOURCE from '../../src/providers/docker/agent/agent.py';
import { AGENT_STDIN_LOADER, sourceLine } from '../../src/providers/docker/agent/agent-entrypoint.js';
import { FrameReader, frameHeader } from '../../src/providers/docker/agent/agent-frames.js';

// Processes on this host, for tests that run sandbox-side code (agent.py, the kill sweep) without a sandbox.
// Other test files run at the same time: a test finds its processes by a token of its own on their command line
// and never touches any other.

export const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

/** A live (not zombie) process, read from /proc. */
export interface HostProcess {
  pid: number;
  /** The command line, its arguments split on whitespace. */
  words: string[];
  /** The fields of /proc/<pid>/status. */
  status: Record<string, string>;
}

export function hostProcesses(): HostProcess[] {
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = Object.fromEntries(
        readFileSync(`/proc/${name}/status`, 'utf8')
          .split('\n')
          .filter((line) => line.includes(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      if (/^[ZX]/.test(status.State ?? 'Z')) continue;
      const words = readFileSync(`/proc/${name}/cmdline`, 'utf8')
        .split(/[\0\s]+/)
        .filter(Boolean);
      found.push({ pid: Number(name), words, status });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Live processes with `token` as one word of their command line. */
export const processesWith = (token: string): HostProcess[] => hostProcesses().filter((p) => p.words.includes(token));

/** SIGKILLs every live process with `token` on its command line: what a failed test left behind. */
export function killProcessesWith(token: string): void {
  for (const { pid } of processesWith(token)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export type AgentEvent =
  | { ev: 'ready'; pid: number }
  | { id: string; ev: 'killed' }
  | { id: string; ev: 'out'; s: 1 | 2; n: number; body: Buffer }
  | { id: string; ev: 'exit'; code: number };

export interface HostAgent {
  child: ChildProcessWithoutNullStreams;
  events: AgentEvent[];
  /** Sends one frame: the message, then `body`'s raw bytes when there is one (agent-frames.ts). */
  send(message: object, body?: Buffer): void;
  /** Resolves with the first event (seen so far or to come) matching `match`. */
  next(match: (event: AgentEvent) => boolean): Promise<AgentEvent>;
  closed: Promise<void>;
  /** Ends the agent (its stdin, then SIGKILL) and waits for it. */
  stop(): Promise<void>;
}

/** Opaque to the agent: what it puts on top of its environment for root runs. */
const ROOT_ENV_JSON = JSON.stringify({
  HOME: '/root',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
});
/** Opaque to the agent: what it appends to PATH for user runs. */
export const PATH_SUFFIX = '/nonexistent/node_modules/.bin';

/**
 * agent.py under this host's python3, started the way agent-session.ts starts it in a sandbox
 * (`python3 -I -S -u -c <loader> <root env json> <path suffix>`, the source as the first line on stdin), spoken to
 * in its frames with the server's own agent-frames.ts. `source` replaces the agent's own.
 */
export function startHostAgent(source: string = AGENT_SOURCE): HostAgent {
  const child = spawn('python3', ['-I', '-S', '-u', '-c', AGENT_STDIN_LOADER, ROOT_ENV_JSON, PATH_SUFFIX], {
    stdio: 'pipe',
  });
  child.stdin.write(sourceLine(source));
  const events: AgentEvent[] = [];
  const waiters: { match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const frames = new FrameReader(({ header, body }) => {
    const event = (body ? { ...header, body } : header) as AgentEvent;
    events.push(event);
    for (const waiter of waiters.splice(0)) {
      if (waiter.match(event)) waiter.resolve(event);
      else waiters.push(waiter);
    }
  });
  child.stdout.on('data', (chunk: Buffer) => frames.push(chunk));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    child,
    events,
    closed,
    send: (message, body) => {
      child.stdin.write(frameHeader(message, body));
      if (body) child.stdin.write(body);
    },
    next: (match) => {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void closed.then(() => reject(new Error(`the agent exited first; its stderr: ${stderr}`)));
      });
    },
    stop: async () => {
      child.stdin.end();
      child.kill('SIGKILL');
      await closed;
    },
  };
}
