import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { Labels } from '../../src/labels.js';
import { describeDocker } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';
import type { ToolInput } from '../helpers/tool-call.js';

type Language = ToolInput<'sandbox_execute'>['language'];

describeDocker('isolation and ownership on a real engine', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  let s: Awaited<ReturnType<typeof dockerSession>>;
  let id: string;

  beforeAll(async () => {
    s = await dockerSession(testConfig());
    id = (await s.ok('sandbox_create', { template: 'python', memory_mb: 256, cpus: 0.5 })).sandbox_id;
  });

  afterAll(async () => {
    await s?.close();
  });

  const run = async (code: string, language: Language = 'bash') =>
    (await s.ok('sandbox_execute', { sandbox_id: id, code, language })).output;

  it('runs user code as uid 1000 in /home/user with no capabilities, no new privileges and seccomp on', async () => {
    const out = await run('id -u; id -g; pwd; grep -E "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status');
    expect(out).toMatch(/^1000\n1000\n\/home\/user\n/);
    expect(out).toMatch(/CapPrm:\s+0000000000000000/);
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/Seccomp:\s+2/); // 2 = filter mode: the engine's default profile
  });

  it('cannot become root, reach the Docker socket, or see host mounts', async () => {
    const out = await run(
      'su -c id root </dev/null 2>&1 | head -1; ls -l /var/run/docker.sock 2>&1; grep -c " /host" /proc/mounts; cat /proc/1/cmdline | tr "\\0" " "',
    );
    expect(out).toMatch(/Authentication failure|must be run from a terminal|su: /);
    expect(out).toMatch(/No such file or directory/);
    expect(out).toContain('\n0\n');
    expect(out).toMatch(/\n\/sbin\/docker-init -- /); // PID 1 is an init, which reaps zombies
  });

  it('creates containers with the least-privilege host configuration and its labels', async () => {
    const [c] = await docker.listContainers({ all: true, filters: { label: [`${Labels.id}=${id}`] } });
    const info = await docker.getContainer(c!.Id).inspect();
    const hc = info.HostConfig;
    expect(hc.Privileged).toBe(false);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.SecurityOpt).toContain('no-new-privileges:true');
    expect(hc.SecurityOpt?.some((o: string) => o.includes('seccomp=unconfined'))).toBe(false);
    expect(hc.Memory).toBe(256 * 1024 * 1024);
    expect(hc.MemorySwap).toBe(256 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(0.5e9);
    expect(hc.PidsLimit).toBeGreaterThan(0);
    expect(hc.Init).toBe(true);
    expect(hc.Binds ?? []).toEqual([]);
    expect(info.Mounts).toEqual([]);
    expect(info.Config.Labels[Labels.managed]).toBe('true');
  });

  it('keeps network: "none" sandboxes off the network', async () => {
    const offline = (await s.ok('sandbox_create', { template: 'python', network: 'none' })).sandbox_id;
    const r = await s.ok('sandbox_execute', {
      sandbox_id: offline,
      language: 'python',
      code: 'import socket\ntry:\n    socket.create_connection(("deb.debian.org", 80), timeout=3)\n    print("reached")\nexcept OSError as e:\n    print("blocked", type(e).__name__)',
    });
    expect(r.output).toMatch(/^blocked/);
    const ifaces = await s.ok('sandbox_execute', { sandbox_id: offline, language: 'bash', code: 'ls /sys/class/net' });
    expect(ifaces.output.trim()).toBe('lo');
  });
});
