import type Docker from 'dockerode';
import { afterAll, expect, it } from 'vitest';
import { LABEL_PREFIX, Labels } from '../../src/labels.js';
import { silentLogger } from '../../src/logger.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

describeDocker("a server's first create, done before it is asked for", () => {
  const providers: DockerProvider[] = [];
  const made: Array<[DockerProvider, string]> = [];

  /** A provider whose engine calls that matter here are noted in order: the filter's helper, inspects, creates. */
  const watched = () => {
    const docker = connectDocker(process.env.DOCKER_HOST);
    const calls: string[] = [];
    const run = docker.run.bind(docker);
    docker.run = ((...args: Parameters<Docker['run']>) => (
      calls.push('network filter helper'),
      run(...args)
    )) as Docker['run'];
    const createContainer = docker.createContainer.bind(docker);
    docker.createContainer = (opts) => {
      if (opts.Labels?.[Labels.id]) calls.push('create container'); // a sandbox's (the helper's is a docker.run)
      return createContainer(opts);
    };
    const getImage = docker.getImage.bind(docker);
    docker.getImage = (name) => (calls.push(`image ${name}`), getImage(name));
    const p = new DockerProvider(docker, { pidsLimit: 256, network: { allow: [], filter: true } }, silentLogger());
    providers.push(p);
    return { p, calls, docker };
  };

  afterAll(async () => {
    for (const [p, id] of made) await p.remove(id).catch(() => undefined);
    for (const p of providers) await p.close();
  });

  it('checks the image and installs the network filter at warm-up, so the first create only makes its container', async () => {
    const { p, calls } = watched();
    await p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'bridge' });
    expect(calls).toEqual([`image ${TEST_IMAGE}`, 'network filter helper']);
    calls.length = 0;
    const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } }, network: 'bridge' });
    await p.create(spec);
    made.push([p, spec.id]);
    expect(calls).toEqual(['create container']);
  });

  it('pulls nothing, and leaves the network alone when sandboxes have none by default', async () => {
    const missing = watched();
    await missing.p.warmUp({ sources: [{ docker: { image: 'sandbox-mcp-test/not-here:never' } }], network: 'bridge' });
    expect(missing.calls).toEqual(['image sandbox-mcp-test/not-here:never']);
    const noNetwork = watched();
    await noNetwork.p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'none' });
    expect(noNetwork.calls).toEqual([`image ${TEST_IMAGE}`]);
  });

  it('leaves no helper container behind when the server closes in the middle of its warm-up', async () => {
    const { p, docker } = watched();
    const helpers: Array<Promise<string>> = [];
    const createContainer = docker.createContainer.bind(docker);
    docker.createContainer = (opts) => {
      const made = createContainer(opts);
      if (opts.Labels?.[`${LABEL_PREFIX}.helper`]) helpers.push(made.then((c) => c.id));
      return made;
    };
    void p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'bridge' });
    await p.close();
    expect(helpers).toHaveLength(1); // the close waited for the warm-up to start it, and for it to end
    const id = await helpers[0]!;
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it(
    'removes the exited filter helpers that servers killed in their middle left behind',
    { timeout: 60_000 },
    async () => {
      const { p, docker } = watched();
      const left = await docker.createContainer({
        Image: TEST_IMAGE,
        Cmd: ['true'],
        Labels: { [`${LABEL_PREFIX}.helper`]: 'network-filter' },
      });
      await left.start();
      await left.wait();
      // Its server would have removed it within seconds, had it lived: one exited for longer was left behind.
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      await p.warmUp({ sources: [{ docker: { image: TEST_IMAGE } }], network: 'bridge' });
      await expect
        .poll(() =>
          left.inspect().then(
            () => 'still there',
            (e: { statusCode?: number }) => e.statusCode,
          ),
        )
        .toBe(404);
    },
  );
});
