import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { DockerProvider } from '../../src/providers/docker/docker-provider.js';
import { baseSpec } from '../contract/provider-contract.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';

// Where the container's bridge address is out of reach (Docker Desktop, a remote engine), ports added after
// create go through an exec relay; `portForward: 'exec'` forces that path on this Linux engine.
describeDocker('port forwards through an exec relay', () => {
  const provider = new DockerProvider(
    connectDocker(process.env.DOCKER_HOST),
    { pidsLimit: 256, portForward: 'exec' },
    silentLogger(),
  );
  const spec = baseSpec({ sources: { docker: { image: TEST_IMAGE } }, name: 'relay' });
  const server = new AbortController();
  let served: Promise<unknown>;

  beforeAll(async () => {
    await provider.create(spec);
    // Bound to 127.0.0.1 inside: only a path from inside the container reaches it.
    served = provider.run(spec.id, {
      argv: [
        'sh',
        '-c',
        'mkdir -p /tmp/www && cd /tmp/www && echo relayed > index.html && head -c 300000 /dev/urandom > blob && exec python3 -m http.server 8002 --bind 127.0.0.1',
      ],
      user: 'user',
      env: {},
      cwd: '/home/user',
      timeoutMs: 120_000,
      signal: server.signal,
    });
  });

  afterAll(async () => {
    server.abort();
    await served;
    await provider.remove(spec.id).catch(() => undefined);
    await provider.close();
  });

  it('serves a port added later through the relay, bytes intact', async () => {
    const urls = await provider.portUrls(spec.id, [8002]);
    const url = urls['8002']!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    let text: string | undefined;
    for (let i = 0; i < 60 && text === undefined; i++) {
      text = await fetch(`${url}/index.html`).then(
        (r) => (r.ok ? r.text() : undefined),
        () => undefined,
      );
      if (text === undefined) await new Promise((done) => setTimeout(done, 500));
    }
    expect(text).toBe('relayed\n');
    const blob = Buffer.from(await (await fetch(`${url}/blob`)).arrayBuffer());
    let sum = '';
    await provider.run(spec.id, {
      argv: ['sha256sum', '/tmp/www/blob'],
      user: 'user',
      env: {},
      cwd: '/',
      timeoutMs: 30_000,
      onOutput: (stream, chunk) => (sum += stream === 'stdout' ? chunk.toString() : ''),
    });
    expect(blob.length).toBe(300000);
    expect(createHash('sha256').update(blob).digest('hex')).toBe(sum.split(' ')[0]);
  });
});
