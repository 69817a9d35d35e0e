import { createHash, randomBytes } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';

describeDocker('messages as large as the limits allow, over real stdio', () => {
  const servers: Awaited<ReturnType<typeof spawnServer>>[] = [];
  const created: Array<{ server: Awaited<ReturnType<typeof spawnServer>>; id: string }> = [];

  afterAll(async () => {
    for (const { server, id } of created) await server.call('sandbox_delete', { sandbox_id: id }).catch(() => undefined);
    for (const s of servers) await s.close();
  });

  it('takes an upload at the documented 10 MiB limit (13.4 MiB of base64) and keeps serving', async () => {
    const server = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() });
    servers.push(server);
    const create = await server.call('sandbox_create', { template: 'base' });
    expect(create.isError, JSON.stringify(create.structuredContent)).toBeFalsy();
    const id = create.structuredContent.sandbox_id as string;
    created.push({ server, id });

    const data = randomBytes(10 * 1024 * 1024);
    const upload = await server.call('sandbox_upload', { sandbox_id: id, file_path: 'big.bin', content: data.toString('base64'), encoding: 'base64' });
    expect(upload.isError, JSON.stringify(upload.structuredContent)).toBeFalsy();
    expect(upload.structuredContent).toMatchObject({
      size_bytes: data.length,
      checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`,
    });
    const run = await server.call('sandbox_execute', { sandbox_id: id, code: 'stat -c %s big.bin', language: 'bash' });
    expect(run.structuredContent.output.trim()).toBe(String(data.length));
  });

  it('answers a message over its limit with an error for that call, and the session goes on', async () => {
    // A small upload limit makes the message limit small: 6 x 100 KiB (the code limit) + 1 MiB.
    const server = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir(), SANDBOX_MAX_UPLOAD_SIZE: '65536' });
    servers.push(server);
    const tooBig = server.call('sandbox_upload', { sandbox_id: 'sbx-000000000000', file_path: 'x', content: 'x'.repeat(3 * 1024 * 1024) });
    const err = await tooBig.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32600);
    expect((err as McpError).message).toMatch(/too large/);
    // The same connection still answers.
    const list = await server.call('sandbox_list', {});
    expect(list.isError).toBeFalsy();
    expect(server.stderr()).toMatch(/MCP protocol error/);
  });
});
