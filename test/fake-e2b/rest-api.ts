/**
 * The fake of E2B's REST API (api.e2b.app), limited to what the provider calls through the `e2b` 2.51 SDK:
 *
 *   POST   /v2/sandboxes                    Sandbox.create                 201 Sandbox
 *   GET    /v2/sandboxes                    Sandbox.list (paginated)       200 ListedSandbox[] + x-next-token
 *   GET    /sandboxes/{id}                  getInfo                        200 SandboxDetail
 *   DELETE /sandboxes/{id}                  kill                           204
 *   GET    /sandboxes/{id}/metrics          getMetrics                     200 SandboxMetric[] ([] before the first sample)
 *   POST   /sandboxes/{id}/timeout          setTimeout                     204, capped at the plan's maximum
 *   POST   /sandboxes/{id}/pause            pause                          204, 409 when already paused
 *   POST   /v2/sandboxes/{id}/connect       Sandbox.connect                200 running, 201 resumed
 *
 * Errors are E2B's JSON `{code, message}` with E2B's statuses and messages (each handler below names the
 * e2b-dev/infra file it follows). The SDK maps 401 to AuthenticationError, 429 to RateLimitError, 503 to
 * ServiceBusyError, `code: 404` on getInfo/connect to SandboxNotFoundError, and every other status to a plain
 * SandboxError carrying `statusCode`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeE2BState, FakeSandbox, SandboxState } from './state.js';

export interface RestContext {
  state: FakeE2BState;
  apiKey: string;
  /** Largest page GET /v2/sandboxes returns, whatever `limit` asks for. */
  pageSize: number;
  /** Statuses to answer the next REST requests with (see failNext). */
  injectedFailures: number[];
  /** Template IDs or aliases that exist; others are 404 (packages/api/internal/cache/templates/errors.go). */
  templates: ReadonlySet<string>;
  /** Test hooks run before a request is handled (see FakeE2B.beforeNextConnect). */
  hooks: { beforeConnect: Array<(sandbox: FakeSandbox) => Promise<void>> };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { code: status, message });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Invalid request body: not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'Invalid request body: expected an object');
  return value as Record<string, unknown>;
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, `${field} must be an object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new HttpError(400, `${field}.${k} must be a string`);
  }
  return { ...(value as Record<string, string>) };
}

/**
 * timeout_helper.go validateAndParseTimeout (create) and sandbox_connect.go: absent means the default, zero or
 * less is refused, above the plan's maximum is refused.
 */
function timeoutSeconds(value: unknown, fallback: number, maxHours: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new HttpError(400, 'Error when parsing request: timeout must be an integer');
  if (value <= 0) throw new HttpError(400, 'Timeout must be greater than 0');
  if (value > maxHours * 3600) throw new HttpError(400, `Timeout cannot be greater than ${maxHours} hours`);
  return value;
}

function notFound(id: string): HttpError {
  return new HttpError(404, `sandbox "${id}" doesn't exist or you don't have access to it`);
}

function sandboxBody(s: FakeSandbox) {
  return {
    alias: s.alias,
    clientID: s.clientId,
    // null: the SDK then builds envd URLs from its own config (E2B_SANDBOX_URL for this fake).
    domain: null,
    envdAccessToken: s.envdAccessToken,
    envdVersion: s.envdVersion,
    sandboxID: s.sandboxId,
    templateID: s.templateId,
    trafficAccessToken: null,
  };
}

function listedBody(s: FakeSandbox) {
  return {
    alias: s.alias,
    clientID: s.clientId,
    cpuCount: s.cpuCount,
    diskSizeMB: s.diskSizeMB,
    endAt: s.endAt.toISOString(),
    envdVersion: s.envdVersion,
    memoryMB: s.memoryMB,
    metadata: { ...s.metadata },
    sandboxID: s.sandboxId,
    startedAt: s.startedAt.toISOString(),
    state: s.state,
    templateID: s.templateId,
    volumeMounts: [],
  };
}

function detailBody(s: FakeSandbox) {
  return {
    ...listedBody(s),
    allowInternetAccess: s.allowInternetAccess,
    domain: null,
    lifecycle: { autoResume: s.autoResume, onTimeout: s.autoPause ? 'pause' : 'kill' },
  };
}

/**
 * The SDK sends `metadata` as a query string of its own, each key and value URL-encoded
 * (`new URLSearchParams({[enc(k)]: enc(v)})`), inside the outer query: decode both layers like E2B does.
 */
function parseMetadataQuery(raw: string | null): Record<string, string> {
  if (!raw) return {};
  const out: Record<string, string> = {};
  try {
    for (const [k, v] of new URLSearchParams(raw)) out[decodeURIComponent(k)] = decodeURIComponent(v);
  } catch {
    throw new HttpError(400, 'Error when parsing metadata: invalid encoding');
  }
  return out;
}

function parseStates(raw: string | null): SandboxState[] {
  if (!raw) return ['running', 'paused'];
  const states = raw.split(',').filter((s) => s !== '');
  for (const s of states) if (s !== 'running' && s !== 'paused') throw new HttpError(400, `invalid state "${s}"`);
  return states as SandboxState[];
}

// The page cursor is opaque to the SDK: the (startedAt, id) of the last sandbox returned.
function encodeCursor(s: FakeSandbox): string {
  return Buffer.from(JSON.stringify([s.startedAt.getTime(), s.sandboxId])).toString('base64url');
}

function decodeCursor(token: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string')
      return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw new HttpError(400, 'Invalid next token');
}

export function createRestHandler(ctx: RestContext) {
  const { state } = ctx;
  const maxHours = () => state.plan.maxLengthHours;

  function requireSandbox(id: string): FakeSandbox {
    const s = state.sandboxes.get(id);
    if (!s) throw notFound(id);
    return s;
  }

  /** packages/api/internal/handlers/sandbox_create.go (template lookup, then timeout) and create_instance.go. */
  async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const templateId = body.templateID;
    if (typeof templateId !== 'string' || templateId === '') throw new HttpError(400, 'templateID is required');
    if (!ctx.templates.has(templateId)) throw new HttpError(404, `template '${templateId}' not found`);
    // SandboxTimeoutDefault (packages/api/internal/sandbox/sandboxtypes/states.go) is 15 s.
    const timeout = timeoutSeconds(body.timeout, 15, maxHours());
    if (state.runningCount >= state.plan.concurrentSandboxes) {
      throw new HttpError(
        429,
        `you have reached the maximum number of concurrent E2B sandboxes (${state.plan.concurrentSandboxes}). If you need more, please visit 'https://e2b.dev/docs/billing'`,
      );
    }
    const autoResume = body.autoResume as { enabled?: unknown } | undefined;
    const sandbox = await state.create({
      templateId,
      timeoutSeconds: timeout,
      metadata: stringRecord(body.metadata, 'metadata'),
      envVars: stringRecord(body.envVars, 'envVars'),
      autoPause: body.autoPause === true,
      autoResume: autoResume?.enabled === true,
      allowInternetAccess: typeof body.allow_internet_access === 'boolean' ? body.allow_internet_access : null,
    });
    sendJson(res, 201, sandboxBody(sandbox));
  }

  function list(url: URL, res: ServerResponse): void {
    const metadata = parseMetadataQuery(url.searchParams.get('metadata'));
    const states = parseStates(url.searchParams.get('state'));
    const limitRaw = url.searchParams.get('limit');
    const limit = limitRaw === null ? 100 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new HttpError(400, 'limit must be between 1 and 100');

    const compare = (a: [number, string], b: [number, string]) =>
      -(a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const key = (s: FakeSandbox): [number, string] => [s.startedAt.getTime(), s.sandboxId];
    let matches = [...state.sandboxes.values()].filter(
      (s) => states.includes(s.state) && Object.entries(metadata).every(([k, v]) => s.metadata[k] === v),
    );
    matches.sort((a, b) => compare(key(a), key(b)));
    const token = url.searchParams.get('nextToken');
    if (token) {
      const cursor = decodeCursor(token);
      matches = matches.filter((s) => compare(key(s), cursor) > 0);
    }
    const page = matches.slice(0, Math.min(limit, ctx.pageSize));
    const headers: Record<string, string> = {};
    const last = page[page.length - 1];
    if (last && matches.length > page.length) headers['X-Next-Token'] = encodeCursor(last);
    sendJson(res, 200, page.map(listedBody), headers);
  }

  /**
   * packages/api/internal/handlers/sandbox_connect.go: a running sandbox gets KeepAliveFor(timeout, allowShorter
   * false), so connecting never shortens a lifetime but does extend it to at least `timeout` (300 s when the SDK
   * sends none); a paused one is resumed (201) with that timeout, keeping its memory unless `memory: false`.
   */
  async function connect(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req);
    const seconds = timeoutSeconds(body.timeout, 300, maxHours());
    const s = requireSandbox(id);
    await ctx.hooks.beforeConnect.shift()?.(s);
    if (s.state === 'running') {
      if (state.keepAliveFor(s, seconds, false) === 'exceeded')
        throw new HttpError(400, 'Max instance length exceeded');
      sendJson(res, 200, sandboxBody(s));
      return;
    }
    if (state.runningCount >= state.plan.concurrentSandboxes) {
      throw new HttpError(
        429,
        `you have reached the maximum number of concurrent E2B sandboxes (${state.plan.concurrentSandboxes}). If you need more, please visit 'https://e2b.dev/docs/billing'`,
      );
    }
    await state.resume(s, seconds);
    sendJson(res, 201, sandboxBody(s));
  }

  /**
   * packages/api/internal/handlers/sandbox_timeout.go → orchestrator/keep_alive.go KeepAliveFor(allowShorter
   * true): 204 even when the plan's maximum cut the request short; 409 for a sandbox that is not running.
   */
  async function setTimeoutOf(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req);
    if (typeof body.timeout !== 'number' || !Number.isInteger(body.timeout))
      throw new HttpError(400, 'Error when parsing request: timeout must be an integer');
    const s = requireSandbox(id);
    if (s.state !== 'running') throw new HttpError(409, `Sandbox ${id} is not running (state: ${s.state})`);
    if (state.keepAliveFor(s, Math.max(0, body.timeout), true) === 'exceeded')
      throw new HttpError(400, 'Max instance length exceeded');
    res.writeHead(204).end();
  }

  /** packages/api/internal/handlers/sandbox_pause.go: memory kept unless the body says `memory: false`. */
  async function pause(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req);
    const s = requireSandbox(id);
    if (s.state === 'paused') throw new HttpError(409, `Sandbox '${id}' cannot be paused while in 'paused' state`);
    await state.pause(s, body.memory !== false);
    res.writeHead(204).end();
  }

  /** packages/api/internal/handlers/sandbox_metrics.go: the samples taken so far (see metrics.ts). */
  function metrics(url: URL, res: ServerResponse, id: string): void {
    const s = requireSandbox(id);
    const start = Number(url.searchParams.get('start') ?? 0) * 1000;
    const end = url.searchParams.has('end') ? Number(url.searchParams.get('end')) * 1000 : Infinity;
    const samples = s.samples.filter((m) => m.timestamp.getTime() >= start && m.timestamp.getTime() <= end);
    sendJson(
      res,
      200,
      samples.map(({ timestamp, ...m }) => ({
        timestamp: timestamp.toISOString(),
        timestampUnix: Math.floor(timestamp.getTime() / 1000),
        ...m,
      })),
    );
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);

    if (parts[0] === 'v2' && parts[1] === 'sandboxes') {
      if (parts.length === 2 && method === 'POST') return create(req, res);
      if (parts.length === 2 && method === 'GET') return list(url, res);
      if (parts.length === 4 && parts[3] === 'connect' && method === 'POST') return connect(req, res, parts[2]!);
    }

    if (parts[0] === 'sandboxes' && parts[1] !== undefined) {
      const id = parts[1];
      if (parts.length === 2 && method === 'GET') return sendJson(res, 200, detailBody(requireSandbox(id)));
      if (parts.length === 2 && method === 'DELETE') {
        await state.kill(requireSandbox(id));
        res.writeHead(204).end();
        return;
      }
      if (parts.length === 3 && parts[2] === 'metrics' && method === 'GET') return metrics(url, res, id);
      if (parts.length === 3 && parts[2] === 'timeout' && method === 'POST') return setTimeoutOf(req, res, id);
      if (parts.length === 3 && parts[2] === 'pause' && method === 'POST') return pause(req, res, id);
    }

    // 501 rather than E2B's 404, so that an unimplemented route is not mistaken for a missing sandbox.
    throw new HttpError(501, `${method} ${url.pathname} is not implemented by the fake E2B API`);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-e2b.local');
    try {
      const injected = ctx.injectedFailures.shift();
      if (injected !== undefined) {
        req.resume();
        return sendError(res, injected, `Injected failure (${injected}) from the fake E2B API`);
      }
      if (req.headers['x-api-key'] !== ctx.apiKey) {
        req.resume();
        return sendError(res, 401, 'Invalid API key');
      }
      await route(req, res, url);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, `fake E2B API error: ${(err as Error).message}`);
    }
  };
}
