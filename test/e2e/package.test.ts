import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDocker, TEST_IMAGE } from '../helpers/docker-env.js';
import { TEST_NAMESPACE, tempStateDir } from '../helpers/test-config.js';
import { ok, toolCaller } from '../helpers/tool-call.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

/**
 * The repository as a fresh clone has it: tracked (and new, not ignored) files, so no dist/. Its node_modules is
 * the repository's, so that `prepare` can build without downloading the dev tools again.
 */
function cleanCheckout(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-checkout-'));
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], repo)
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(repo, file))) continue; // deleted in the work tree
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(repo, file), path.join(dir, file));
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe('the npm package', () => {
  const made: string[] = [];
  let tarball = '';
  let consumer = '';

  beforeAll(() => {
    const checkout = cleanCheckout();
    const out = mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-pack-'));
    consumer = mkdtempSync(path.join(os.tmpdir(), 'sandbox-mcp-consumer-'));
    made.push(checkout, out, consumer);
    expect(existsSync(path.join(checkout, 'dist'))).toBe(false);
    run('npm', ['pack', '--pack-destination', out], checkout);
    tarball = path.join(
      out,
      readdirSync(out).find((f) => f.endsWith('.tgz'))!,
    );
    // An empty project that installs only the tarball and its production dependencies, as npx does.
    writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], consumer);
  }, 600_000);

  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('is built by npm pack from a clean checkout and ships what runs', () => {
    const files = run('tar', ['tzf', tarball], os.tmpdir()).split('\n');
    for (const f of [
      'dist/index.js',
      'templates/base.json',
      'templates/dockerfiles/base.Dockerfile',
      'scripts/build-offline-image.sh',
      'README.md',
      'LICENSE',
      '.env.example',
    ]) {
      expect(files, f).toContain(`package/${f}`);
    }
    expect(files.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);
  });

  it('installs without dev dependencies', () => {
    const modules = path.join(consumer, 'node_modules');
    expect(existsSync(path.join(modules, 'sandbox-mcp', 'dist', 'index.js'))).toBe(true);
    for (const dev of ['vitest', 'tsup', 'typescript', 'tsx'])
      expect(existsSync(path.join(modules, dev)), dev).toBe(false);
  });

  describeDocker('launched with npx -y', () => {
    it('serves tools/list, create, execute and delete over stdio', async () => {
      const transport = new StdioClientTransport({
        command: 'npx',
        args: ['-y', 'sandbox-mcp'],
        cwd: consumer,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
          SANDBOX_IMAGE: TEST_IMAGE,
          SANDBOX_STATE_DIR: tempStateDir(),
          SANDBOX_NAMESPACE: TEST_NAMESPACE,
        },
        stderr: 'pipe',
      });
      const client = new Client({ name: 'npx-test', version: '1.0.0' });
      await client.connect(transport);
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toEqual(
          expect.arrayContaining(['sandbox_create', 'sandbox_execute', 'sandbox_delete']),
        );
        const call = toolCaller(client, 300_000);
        const created = await call('sandbox_create', { template: 'base' });
        expect(created.isError, JSON.stringify(created.structuredContent)).toBeFalsy();
        const id = ok(created).sandbox_id;
        try {
          const r = await call('sandbox_execute', {
            sandbox_id: id,
            language: 'bash',
            code: 'echo "from the package: $((6 * 7))"',
          });
          expect(r.structuredContent).toMatchObject({
            status: 'completed',
            exit_code: 0,
            output: 'from the package: 42\n',
          });
        } finally {
          const deleted = await call('sandbox_delete', { sandbox_id: id });
          expect(deleted.isError).toBeFalsy();
        }
      } finally {
        await client.close();
      }
    }, 300_000);
  });
});
