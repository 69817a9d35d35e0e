import { spawnSync } from 'node:child_process';
import os from 'node:os';
import type Docker from 'dockerode';
import { afterEach, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { newSandboxId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { hostConfig } from '../../src/providers/docker/isolation.js';
import { NetworkSlots, SLOT_LABEL, holderOf, joinedNetworkMode } from '../../src/providers/docker/network-slots.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import type { RunSpec } from '../../src/providers/provider.js';
import { labelsFor } from '../../src/providers/shared/sandbox-labels.js';
import { THIS_SERVER, type ServerIdentity } from '../../src/util/server-identity.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

describeDocker('network slots: bridge sandboxes join a network namespace made ahead', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const namespace = `slots-${Date.now().toString(36)}`;
  const providers: DockerProvider[] = [];
  const strays: string[] = [];

  // Creates a test makes one after the other count as a burst however slow the machine (the refill waits 5 s).
  const provider = (slots = 1) => {
    const p = new DockerProvider(
      docker,
      {
        pidsLimit: 256,
        namespace,
        network: { allow: [], filter: true },
        networkSlots: slots,
        networkSlotOptions: { refillAfterQuietMs: 5000 },
      },
      silentLogger(),
    );
    providers.push(p);
    return p;
  };
  const holders = async (): Promise<Docker.ContainerInfo[]> =>
    docker.listContainers({ all: true, filters: { label: [`${SLOT_LABEL}=${namespace}`] } });
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  /** A provider warmed up as a server is a second after it starts, with its spare made. */
  const warmed = async (slots = 1) => {
    const p = provider(slots);
    await p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'bridge' });
    await until('a spare', async () => (await holders()).some((h) => h.State === 'running'));
    return p;
  };
  const bridgeSpec = (extra: Parameters<typeof baseSpec>[0] = {}) =>
    baseSpec({ sources: { docker: { image: TEST_IMAGE } }, network: 'bridge', namespace, ...extra });
  const run = async (p: DockerProvider, id: string, script: string) => {
    let out = '';
    const spec: RunSpec = {
      argv: ['sh', '-c', script],
      user: 'user',
      env: {},
      cwd: '/home/user',
      timeoutMs: 30_000,
      onOutput: (_stream, chunk) => (out += chunk.toString('utf8')),
    };
    const outcome = await p.run(id, spec);
    return { code: outcome.exitCode, out };
  };
  const inspect = (idOrName: string) => docker.getContainer(idOrName).inspect();
  const address = (info: Docker.ContainerInspectInfo) =>
    Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress)?.IPAddress;

  // Each test starts with no provider, no spare and no holder of the namespace.
  afterEach(async () => {
    for (const p of providers.splice(0)) {
      for (const s of await p.list().catch(() => [])) await p.remove(s.id).catch(() => undefined);
      await p.close();
    }
    for (const id of strays.splice(0))
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const h of await holders())
      await docker
        .getContainer(h.Id)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it(
    'a bridge sandbox joins the spare: reachable at its address with its name, refilled, and gone with its sandbox',
    { timeout: 90_000 },
    async () => {
      const p = await warmed();
      const [spare] = await holders();
      const spec = bridgeSpec();
      await p.create(spec);
      const sandbox = await inspect(containerName(spec.id));
      expect(sandbox.HostConfig.NetworkMode).toBe(joinedNetworkMode(spare!.Id));
      const holder = await inspect(spare!.Id);
      expect(holder.HostConfig.NetworkMode).toBe(p.network.names.network); // filtered like any sandbox there
      expect(holder.HostConfig.CapDrop).toEqual(['ALL']);

      // A server in the sandbox, reached from here at the holder's address on the sandbox network, and through a
      // port forward (which looks the address up through the holder).
      const served = run(p, spec.id, 'hostname > /tmp/name && cd /tmp && exec timeout 60 python3 -m http.server 8000');
      const ip = address(holder)!;
      let body = '';
      await until('the server in the sandbox', async () => {
        body = await fetch(`http://${ip}:8000/name`, { signal: AbortSignal.timeout(2000) })
          .then((r) => (r.ok ? r.text() : ''))
          .catch(() => '');
        return body !== '';
      });
      expect(body).toBe('sandbox\n');
      const url = (await p.portUrls(spec.id, [8000]))['8000']!;
      expect(await (await fetch(`${url}/name`, { signal: AbortSignal.timeout(5000) })).text()).toBe('sandbox\n');

      await until('a new spare', async () => (await holders()).length === 2);
      // The server trusts the holder while its sandbox lives, and forgets it with the sandbox.
      const trusted = () => (p as unknown as { owned: { trustedHolders: Set<string> } }).owned.trustedHolders.size;
      expect(trusted()).toBe(1);
      await p.remove(spec.id);
      await served.catch(() => undefined);
      await expect(inspect(spare!.Id)).rejects.toMatchObject({ statusCode: 404 });
      expect((await holders()).map((h) => h.Id)).not.toContain(spare!.Id);
      expect(trusted()).toBe(0);
    },
  );

  it('a create that comes while the spare is being made waits for it; one that comes meanwhile does not', async () => {
    const p = provider();
    await p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'bridge' }); // the spare is on its way
    const [first, second] = [bridgeSpec(), bridgeSpec()];
    await Promise.all([p.create(first), p.create(second)]);
    const modes = await Promise.all([first, second].map(async (s) => (await inspect(containerName(s.id))).HostConfig));
    expect(modes[0]!.NetworkMode).toMatch(/^container:/);
    expect(modes[1]!.NetworkMode).toBe(p.network.names.network);
    // And the pool is refilled after it: the first one's holder and a new spare.
    await until('the refill', async () => (await holders()).filter((h) => h.State === 'running').length === 2);
  });

  it('in a burst of creates only the first takes the spare; the next one is made once creates pause', async () => {
    const p = await warmed();
    const burst = [bridgeSpec(), bridgeSpec(), bridgeSpec()];
    for (const spec of burst) await p.create(spec);
    const joined = await Promise.all(
      burst.map(async (spec) => holderOf((await inspect(containerName(spec.id))).HostConfig.NetworkMode) !== undefined),
    );
    expect(joined).toEqual([true, false, false]); // no holder was started behind each create to slow the next
    await until('the refill', async () => (await holders()).filter((h) => h.State === 'running').length === 2);
    const after = bridgeSpec(); // after a pause: it takes the new spare
    await p.create(after);
    expect(holderOf((await inspect(containerName(after.id))).HostConfig.NetworkMode)).toBeDefined();
  });

  it('a sandbox that publishes ports at create joins the network itself, as does every sandbox with slots off', async () => {
    const p = await warmed();
    const spec = bridgeSpec({ ports: [8080] });
    await p.create(spec);
    expect((await inspect(containerName(spec.id))).HostConfig.NetworkMode).toBe(p.network.names.network);
    await p.remove(spec.id);

    const off = provider(0);
    const spare = (await holders()).map((h) => h.Id);
    const plain = bridgeSpec();
    await off.create(plain);
    expect((await inspect(containerName(plain.id))).HostConfig.NetworkMode).toBe(off.network.names.network);
    expect((await holders()).map((h) => h.Id)).toEqual(spare); // it made none
    await off.remove(plain.id);
  });

  it('a refused create leaves neither its container nor the holder it took', async () => {
    const p = await warmed();
    const [spare] = await holders();
    const refused = Promise.reject(new Error('over the quota'));
    refused.catch(() => undefined);
    await expect(p.create(bridgeSpec({ admission: refused }))).rejects.toThrow();
    await expect(inspect(spare!.Id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a spare removed behind the server: the create still succeeds, on the network itself', async () => {
    const p = await warmed();
    for (const h of await holders()) await docker.getContainer(h.Id).remove({ force: true });
    const spec = bridgeSpec();
    await p.create(spec);
    expect((await inspect(containerName(spec.id))).HostConfig.NetworkMode).toBe(p.network.names.network);
    expect((await run(p, spec.id, 'echo ok')).out).toBe('ok\n');
    await p.remove(spec.id);
  });

  it(
    'a sandbox restarts in its holder, starts again with it after an engine restart, and says so when it is gone',
    { timeout: 60_000 },
    async () => {
      const p = await warmed();
      const spec = bridgeSpec();
      await p.create(spec);
      const holder = (await inspect(containerName(spec.id))).HostConfig.NetworkMode!.slice('container:'.length);
      const address = async () => (await run(p, spec.id, 'hostname -i')).out;
      const before = await address();
      // A restart keeps the sandbox in its holder, address and all.
      await p.restart(spec.id);
      expect(await address()).toBe(before);
      // An engine restart stops both: the start wakes the holder first.
      await p.stop(spec.id);
      await docker.getContainer(holder).stop({ t: 0 });
      await p.start(spec.id);
      expect((await inspect(holder)).State.Running).toBe(true);
      const { out } = await run(p, spec.id, 'python3 -c "import socket; print(socket.gethostname())"');
      expect(out).toBe('sandbox\n');
      // A holder removed behind the server's back: the sandbox cannot start again, and says so.
      await p.stop(spec.id);
      await docker.getContainer(holder).remove({ force: true });
      await expect(p.start(spec.id)).rejects.toMatchObject({
        code: ErrorCode.SANDBOX_NOT_RUNNING,
        hint: expect.stringMatching(/sandbox_delete/),
      });
      // Removed between its wake and the sandbox's start (the wake skipped here): the engine's answer says the same.
      (p as unknown as { slots: { wake: () => Promise<void> } }).slots.wake = async () => undefined;
      await expect(p.start(spec.id)).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_RUNNING });
      await p.remove(spec.id);
    },
  );

  it('does not trust a sandbox-labelled container that joins anything but a slot of its namespace', async () => {
    const p = await warmed();
    const other = new NetworkSlots(docker, `${namespace}-other`, silentLogger());
    other.fill(p.network.names.network, TEST_IMAGE);
    let foreignHolder: string | undefined;
    await until('the other namespace spare', async () => {
      foreignHolder = await other.take(p.network.names.network, TEST_IMAGE);
      return foreignHolder !== undefined;
    });
    strays.push(foreignHolder!);
    await other.close();
    const plain = await docker.createContainer({ Image: TEST_IMAGE, Entrypoint: ['sleep'], Cmd: ['infinity'] });
    strays.push(plain.id);
    await plain.start();
    const [ours] = await holders();
    for (const [why, target, trusted] of [
      ['a plain container', plain.id, false],
      ["another namespace's slot", foreignHolder!, false],
      ["this namespace's slot", ours!.Id, true],
    ] as const) {
      const fake = newSandboxId();
      const c = await docker.createContainer({
        name: containerName(fake),
        Image: TEST_IMAGE,
        Entrypoint: ['sleep'],
        Cmd: ['infinity'],
        Labels: labelsFor(bridgeSpec({ id: fake, name: why })),
        HostConfig: {
          ...hostConfig({
            cpus: 1,
            memoryMb: 256,
            pidsLimit: 64,
            network: 'bridge',
            networkSlot: target,
            maxFileBytes: 0,
          }),
        },
      });
      strays.push(c.id);
      if (trusted) await expect(p.get(fake), why).resolves.toMatchObject({ id: fake });
      else await expect(p.get(fake), why).rejects.toMatchObject({ code: ErrorCode.SANDBOX_NOT_FOUND });
    }
  });

  it("sweeps the holders nobody joins: a dead server's at once, a live one's never, the rest once old", async () => {
    const p = await warmed();
    const spec = bridgeSpec();
    await p.create(spec);
    const joined = (await inspect(containerName(spec.id))).HostConfig.NetworkMode!.slice('container:'.length);
    const network = p.network.names.network;
    await until("p's refill", async () => (await holders()).filter((h) => h.State === 'running').length === 2);
    /** A holder made by `owner` and handed out, whose sandbox never came (or went behind the servers' backs). */
    const leftBy = async (owner: ServerIdentity) => {
      const slots = new NetworkSlots(docker, namespace, silentLogger(), 1, { orphanAgeMs: 0, sweepEveryMs: 0, owner });
      slots.fill(network, TEST_IMAGE);
      let id: string | undefined;
      await until('a spare', async () => (id = await slots.take(network, TEST_IMAGE)) !== undefined);
      await slots.close(); // removes its refill, not the one taken
      return id!;
    };
    const exited = spawnSync('true').pid!; // a pid whose process is gone
    const dead = await leftBy({ host: os.hostname(), pid: exited, instance: 'killed-server' });
    const liveHere = await leftBy({ ...THIS_SERVER, instance: 'another-live-server' });
    const elsewhere = await leftBy({ host: 'another-machine', pid: 1, instance: 'far-away' });
    const own = await leftBy(THIS_SERVER);
    const present = async () => new Set((await holders()).map((h) => h.Id));

    // Default ages: only the dead server's goes.
    const sweeper = new NetworkSlots(docker, namespace, silentLogger(), 1, {
      orphanAgeMs: 15 * 60_000,
      sweepEveryMs: 0,
      owner: THIS_SERVER,
    });
    await sweeper.sweep();
    let after = await present();
    expect([dead, liveHere, elsewhere, own, joined].map((id) => after.has(id))).toEqual([
      false,
      true,
      true,
      true,
      true,
    ]);

    // Once old enough, those whose server this machine cannot see alive or dead (another machine's, this server's
    // own) go too; the live server's and the joined one stay.
    const later = new NetworkSlots(docker, namespace, silentLogger(), 1, {
      orphanAgeMs: 0,
      sweepEveryMs: 0,
      owner: THIS_SERVER,
    });
    await later.sweep();
    after = await present();
    expect([liveHere, elsewhere, own, joined].map((id) => after.has(id))).toEqual([true, false, false, true]);
    // p's refill went too: p's server is this process, whose one sweeper (in a server, its only one) is `later`.
    expect(after.size).toBe(2);
    await p.remove(spec.id);
  });

  it('close removes the spares', async () => {
    const p = await warmed();
    expect((await holders()).length).toBe(1);
    await p.close();
    expect(await holders()).toEqual([]);
  });
});
