/**
 * A local fake of E2B's cloud, for tests: E2B's API and sandboxes are not reachable from here, so this fakes
 * them closely enough that the REAL `e2b` SDK (2.51) talks to it over HTTP, unchanged. It is a test double with
 * two runtimes:
 * - `local` (default): a "sandbox" is a temporary directory plus local child processes (see state.ts for what
 *   that simplifies: commands see host paths, run as the current OS user);
 * - `docker`: a "sandbox" is a real container of `image` shaped like an E2B template (see docker.ts): real users
 *   (`user` with passwordless sudo), absolute paths, permissions, /proc; pause freezes the container, kill
 *   removes it.
 *
 * `plan` ('hobby' default, or 'pro') sets the account's caps (plans.ts): the longest lifetime and how many
 * sandboxes may run at once. Only the templates in `templates` exist (default: `base`).
 *
 * Two servers on 127.0.0.1, random ports, mirroring E2B's split:
 * - `apiUrl`: the REST API (rest-api.ts), authenticated with `X-API-KEY`;
 * - `sandboxUrl`: envd behind the client proxy (envd-server.ts): Connect RPC for processes and the filesystem,
 *   and `/files` for uploads and downloads.
 *
 * Point the SDK at it with the options `{ apiUrl, sandboxUrl, apiKey }` (`fake.connectionOpts`) on
 * Sandbox.create / Sandbox.connect / Sandbox.list / static calls, or the env vars in `fake.env`
 * (E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY). E2B_DEBUG / `debug: true` must stay off: in debug mode the SDK
 * skips the API entirely.
 *
 * Usage:
 *   const fake = await startFakeE2B({ pageSize: 2, plan: 'pro' });
 *   const sbx = await Sandbox.create({ ...fake.connectionOpts, metadata: { suite: 'x' } });
 *   await sbx.commands.run('echo hi');   // runs `/bin/bash -l -c 'echo hi'` locally
 *   const real = await startFakeE2B({ runtime: 'docker', image: 'sandbox-mcp/debian-base:bookworm' });
 *   fake.failNext(429);                  // the next REST call answers 429 -> RateLimitError
 *   await fake.close();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DockerRuntime } from './docker.js';
import { createEnvdHandler } from './envd-server.js';
import { createRestHandler } from './rest-api.js';
import { PLANS, type Plan } from './plans.js';
import { FakeE2BState, type FakeSandbox } from './state.js';

export type { FakeSandbox, FakeProcess, SandboxState } from './state.js';
export { FAKE_E2B_LABEL } from './docker.js';
export { PLANS, type Plan } from './plans.js';

interface CommonOptions {
  /** The only API key the fake accepts (others get 401). Default: a random `e2b_fake_…` key. */
  apiKey?: string;
  /** Largest page `GET /v2/sandboxes` returns, whatever the SDK's `limit` (default 100, E2B's maximum). */
  pageSize?: number;
  /** envd version reported for new sandboxes; it gates SDK features (default '0.5.7': closeStdin, raw uploads). */
  envdVersion?: string;
  /** The account's plan: lifetime and concurrency caps (default 'hobby'). */
  plan?: Plan['name'];
  /** Template IDs that exist (default ['base']); create answers 404 for others. */
  templates?: string[];
  /** Reported by getInfo / metrics only: neither runtime enforces them. */
  cpuCount?: number;
  memoryMB?: number;
  diskSizeMB?: number;
}

export interface LocalRuntimeOptions extends CommonOptions {
  runtime?: 'local';
}

export interface DockerRuntimeOptions extends CommonOptions {
  runtime: 'docker';
  /** The image every sandbox runs (whatever template is asked for); needs sh, coreutils, findutils and a `user`. */
  image: string;
  /** DOCKER_HOST for the docker CLI; default: the environment's. */
  dockerHost?: string;
}

export type FakeE2BOptions = LocalRuntimeOptions | DockerRuntimeOptions;

export interface FakeE2B {
  /** REST API base URL (E2B_API_URL / `apiUrl`). */
  apiUrl: string;
  /** envd base URL for every sandbox (E2B_SANDBOX_URL / `sandboxUrl`). */
  sandboxUrl: string;
  apiKey: string;
  runtime: 'local' | 'docker';
  plan: Plan;
  /** Spread into any SDK call's options: `{ apiUrl, sandboxUrl, apiKey }`. */
  connectionOpts: { apiUrl: string; sandboxUrl: string; apiKey: string };
  /** The same as environment variables, for code that reads them. */
  env: { E2B_API_URL: string; E2B_SANDBOX_URL: string; E2B_API_KEY: string };
  /** Live state, keyed by sandbox id (killed sandboxes are removed). */
  sandboxes: Map<string, FakeSandbox>;
  /**
   * Run `step` on the sandbox right before the next connect request is handled, e.g. pause it to play another
   * client stopping it between a caller's check and its connect.
   */
  beforeNextConnect(step: (sandbox: FakeSandbox) => Promise<void>): void;
  /** Pause a sandbox as E2B's API does (memory kept unless `memory` is false). */
  pause(sandboxId: string, memory?: boolean): Promise<void>;
  /** Answer the next `times` REST requests with `status` and an E2B error body (429 -> RateLimitError, ...). */
  failNext(status: number, times?: number): void;
  /** HTTP requests received so far by the REST API and by envd (for counting a client's round trips). */
  requests: { api: number; envd: number };
  /** Kill every sandbox's processes, delete their directories or containers (every one it made), stop both servers. */
  close(): Promise<void>;
}

function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onRequest: () => void = () => undefined,
): Promise<Server> {
  const server = createServer((req, res) => {
    onRequest();
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ code: 500, message: String(err) }));
      else res.destroy();
    });
  });
  // Command streams can last as long as the command: no server-side request timeout.
  server.requestTimeout = 0;
  server.timeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function urlOf(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address}:${port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startFakeE2B(options: FakeE2BOptions = {}): Promise<FakeE2B> {
  const apiKey = options.apiKey ?? `e2b_fake_${randomBytes(16).toString('hex')}`;
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error('pageSize must be a positive integer');
  let docker: DockerRuntime | undefined;
  if (options.runtime === 'docker') {
    if (!options.image) throw new Error("startFakeE2B: runtime 'docker' needs an image");
    docker = new DockerRuntime({
      image: options.image,
      ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
    });
  }
  const baseDir = await mkdtemp(join(tmpdir(), 'fake-e2b-'));
  const state = new FakeE2BState({
    baseDir,
    ...(docker ? { docker } : {}),
    envdVersion: options.envdVersion ?? '0.5.7',
    cpuCount: options.cpuCount ?? 2,
    memoryMB: options.memoryMB ?? 512,
    diskSizeMB: options.diskSizeMB ?? 10240,
    plan: PLANS[options.plan ?? 'hobby'],
  });
  const injectedFailures: number[] = [];
  const hooks: { beforeConnect: Array<(sandbox: FakeSandbox) => Promise<void>> } = { beforeConnect: [] };

  const requests = { api: 0, envd: 0 };
  const apiServer = await listen(
    createRestHandler({
      state,
      apiKey,
      pageSize,
      injectedFailures,
      hooks,
      templates: new Set(options.templates ?? ['base']),
    }),
    () => requests.api++,
  );
  const envdServer = await listen(createEnvdHandler(state), () => requests.envd++);
  const apiUrl = urlOf(apiServer);
  const sandboxUrl = urlOf(envdServer);

  let closed = false;
  return {
    apiUrl,
    sandboxUrl,
    apiKey,
    runtime: docker ? 'docker' : 'local',
    plan: state.plan,
    connectionOpts: { apiUrl, sandboxUrl, apiKey },
    env: { E2B_API_URL: apiUrl, E2B_SANDBOX_URL: sandboxUrl, E2B_API_KEY: apiKey },
    sandboxes: state.sandboxes,
    requests,
    beforeNextConnect(step) {
      hooks.beforeConnect.push(step);
    },
    async pause(sandboxId, memory = true) {
      const sandbox = state.sandboxes.get(sandboxId);
      if (!sandbox) throw new Error(`no sandbox ${sandboxId}`);
      await state.pause(sandbox, memory);
    },
    failNext(status: number, times = 1) {
      for (let i = 0; i < times; i++) injectedFailures.push(status);
    },
    async close() {
      if (closed) return;
      closed = true;
      await state.killAll().catch(() => undefined);
      await docker?.removeAll();
      await Promise.all([closeServer(apiServer), closeServer(envdServer)]);
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
