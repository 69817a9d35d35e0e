import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/providers/docker/connect.js';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { dockerSession } from '../helpers/docker-session.js';
import { tempStateDir } from '../helpers/test-config.js';
import { loadConfig } from '../../src/config.js';
import { failure } from '../helpers/tool-call.js';

describeDocker('templates and images on a real engine', () => {
  const docker = connectDocker(process.env.DOCKER_HOST);
  const tag = randomBytes(4).toString('hex');
  const builtImage = `sandbox-mcp-test/built:${tag}`;
  let s: Awaited<ReturnType<typeof dockerSession>>;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'templates-'));
    writeFileSync(
      path.join(dir, 'built.Dockerfile'),
      `FROM ${TEST_IMAGE}\nRUN echo "built from a Dockerfile" > /etc/template-marker\n`,
    );
    writeFileSync(
      path.join(dir, 'built.json'),
      JSON.stringify({
        name: 'built',
        description: 'built on first use',
        language: 'bash',
        image: builtImage,
        dockerfile: 'built.Dockerfile',
        env: { TEMPLATE_GREETING: 'from the template' },
      }),
    );
    writeFileSync(
      path.join(dir, 'unpullable.json'),
      JSON.stringify({
        name: 'unpullable',
        description: 'an image no registry here has',
        language: 'bash',
        image: `sandbox-mcp-test/nowhere:${tag}`,
      }),
    );
    // No SANDBOX_IMAGE here: these templates must use their own images.
    s = await dockerSession(
      loadConfig({ SANDBOX_STATE_DIR: tempStateDir(), SANDBOX_TEMPLATES_DIR: dir, SANDBOX_IMAGE_PYTHON: TEST_IMAGE }),
    );
  });

  afterAll(async () => {
    await s?.close();
    await docker
      .getImage(builtImage)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("builds a missing image from the template's Dockerfile on first use, with progress", async () => {
    const progress: string[] = [];
    const r = await s.ok(
      'sandbox_create',
      { template: 'built' },
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    expect(progress.join('\n')).toMatch(/building image sandbox-mcp-test\/built/);
    const out = await s.ok('sandbox_execute', {
      sandbox_id: r.sandbox_id,
      code: 'cat /etc/template-marker; echo "$TEMPLATE_GREETING"',
    });
    expect(out.output).toBe('built from a Dockerfile\nfrom the template\n');
    await docker.getImage(builtImage).inspect();
  });

  it('answers an image it can neither find nor pull with TEMPLATE_NOT_FOUND and how to point at a local one', async () => {
    const r = await s.call('sandbox_create', { template: 'unpullable' });
    expect(failure(r).code).toBe('TEMPLATE_NOT_FOUND');
    expect(failure(r).hint).toMatch(/SANDBOX_IMAGE/);
  });

  it('uses a per-template image override', async () => {
    const r = await s.ok('sandbox_create', { template: 'python' });
    expect(
      (await s.ok('sandbox_execute', { sandbox_id: r.sandbox_id, code: 'import sys; print(sys.version_info[0])' }))
        .output,
    ).toBe('3\n');
  });
});
