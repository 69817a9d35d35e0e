import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { spawnServer } from '../helpers/stdio-server.js';
import { tempStateDir } from '../helpers/test-config.js';
import { ok as outputOf, okCaller, trackingCreated } from '../helpers/tool-call.js';

describeDocker('the built server over stdio', () => {
  const env = {
    SANDBOX_IMAGE: TEST_IMAGE,
    SANDBOX_STATE_DIR: tempStateDir(),
    SANDBOX_LOG_LEVEL: 'debug',
    SANDBOX_REAP_INTERVAL: '1',
  };
  let server: Awaited<ReturnType<typeof spawnServer>>;
  let id: string;
  const created = new Set<string>();

  const ok = okCaller(trackingCreated((name, args, options) => server.call(name, args, options), created));

  beforeAll(async () => {
    server = await spawnServer(env);
  });

  afterAll(async () => {
    if (server) {
      for (const sid of created) await server.call('sandbox_delete', { sandbox_id: sid }).catch(() => undefined);
      await server.close();
    }
  });

  it('lists ten tools, each with an output schema the client checks results against', () => {
    expect(server.tools).toHaveLength(10);
    for (const t of server.tools) expect(t.outputSchema?.type).toBe('object');
  });

  it('serves every tool with every parameter, end to end', async () => {
    const create = await ok('sandbox_create', {
      template: 'python',
      name: 'e2e',
      timeout: 900,
      env_vars: { API_KEY: 'e2e-secret-value-123' },
      install_packages: ['apt:jq'],
      startup_script: 'echo ready > ready.txt',
      metadata: { owner: 'e2e' },
      cpus: 1,
      memory_mb: 512,
      network: 'bridge',
    });
    id = create.sandbox_id;
    expect(create).toMatchObject({
      name: 'e2e',
      template: 'python',
      provider: 'docker',
      status: 'running',
      env_vars_configured: 1,
      env_var_names: ['API_KEY'],
      packages_installed: 1,
      packages: ['jq'],
      startup_script_configured: true,
      timeout: 900,
      metadata: { owner: 'e2e' },
      memory_mb: 512,
    });

    const progress: string[] = [];
    const exec = await ok(
      'sandbox_execute',
      {
        sandbox_id: id,
        code: 'import os, sys\nprint(sys.stdin.read().strip(), os.environ["RUN_ONLY"], len(os.environ["API_KEY"]), os.getcwd())',
        language: 'python',
        timeout: 30,
        env_vars: { RUN_ONLY: 'yes' },
        working_dir: '/tmp',
        stdin: 'hello',
        capture_output: true,
      },
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    expect(exec).toMatchObject({
      status: 'completed',
      exit_code: 0,
      output: 'hello yes 20 /tmp\n',
      error: '',
      output_truncated: false,
    });
    expect(progress.join('')).toContain('hello yes 20 /tmp');

    const content = Buffer.from('#!/bin/sh\necho "$(cat ready.txt) and $(jq -n 1+1)"\n');
    const upload = await ok('sandbox_upload', {
      sandbox_id: id,
      file_path: 'bin/hello.sh',
      content: content.toString('base64'),
      encoding: 'base64',
      permissions: '755',
    });
    expect(upload).toMatchObject({
      file_path: '/home/user/bin/hello.sh',
      size_bytes: content.length,
      permissions: '755',
    });
    expect(upload.checksum).toBe(`sha256:${createHash('sha256').update(content).digest('hex')}`);
    expect((await ok('sandbox_execute', { sandbox_id: id, language: 'bash', code: './bin/hello.sh' })).output).toBe(
      'ready and 2\n',
    );

    const configure = await ok('sandbox_configure', {
      sandbox_id: id,
      env_vars: { MODE: 'test' },
      install_packages: ['apt:tree'],
      run_commands: ['tree --version | head -c 4'],
      timeout: 1200,
    });
    expect(configure).toMatchObject({
      env_vars_updated: 1,
      env_var_names: ['MODE'],
      packages_installed: 1,
      packages: ['tree'],
      commands_executed: 1,
      status: 'running',
    });
    expect(configure.steps.map((s) => s.type)).toEqual(['install', 'command']);

    const list = await ok('sandbox_list', {
      status: 'running',
      template: 'python',
      limit: 10,
      sort_by: 'last_activity',
      order: 'desc',
    });
    expect(list.sandboxes.map((s) => s.sandbox_id)).toContain(id);

    const status = await ok('sandbox_status', { sandbox_id: id });
    expect(status.sandbox).toMatchObject({ id, status: 'running', environment: { env_vars: 2 } });

    const logs = await ok('sandbox_logs', { sandbox_id: id, lines: 50, log_level: 'info', include_timestamps: true });
    expect(
      logs.logs.some(
        (l: { source: string; message: string }) => l.source === 'stdout' && l.message === 'hello yes 20 /tmp',
      ),
    ).toBe(true);
    expect(logs.logs.every((l) => typeof l.timestamp === 'string')).toBe(true);

    expect(await ok('sandbox_stop', { sandbox_id: id })).toMatchObject({
      previous_status: 'running',
      current_status: 'stopped',
      data_preserved: true,
    });
    const deleted = await ok('sandbox_delete', { sandbox_id: id });
    expect(deleted.resources_cleaned).toContain('container');
    created.delete(id);
    expect(JSON.stringify(server.stderr())).not.toContain('e2e-secret-value-123');
    expect(server.stderr()).toMatch(/"msg":"sandbox created"/);
  });

  it("hands back a chart drawn with Python's standard library as an image block, in a one-off run", async () => {
    const code = [
      'import struct, zlib',
      'w, h = 32, 16',
      'raw = b"".join(b"\\x00" + b"".join(bytes([(x * 8) % 256, 80, 160]) for x in range(w)) for _ in range(h))',
      'def chunk(kind, data):',
      '    body = kind + data',
      '    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xffffffff)',
      'open("chart.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))',
    ].join('\n');
    const r = await server.call('sandbox_execute', { template: 'python', code, return_files: ['chart.png'] });
    const { files = [] } = outputOf(r);
    expect(files).toMatchObject([{ path: '/home/user/chart.png', mime_type: 'image/png', included: true }]);
    const image = (r.content as Array<{ type: string; data?: string; mimeType?: string }>).find(
      (b) => b.type === 'image',
    );
    expect(image?.mimeType).toBe('image/png');
    const png = Buffer.from(image!.data!, 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(32); // IHDR width
    expect(files[0]!.size_bytes).toBe(png.length);
  });

  it('keeps history and expiry across a SIGKILL of the server, and removes what expired meanwhile', async () => {
    const keep = await ok('sandbox_create', { template: 'python', name: 'survivor' });
    const doomed = await ok('sandbox_create', { template: 'python', name: 'short-lived', timeout: 10 });
    await ok('sandbox_execute', { sandbox_id: keep.sandbox_id, code: 'print("before the crash")' });
    process.kill(server.pid()!, 'SIGKILL');
    await server.close().catch(() => undefined);

    server = await spawnServer(env);
    const logs = await ok('sandbox_logs', { sandbox_id: keep.sandbox_id });
    expect(logs.logs.map((l) => l.message)).toContain('before the crash');
    expect((await ok('sandbox_execute', { sandbox_id: keep.sandbox_id, code: 'print("after")' })).output).toBe(
      'after\n',
    );

    // The new server sweeps every second; the short-lived sandbox's 10 s run out meanwhile.
    const deadline = Date.now() + 60_000;
    let ids: string[] = [];
    do {
      ids = (await ok('sandbox_list', {})).sandboxes.map((s) => s.sandbox_id);
      if (!ids.includes(doomed.sandbox_id)) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < deadline);
    expect(ids).not.toContain(doomed.sandbox_id);
    expect(ids).toContain(keep.sandbox_id);
    created.delete(doomed.sandbox_id);
  });
});
