import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { Labels } from '../../src/labels.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { containerName } from '../../src/providers/docker/owned-containers.js';
import { dockerOptions } from '../../src/providers/index.js';
import { reapExpired } from '../../src/sandbox/background/reaper.js';
import { describeDocker } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { testConfig } from '../helpers/test-config.js';

type Session = Awaited<ReturnType<typeof dockerSession>>;

/**
 * What a warm sandbox's claim asks of the engine before sandbox_create answers (nothing, when the agent shows the
 * sandbox running), and what becomes of the end it was given: written on the engine after the answer, and, when
 * that write never lands (a crash, a failing engine), kept by the record of its state folder.
 */
describeDocker('warm pool: the claim', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const config = testConfig({ SANDBOX_POOL_SIZE: '1', SANDBOX_POOL_TEMPLATES: 'python' });
  const sessions: Session[] = [];
  let s: Session;

  /** The warm sandbox, once its agent is ready (what a claim normally finds). */
  const readyWarm = async (session: Session): Promise<string> => {
    await session.sandboxes.ctx.pool!.settled();
    let warm: string | undefined;
    await vi.waitFor(
      async () => {
        for (const c of await docker.listContainers({
          filters: { label: [`${Labels.namespace}=${config.namespace}`] },
        })) {
          const id = c.Labels[Labels.id]!;
          if ((await session.sandboxes.ctx.records.get(id))?.warm) warm = id;
        }
        expect(warm && session.provider.knownRunning(warm)).toBe(true);
      },
      { timeout: 60_000, interval: 100 },
    );
    return warm!;
  };

  const expiryVolumes = async (id: string) =>
    (await docker.listVolumes({ filters: { label: [`${Labels.expiryOf}=${id}`] } })).Volumes ?? [];

  /** Holds the engine's volume creations (expiry writes) until `open()`; `writes` are those asked for. */
  const holdExpiryWrites = () => {
    const original = Docker.prototype.createVolume;
    const writes: string[] = [];
    let opened = false;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    vi.spyOn(Docker.prototype, 'createVolume').mockImplementation(function (this: Docker, ...args: unknown[]) {
      writes.push((args[0] as { Labels: Record<string, string> }).Labels[Labels.expiryOf]!);
      return gate.then(() => (original as (...a: unknown[]) => unknown).apply(this, args)) as never;
    });
    return {
      writes,
      get opened() {
        return opened;
      },
      open: () => {
        opened = true;
        open();
      },
    };
  };

  beforeAll(async () => {
    s = await dockerSession(config);
    sessions.push(s);
    s.sandboxes.ctx.pool!.start();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    for (const session of sessions.reverse()) await session.close();
  });

  it('answers without asking the engine anything, and writes the end on it after', async () => {
    const warm = await readyWarm(s);
    const { Id } = await docker.getContainer(containerName(warm)).inspect();
    const inspects = vi.spyOn(Object.getPrototypeOf(docker.getContainer(Id)), 'inspect');
    const held = holdExpiryWrites();
    // Were the answer to wait for the write, it would come only once this opens it.
    const breaker = setTimeout(held.open, 15_000);

    const created = await s.ok('sandbox_create', { template: 'python', timeout: 600 });
    const openedBeforeAnswer = held.opened;
    clearTimeout(breaker);
    expect(created.sandbox_id).toBe(warm);
    expect(openedBeforeAnswer).toBe(false);
    const inspected = inspects.mock.contexts.filter((c) =>
      [Id, containerName(warm)].includes((c as { id: string }).id),
    );
    expect(inspected).toHaveLength(0);
    // Asked for right after the answer (it may come before or after it), and held until opened.
    await vi.waitFor(() => expect(held.writes).toContain(warm));
    expect(await expiryVolumes(warm)).toHaveLength(0);

    // Meanwhile this server already says the end it was given (shorter than the warm lease on the label).
    expect((await s.ok('sandbox_status', { sandbox_id: warm })).sandbox.expires_at).toBe(created.expires_at);
    held.open();
    await vi.waitFor(async () => expect(await expiryVolumes(warm)).toHaveLength(1), { timeout: 30_000 });
    // Every server of the namespace reads it from the engine, whatever its state folder.
    const other = new DockerProvider(
      connectDocker(process.env.DOCKER_HOST),
      dockerOptions(testConfig()),
      pino({ level: 'silent' }),
    );
    expect((await other.get(warm)).expiresAt.toISOString()).toBe(created.expires_at);
    await other.close();
    const run = await s.ok('sandbox_execute', { sandbox_id: warm, code: 'print(1)' });
    expect(run.output).toBe('1\n');
  });

  it('asks the engine when the agent no longer shows the sandbox running, and hands out no stopped one', async () => {
    const warm = await readyWarm(s);
    await docker.getContainer(containerName(warm)).kill();
    await vi.waitFor(() => expect(s.provider.knownRunning(warm)).toBe(false), { timeout: 30_000 });

    const created = await s.ok('sandbox_create', { template: 'python' });
    expect(created.sandbox_id).not.toBe(warm);
    expect((await s.ok('sandbox_execute', { sandbox_id: created.sandbox_id, code: 'print(2)' })).output).toBe('2\n');
    await expect(docker.getContainer(containerName(warm)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('keeps a claimed sandbox whose end never reached the engine until the end its record holds', async () => {
    const warm = await readyWarm(s);
    const { Config } = await docker.getContainer(containerName(warm)).inspect();
    const leaseEnds = Date.parse(Config.Labels[Labels.expiresAt]!);
    vi.spyOn(Docker.prototype, 'createVolume').mockRejectedValue(new Error('the engine failed the write'));

    const created = await s.ok('sandbox_create', { template: 'python', timeout: 7200 });
    expect(created.sandbox_id).toBe(warm);
    await vi.waitFor(() => expect(s.logs.text).toMatch(/could not write a sandbox's end on the engine/), {
      timeout: 30_000,
    });
    expect(await expiryVolumes(warm)).toHaveLength(0);
    vi.restoreAllMocks();

    // The server goes; another takes over its state folder after the warm lease has ended.
    await s.detach();
    sessions.splice(sessions.indexOf(s), 1);
    const next = await dockerSession(config, undefined, s.created);
    sessions.push(next);
    const recordEnds = Date.parse(created.expires_at);
    expect(recordEnds).toBeGreaterThan(leaseEnds);
    expect(await reapExpired(next.sandboxes.ctx, new Date(leaseEnds + 60_000))).not.toContain(warm);
    expect(await reapExpired(next.sandboxes.ctx, new Date(recordEnds + 1000))).toContain(warm);
  });
});
