import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';

// An upload near SANDBOX_MAX_UPLOAD_SIZE (10 MiB) is a ~13 MB message as base64: over the MCP SDK's own stdio cap
// (10 MiB), which used to close the transport and leave the call unanswered.
describeDocker('a large upload over stdio', () => {
  let server: Awaited<ReturnType<typeof spawnServer>>;
  let id: string | undefined;

  beforeAll(async () => {
    server = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() });
  });
  afterAll(async () => {
    if (id) await server.call('sandbox_delete', { sandbox_id: id }).catch(() => undefined);
    await server?.close();
  });

  it('writes a 9 MiB file sent as base64, with the checksum computed inside the sandbox', async () => {
    id = (await server.call('sandbox_create', { template: 'base' })).structuredContent.sandbox_id as string;
    const data = randomBytes(9 * 1024 * 1024);
    const r = await server.call('sandbox_upload', {
      sandbox_id: id,
      file_path: 'big.bin',
      content: data.toString('base64'),
      encoding: 'base64',
    });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      size_bytes: data.length,
      checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`,
    });
  });
});
