import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { BLOCKED_IPV4 } from '../../src/providers/docker/network-policy.js';
import { holderOf, SLOT_LABEL } from '../../src/providers/docker/network-slots.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';
import type { ToolInput } from '../helpers/tool-call.js';

type Language = ToolInput<'sandbox_execute'>['language'];

/** A port the test's host service listens on, and that the second server allows (fixed: one network for it). */
const ALLOWED_PORT = 47123;
/** SANDBOX_DOCKER_RUNTIME=runsc runs this file with sandboxes under gVisor: the filter must hold there too. */
const runtime = { SANDBOX_DOCKER_RUNTIME: process.env.SANDBOX_DOCKER_RUNTIME ?? '' };
/** Under gVisor no sandbox takes a network slot (network-slots.ts, slotsSuit). */
const gvisor = /runsc/.test(runtime.SANDBOX_DOCKER_RUNTIME);

/**
 * The sandbox network policy on the real engine. Traffic goes only to the test's own host service (at the sandbox
 * network's gateway, the engine host's address on that bridge) and to the test's own sandboxes; that other ranges
 * are blocked is read from the rules installed, never tried.
 */
describeDocker('sandbox network: the internet yes, the host, private ranges and other sandboxes no', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  let s: Awaited<ReturnType<typeof dockerSession>>;
  let open: Awaited<ReturnType<typeof dockerSession>> | undefined;
  let hostService: net.Server;
  let a: string;
  let b: string;

  const run = async (session: typeof s, id: string, code: string, language: Language = 'bash') =>
    (await session.ok('sandbox_execute', { sandbox_id: id, code, language, timeout: 60 })).output;
  /** Connects from a sandbox and prints what the peer said first, or the error. */
  const connectFrom = (session: typeof s, id: string, host: string, port: number) =>
    run(
      session,
      id,
      `import socket\ntry:\n    c = socket.create_connection((${JSON.stringify(host)}, ${port}), timeout=5)\n    print('connected', c.recv(100).decode())\nexcept OSError as e:\n    print('failed', e)`,
      'python',
    );
  const networkOf = async (session: typeof s) =>
    docker
      .getNetwork((session.provider as unknown as { network: { names: { network: string } } }).network.names.network)
      .inspect();
  /** Running network slots of the namespace that no sandbox joins yet. */
  const spareSlots = async (namespace: string) => {
    const joined = new Set(
      (await docker.listContainers({ all: true })).map((c) => holderOf(c.HostConfig?.NetworkMode)),
    );
    const slots = await docker.listContainers({ filters: { label: [`${SLOT_LABEL}=${namespace}`] } });
    return slots.filter((h) => !joined.has(h.Id)).length;
  };
  /** The container that is on the network for a sandbox: the sandbox, or the network slot it joined. */
  const onNetwork = async (id: string) => {
    const info = await docker.getContainer(`sandbox-mcp-${id}`).inspect();
    const holder = holderOf(info.HostConfig.NetworkMode);
    return holder ? docker.getContainer(holder).inspect() : info;
  };
  const ipOf = async (id: string) => Object.values((await onNetwork(id)).NetworkSettings.Networks)[0]!.IPAddress;

  beforeAll(async () => {
    hostService = net.createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => hostService.listen(ALLOWED_PORT, '0.0.0.0', resolve));
    const config = testConfig(runtime);
    s = await dockerSession(config);
    a = (await s.ok('sandbox_create', { template: 'python' })).sandbox_id;
    // The pool makes a network slot once creates pause (network-slots.ts): b takes it, a joined the network itself.
    if (!gvisor) await vi.waitFor(async () => expect(await spareSlots(config.namespace)).toBe(1), { timeout: 30_000 });
    b = (await s.ok('sandbox_create', { template: 'python' })).sandbox_id;
  });

  afterAll(async () => {
    await s?.close();
    if (open) {
      const name = (open.provider as unknown as { network: { names: { network: string } } }).network.names.network;
      await open.close();
      await docker
        .getNetwork(name)
        .remove()
        .catch(() => undefined);
    }
    hostService?.close();
  });

  it('puts sandboxes on a labelled network of its own with inter-container traffic off', async () => {
    const network = await networkOf(s);
    expect(network.Labels?.['dev.sandbox-mcp.managed']).toBe('true');
    expect(network.Options?.['com.docker.network.bridge.enable_icc']).toBe('false');
    // Both sandboxes are on it (other test files' sandboxes may share it: the network is per policy, not per server).
    const attached = await Promise.all([a, b].map(async (id) => (await onNetwork(id)).Id));
    expect(Object.keys(network.Containers ?? {})).toEqual(expect.arrayContaining(attached));
  });

  it('does not let a sandbox connect to a service on the engine host', async () => {
    const gateway = (await networkOf(s)).IPAM!.Config![0]!.Gateway!;
    // The second sandbox started in a network slot made when the first was created (network-slots.ts): the block
    // holds both ways onto the network.
    const modes = await Promise.all(
      [a, b].map(async (id) => (await docker.getContainer(`sandbox-mcp-${id}`).inspect()).HostConfig.NetworkMode),
    );
    expect(modes.map((m) => (holderOf(m) ? 'slot' : 'network'))).toEqual(['network', gvisor ? 'network' : 'slot']);
    for (const id of [a, b]) expect(await connectFrom(s, id, gateway, ALLOWED_PORT)).toMatch(/^failed/);
  });

  it('lets a sandbox reach a host service the operator allowed (SANDBOX_NETWORK_ALLOW)', async () => {
    open = await dockerSession(testConfig({ ...runtime, SANDBOX_NETWORK_ALLOW: `host:${ALLOWED_PORT}` }));
    const id = (await open.ok('sandbox_create', { template: 'python' })).sandbox_id;
    const gateway = (await networkOf(open)).IPAM!.Config![0]!.Gateway!;
    expect(await connectFrom(open, id, gateway, ALLOWED_PORT)).toMatch(/^connected hello from the host\n/);
    // Only that port: another one on the host stays closed.
    expect(await connectFrom(open, id, gateway, ALLOWED_PORT + 1)).toMatch(/^failed/);
  });

  it('keeps sandboxes from reaching each other', async () => {
    await run(
      s,
      a,
      'nohup python3 -c "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\\"0.0.0.0\\", 8000)); s.listen()\nwhile True:\n    c,_=s.accept(); c.sendall(b\\"hi from a\\"); c.close()" >/dev/null 2>&1 &\nsleep 1',
    );
    const ipA = await ipOf(a);
    expect(await connectFrom(s, a, ipA, 8000)).toBe('connected hi from a\n'); // the service is up
    expect(await connectFrom(s, b, ipA, 8000)).toMatch(/^failed/);
  });

  it('installs rules that reject private, carrier-grade NAT and link-local (metadata) ranges but allow the resolvers', async () => {
    const rules = await (
      s.provider as unknown as { network: { installedRules(image: string): Promise<string> } }
    ).network.installedRules(TEST_IMAGE);
    for (const cidr of BLOCKED_IPV4) expect(rules).toMatch(new RegExp(`-d ${cidr.replace(/\./g, '\\.')} .*-j REJECT`));
    expect(rules).toMatch(/-A INPUT -i sbxmcp-[0-9a-f]{8} -j SBXMCP-[0-9a-f]{8}-IN/);
    expect(rules).toMatch(/-A DOCKER-USER -i sbxmcp-[0-9a-f]{8} -j SBXMCP-[0-9a-f]{8}-FWD/);
    const resolvers = readFileSync('/etc/resolv.conf', 'utf8').match(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm) ?? [];
    for (const line of resolvers) {
      const ip = line.split(/\s+/)[1]!;
      if (!ip.startsWith('127.')) expect(rules).toContain(`-d ${ip}/32 -p udp -m udp --dport 53 -j RETURN`);
    }
  });

  it('still resolves names and installs packages from Debian and npm', async () => {
    // Both ways onto the network resolve names (b's namespace, and its resolver, are its network slot's).
    for (const id of [a, b])
      expect(await run(s, id, 'getent hosts deb.debian.org >/dev/null && echo resolved')).toBe('resolved\n');
    expect(await run(s, a, 'npm view left-pad version 2>&1 | tail -1')).toMatch(/^\d+\.\d+\.\d+\n$/);
    await s.ok('sandbox_configure', { sandbox_id: a, install_packages: ['apt:jq'] });
    expect(await run(s, a, 'echo \'{"x":1}\' | jq .x')).toBe('1\n');
  });
});
