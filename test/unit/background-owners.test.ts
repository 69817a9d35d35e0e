import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, type SandboxError } from '../../src/errors.js';
import { newExecutionId, newRunId, newSandboxId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import { BackgroundRuns } from '../../src/sandbox/background/background-runs.js';
import { END_GRACE_MS, stateFromHistory } from '../../src/sandbox/background/history-state.js';
import { serverAlive, THIS_SERVER, type ServerIdentity } from '../../src/util/server-identity.js';
import { endEntry, startEntry } from '../../src/sandbox/execute.js';
import type { PreparedRun } from '../../src/sandbox/shapes.js';
import { HistoryStore, type HistoryEntry } from '../../src/store/history-store.js';
import { FakeProvider } from '../helpers/fake-provider.js';
import { tempStateDir } from '../helpers/test-config.js';

const MINUTE = 60_000;
const T0 = new Date('2026-11-24T02:00:00.000Z');
const other: ServerIdentity = { host: 'h', pid: 4242, instance: 'a1' };

/** A background start entry of `owner`, with a time limit of `timeoutS`. */
const backgroundStart = (id: string, owner: ServerIdentity, timeoutS = 300): HistoryEntry =>
  startEntry(id, 'bash', 9, T0, {
    run_id: newRunId(),
    owner,
    deadline: new Date(T0.getTime() + timeoutS * 1000).toISOString(),
  });

const at = (ms: number) => new Date(T0.getTime() + ms);

describe('stateFromHistory: an execution another server may be running', () => {
  const id = newExecutionId();

  it('is running while its server lives and its time limit has not passed', () => {
    const state = stateFromHistory(id, [backgroundStart(id, other)], { now: at(MINUTE), alive: () => true });
    expect(state).toMatchObject({ executionId: id, status: 'running', exitCode: null, startedAt: T0.toISOString() });
  });

  it('is cancelled once its server is gone without recording an end', () => {
    expect(stateFromHistory(id, [backgroundStart(id, other)], { now: at(MINUTE), alive: () => false })?.status).toBe(
      'cancelled',
    );
  });

  it('is cancelled once its time limit (and the grace to record it) has passed, even with its server alive', () => {
    const history = [backgroundStart(id, other, 300)];
    const alive = () => true;
    expect(stateFromHistory(id, history, { now: at(300_000 + END_GRACE_MS - 1), alive })?.status).toBe('running');
    expect(stateFromHistory(id, history, { now: at(300_000 + END_GRACE_MS), alive })?.status).toBe('cancelled');
  });

  it('is running until its deadline when the server is on a host this one cannot check', () => {
    const history = [backgroundStart(id, other, 60)];
    const alive = () => undefined;
    expect(stateFromHistory(id, history, { now: at(59_000), alive })?.status).toBe('running');
    expect(stateFromHistory(id, history, { now: at(60_000 + END_GRACE_MS), alive })?.status).toBe('cancelled');
  });

  it('reads the recorded end, whatever its server does now', () => {
    const history = [backgroundStart(id, other), endEntry(id, 'completed', 0, 1500, at(1500))];
    expect(stateFromHistory(id, history, { now: at(MINUTE), alive: () => true })).toEqual({
      executionId: id,
      status: 'completed',
      exitCode: 0,
      startedAt: T0.toISOString(),
      endedAt: at(1500).toISOString(),
    });
  });

  it('reads an entry of an older server (no owner recorded) as cancelled, as before', () => {
    const history = [startEntry(id, 'bash', 9, T0)];
    expect(stateFromHistory(id, history, { now: at(1000), alive: () => true })?.status).toBe('cancelled');
    expect(stateFromHistory('exec-unknown', history)).toBeUndefined();
  });
});

describe('serverAlive', () => {
  it('tells a live server from a dead one and from a reused PID', () => {
    const me = { ...THIS_SERVER, instance: 'another-instance-of-this-pid' };
    expect(serverAlive(THIS_SERVER)).toBe(true);
    expect(serverAlive(me)).toBe(true); // same process, same start time
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    expect(serverAlive({ ...me, pid: exited })).toBe(false);
    if (THIS_SERVER.proc_start) expect(serverAlive({ ...me, proc_start: '1' })).toBe(false); // the PID was reused
    expect(serverAlive({ ...me, host: 'elsewhere' })).toBeUndefined();
  });

  it.runIf(existsSync('/proc/self/ns/pid'))(
    "cannot tell about a server in another PID namespace that shares this host's name (a container on host networking)",
    () => {
      expect(THIS_SERVER.pid_ns).toMatch(/^pid:\[\d+\]$/);
      const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
      const elsewhere = { ...THIS_SERVER, instance: 'in-a-container', pid: exited, pid_ns: 'pid:[1]' };
      expect(serverAlive(elsewhere)).toBeUndefined(); // its PID is not this namespace's to look up
      expect(serverAlive({ ...elsewhere, pid_ns: THIS_SERVER.pid_ns })).toBe(false);
    },
  );

  it.runIf(existsSync('/proc/self/stat'))(
    'reads a server that exited but is not reaped yet (a zombie) as gone',
    async () => {
      // `sleep 0` exits at once; its parent execs into `sleep 5`, which never reaps it.
      const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const [line] = (await once(parent.stdout, 'data')) as [Buffer];
        const pid = Number(line.toString().trim());
        const fields = () => {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        };
        for (let i = 0; i < 100 && fields()[0] !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
        expect(fields()[0]).toBe('Z');
        expect(serverAlive({ ...THIS_SERVER, instance: 'zombie', pid, proc_start: fields()[19] })).toBe(false);
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});

describe('BackgroundRuns of two servers sharing the history and the sandboxes', () => {
  const identityA: ServerIdentity = { ...THIS_SERVER, instance: 'server-a' };
  const identityB: ServerIdentity = { ...THIS_SERVER, instance: 'server-b' };

  async function setup() {
    const provider = new FakeProvider();
    const sandbox = await provider.create({
      id: newSandboxId(),
      name: 'shared',
      template: 'base',
      language: 'bash',
      sources: {},
      cpus: 1,
      memoryMb: 512,
      network: 'none',
      namespace: 'ns',
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 3600_000),
      metadata: {},
      env: {},
    });
    // Runs go on until killed.
    provider.onRun = () => new Promise(() => undefined);
    const history = new HistoryStore(tempStateDir());
    const log = silentLogger();
    const a = new BackgroundRuns(provider, history, log, { identity: identityA });
    const b = new BackgroundRuns(provider, history, log, { identity: identityB, stopWaitMs: 2000, pollMs: 20 });
    const run: PreparedRun = {
      sandboxId: sandbox.id,
      info: sandbox,
      language: 'bash',
      languageDefaulted: false,
      argv: ['bash', '-c', 'sleep 300'],
      env: {},
      secrets: [],
      cwd: '/home/user',
      timeoutS: 600,
      codeBytes: 9,
    };
    return { provider, history, a, b, run, sandboxId: sandbox.id };
  }

  it("reads the other server's run as running, and ends it through the backend by its recorded run ID", async () => {
    const { provider, history, a, b, run, sandboxId } = await setup();
    const executionId = newExecutionId();
    await a.start(run, executionId);

    expect((await b.state(sandboxId, executionId))?.status).toBe('running');
    const start = (await history.read(sandboxId)).find((e) => e.background)!;
    expect(start.background).toMatchObject({ owner: identityA, run_id: provider.runs[0]!.spec.runId });

    const stopped = await b.stop(sandboxId, executionId);
    expect(provider.kills).toEqual([start.background!.run_id]);
    expect(stopped).toMatchObject({ status: 'cancelled', exitCode: null });
    expect(stopped?.endedAt).toBeDefined();
    // The owner recorded that end, once: both read the same.
    expect(await a.state(sandboxId, executionId)).toEqual(stopped);
    const ends = (await history.read(sandboxId)).filter((e) => e.execution_id === executionId && e.run);
    expect(ends.map((e) => e.run?.status)).toEqual(['cancelled']);
  });

  it('says so with a stable code when the backend could not end the run', async () => {
    const { provider, a, b, run, sandboxId } = await setup();
    provider.killRun = async () => undefined; // a backend whose kill reaches nothing
    const executionId = newExecutionId();
    await a.start(run, executionId);
    const err = (await b.stop(sandboxId, executionId).catch((e: unknown) => e)) as SandboxError;
    expect(err.code).toBe(ErrorCode.EXECUTION_ERROR);
    expect(err.message).toContain(executionId);
    expect(err.hint).toMatch(/time limit/);
    expect((await b.state(sandboxId, executionId))?.status).toBe('running');
    await a.stopAll(100);
  });

  it('reads a run whose server died as cancelled, and sweeps what may be left of it on stop', async () => {
    const { provider, history, b, sandboxId } = await setup();
    const executionId = newExecutionId();
    const dead: ServerIdentity = { ...identityA, pid: spawnSync(process.execPath, ['-e', '0']).pid! };
    const runId = newRunId();
    await history.append(sandboxId, [
      startEntry(executionId, 'bash', 9, new Date(), {
        run_id: runId,
        owner: dead,
        deadline: new Date(Date.now() + 600_000).toISOString(),
      }),
    ]);
    expect((await b.state(sandboxId, executionId))?.status).toBe('cancelled');
    expect((await b.stop(sandboxId, executionId))?.status).toBe('cancelled');
    expect(provider.kills).toEqual([runId]);
  });
});
