import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { assertBuilt, SERVER_ENTRY, spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { ok } from '../helpers/tool-call.js';

describeDocker('messages as large as the limits allow, over real stdio', () => {
  const servers: Awaited<ReturnType<typeof spawnServer>>[] = [];
  const created: Array<{ server: Awaited<ReturnType<typeof spawnServer>>; id: string }> = [];

  afterAll(async () => {
    for (const { server, id } of created)
      await server.call('sandbox_delete', { sandbox_id: id }).catch(() => undefined);
    for (const s of servers) await s.close();
  });

  it('takes an upload at the documented 10 MiB limit (13.4 MiB of base64) and keeps serving', async () => {
    const server = await spawnServer({ SANDBOX_IMAGE: TEST_IMAGE, SANDBOX_STATE_DIR: tempStateDir() });
    servers.push(server);
    const create = await server.call('sandbox_create', { template: 'base' });
    expect(create.isError, JSON.stringify(create.structuredContent)).toBeFalsy();
    const id = ok(create).sandbox_id;
    created.push({ server, id });

    const data = randomBytes(10 * 1024 * 1024);
    const upload = await server.call('sandbox_upload', {
      sandbox_id: id,
      file_path: 'big.bin',
      content: data.toString('base64'),
      encoding: 'base64',
    });
    expect(upload.isError, JSON.stringify(upload.structuredContent)).toBeFalsy();
    expect(upload.structuredContent).toMatchObject({
      size_bytes: data.length,
      checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`,
    });
    const run = await server.call('sandbox_execute', { sandbox_id: id, code: 'stat -c %s big.bin', language: 'bash' });
    expect(ok(run).output.trim()).toBe(String(data.length));
  });

  it('moves binary and text files up and down byte for byte, at sizes up to 8 MiB', async () => {
    const server = await spawnServer(
      {
        SANDBOX_IMAGE: TEST_IMAGE,
        SANDBOX_STATE_DIR: tempStateDir(),
        SANDBOX_MAX_DOWNLOAD_SIZE: String(16 * 1024 * 1024),
      },
      { maxBufferSize: 64 * 1024 * 1024 },
    );
    servers.push(server);
    const id = ok(await server.call('sandbox_create', { template: 'base' })).sandbox_id;
    created.push({ server, id });
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    // Text that JSON escapes (quotes, backslashes, newlines, a control character) and multibyte characters.
    const text = (n: number) => {
      const unit = 'line "quoted" \\ back\tslash é€😀 \u0001\n';
      return unit.repeat(Math.ceil(n / Buffer.byteLength(unit)));
    };
    // Small (the line parsed whole), past the transport's scanning threshold, and 8 MiB (the benchmark's size).
    for (const size of [50_000, 400_000, 8 * 1024 * 1024]) {
      const binary = randomBytes(size);
      const up = await server.call('sandbox_upload', {
        sandbox_id: id,
        file_path: `bin-${size}.bin`,
        content: binary.toString('base64'),
        encoding: 'base64',
      });
      expect(up.isError, JSON.stringify(up.structuredContent)).toBeFalsy();
      expect(ok(up)).toMatchObject({ size_bytes: size, checksum: sha(binary) });
      const down = ok(await server.call('sandbox_download', { sandbox_id: id, file_path: `bin-${size}.bin` }));
      expect(down).toMatchObject({ size_bytes: size, checksum: sha(binary), encoding: 'base64' });
      expect(Buffer.from(down.content!, 'base64').equals(binary)).toBe(true);

      const words = text(size);
      const bytes = Buffer.from(words, 'utf8');
      const upText = ok(
        await server.call('sandbox_upload', { sandbox_id: id, file_path: `t-${size}.txt`, content: words }),
      );
      expect(upText).toMatchObject({ size_bytes: bytes.length, checksum: sha(bytes) });
      const downText = ok(await server.call('sandbox_download', { sandbox_id: id, file_path: `t-${size}.txt` }));
      expect(downText).toMatchObject({ checksum: sha(bytes), encoding: 'utf8', mime_type: 'text/plain' });
      expect(downText.content === words).toBe(true);
      const asBase64 = ok(
        await server.call('sandbox_download', { sandbox_id: id, file_path: `t-${size}.txt`, encoding: 'base64' }),
      );
      expect(asBase64.content === bytes.toString('base64')).toBe(true);
    }
    // Content that is not base64, in a line long enough to be spilled: refused as before.
    const bad = await server.call('sandbox_upload', {
      sandbox_id: id,
      file_path: 'bad.bin',
      content: `${randomBytes(300_000).toString('base64')}!`,
      encoding: 'base64',
    });
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent).toMatchObject({
      error: { code: 'INVALID_ARGUMENT', message: 'content is not valid base64.' },
    });
  });

  it('answers a message over its limit with an error for that call, and the session goes on', async () => {
    // A small upload limit makes the message limit small: 6 x 100 KiB (the code limit) + 1 MiB.
    const server = await spawnServer({
      SANDBOX_IMAGE: TEST_IMAGE,
      SANDBOX_STATE_DIR: tempStateDir(),
      SANDBOX_MAX_UPLOAD_SIZE: '65536',
    });
    servers.push(server);
    const tooBig = server.call('sandbox_upload', {
      sandbox_id: 'sbx-000000000000',
      file_path: 'x',
      content: 'x'.repeat(3 * 1024 * 1024),
    });
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

describeDocker('a broken stdio channel', () => {
  it('is logged and ends the server with a non-zero exit', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SANDBOX_STATE_DIR: tempStateDir(),
        SANDBOX_IMAGE: TEST_IMAGE,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The client stops reading: the server's answers meet a closed pipe (EPIPE) while stdin stays open.
    child.stdout.destroy();
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) + '\n';
    const timer = setInterval(() => child.stdin.write(ping), 100);
    const code = await ended;
    clearInterval(timer);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/stdio transport failed/);
  }, 30_000);
});
