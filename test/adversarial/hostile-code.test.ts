import { statfsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDocker, NOT_AGENT_PROCESS_COUNT } from '../helpers/docker-env.js';
import { testConfig } from '../helpers/test-config.js';
import { hostileSession, PROCESS_LIST } from './hostile-session.js';
import { failure } from '../helpers/tool-call.js';

const DISK_LIMIT_MB = 300;

/** Command lines of the host's processes that contain a marker (sandbox processes are host processes too). */
function hostProcessesWith(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(marker)) found.push(cmd);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describeDocker('hostile code cannot hurt the host, starve the server or outlive its run', () => {
  let s: Awaited<ReturnType<typeof hostileSession>>;
  let id: string;
  const processes = async (sid = id) =>
    (await s.ok('sandbox_execute', { sandbox_id: sid, language: 'bash', code: PROCESS_LIST })).output;

  beforeAll(async () => {
    s = await hostileSession(
      testConfig({
        SANDBOX_DISK_LIMIT_MB: String(DISK_LIMIT_MB),
        SANDBOX_DISK_CHECK_INTERVAL: '1',
        SANDBOX_PIDS_LIMIT: '128',
      }),
    );
    s.sandboxes.startBackgroundWork(); // the disk watchdog
    id = await s.sandbox({ memory_mb: 256 });
  });

  afterAll(async () => {
    s?.assertNoSecretLeaked();
    await s?.close();
  });

  it('survives a fork bomb: the pids limit holds it, the timeout kills all of it, the sandbox works after', async () => {
    // The classic bomb, with the run's own process staying alive so that the run ends at its timeout.
    const r = await s.ok('sandbox_execute', {
      sandbox_id: id,
      language: 'bash',
      code: 'zz9bomb() { zz9bomb | zz9bomb & }; zz9bomb; sleep 60',
      timeout: 5,
    });
    expect(r.status).toBe('timeout');
    const count = async () =>
      Number(
        (await s.ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: NOT_AGENT_PROCESS_COUNT })).output,
      );
    let left = await count();
    for (let i = 0; i < 20 && left > 3; i++) {
      await new Promise((done) => setTimeout(done, 250));
      left = await count();
    }
    expect(left).toBeLessThan(4); // this count's bash and what it runs (init's command line is the agent's)
    expect(await processes()).not.toContain('zz9bomb');
    expect((await s.ok('sandbox_execute', { sandbox_id: id, code: 'print("alive")' })).output).toBe('alive\n');
  });

  it('reports a memory bomb as killed with exit 137 and a hint, and keeps the sandbox usable', async () => {
    const r = await s.ok('sandbox_execute', {
      sandbox_id: id,
      code: 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))',
    });
    expect(r).toMatchObject({ status: 'failed', exit_code: 137 });
    expect(r.hint).toMatch(/memory limit of 256 MB/);
    expect((await s.ok('sandbox_execute', { sandbox_id: id, code: 'print(2 + 2)' })).output).toBe('4\n');
  });

  it('leaves nothing of an endless loop with background children, daemons and double forks after its timeout', async () => {
    const code = [
      'import os, subprocess, time',
      'subprocess.Popen(["sleep", "3101"])',
      'subprocess.Popen(["nohup", "sleep", "3102"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)',
      'subprocess.Popen(["setsid", "sleep", "3103"])',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        os.execvp("sleep", ["sleep", "3104"])',
      '    os._exit(0)',
      'print("spawned", flush=True)',
      'while True: pass',
    ].join('\n');
    const r = await s.ok('sandbox_execute', { sandbox_id: id, code, timeout: 3 });
    expect(r).toMatchObject({ status: 'timeout', output: 'spawned\n' });
    expect(await processes()).not.toMatch(/sleep 310[1-4]/);
  });

  it('reaps zombies', async () => {
    await s.ok('sandbox_execute', {
      sandbox_id: id,
      code: 'import os, time\nfor _ in range(20):\n    if os.fork() == 0:\n        os._exit(0)\ntime.sleep(0.5)\nprint("parent leaves without waiting")',
    });
    const states = await s.ok('sandbox_execute', {
      sandbox_id: id,
      language: 'bash',
      code: "cat /proc/[0-9]*/stat 2>/dev/null | awk '{print $3}' | sort | uniq -c",
    });
    expect(states.output).not.toMatch(/\bZ\b/);
  });

  it("caps a 1 GB flood of output while the server's memory stays bounded", async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const r = await s.ok('sandbox_execute', {
      sandbox_id: id,
      language: 'bash',
      code: 'head -c 1000000000 /dev/zero | tr "\\0" y',
      timeout: 300,
    });
    clearInterval(sampler);
    expect(r).toMatchObject({ status: 'completed', output_truncated: true, output_bytes: 1_000_000_000 });
    expect(r.output.length).toBeLessThan(70_000);
    expect(peak - before).toBeLessThan(200 * 1024 * 1024);
  }, 300_000);

  it('stops a sandbox that fills its disk, within seconds, and the host disk is untouched', async () => {
    const filler = await s.sandbox();
    const freeBefore = statfsSync('/var/lib/docker').bavail * statfsSync('/var/lib/docker').bsize;
    const one = await s.ok('sandbox_execute', {
      sandbox_id: filler,
      language: 'bash',
      code: 'dd if=/dev/zero of=big bs=1M count=2000 2>&1 | tail -1; echo "dd exit ${PIPESTATUS[0]}"',
      timeout: 60,
    });
    expect(one.output).toMatch(/File size limit exceeded|dd exit 153/); // one file cannot outgrow the quota
    const r = await s.call('sandbox_execute', {
      sandbox_id: filler,
      language: 'bash',
      code: 'for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=fill$i bs=1M count=100 2>/dev/null; done; sleep 30',
      timeout: 120,
    });
    expect(r.isError ? r.structuredContent.error.code : r.structuredContent.status).toBeDefined();
    let state = '';
    for (let i = 0; i < 40 && state !== 'stopped'; i++) {
      state = (await s.ok('sandbox_status', { sandbox_id: filler })).sandbox.status;
      if (state !== 'stopped') await new Promise((done) => setTimeout(done, 500));
    }
    expect(state).toBe('stopped');
    const logs = await s.ok('sandbox_logs', { sandbox_id: filler, log_level: 'error' });
    expect(logs.logs.map((l) => l.message).join('\n')).toMatch(/over its disk quota of 300 MB/);
    const freeAfter = statfsSync('/var/lib/docker').bavail * statfsSync('/var/lib/docker').bsize;
    expect(freeBefore - freeAfter).toBeLessThan((DISK_LIMIT_MB + 600) * 1024 * 1024);
    expect(failure(await s.call('sandbox_execute', { sandbox_id: filler, code: 'print(1)' })).code).toBe(
      'SANDBOX_NOT_RUNNING',
    );
    // Started again, it may delete files before the quota applies again.
    await s.ok('sandbox_configure', { sandbox_id: filler });
    await new Promise((done) => setTimeout(done, 2500)); // two watchdog rounds: it must not stop it now
    await s.ok('sandbox_execute', { sandbox_id: filler, language: 'bash', code: 'rm -f big fill*' });
    expect((await s.ok('sandbox_status', { sandbox_id: filler })).sandbox.status).toBe('running');
  });

  it('ends every daemon a sandbox left running when the sandbox is deleted', async () => {
    const sid = await s.sandbox();
    await s.ok('sandbox_execute', {
      sandbox_id: sid,
      language: 'bash',
      code: 'nohup sleep 4242 >/dev/null 2>&1 & setsid sleep 4243 >/dev/null 2>&1 < /dev/null & echo started',
    });
    // The run answers once it has forked them: each may still be on its way to exec'ing sleep.
    await expect.poll(() => hostProcessesWith('sleep 424').length).toBe(2);
    await s.ok('sandbox_delete', { sandbox_id: sid });
    expect(hostProcessesWith('sleep 424')).toEqual([]);
  });

  it('gives sandboxes outbound network by default, as the README says', async () => {
    const r = await s.ok('sandbox_execute', {
      sandbox_id: id,
      code: 'import socket\ntry:\n    socket.create_connection(("deb.debian.org", 80), timeout=5).close()\n    print("reached")\nexcept OSError as e:\n    print("blocked", e)',
    });
    expect(r.output).toBe('reached\n');
  });
});
