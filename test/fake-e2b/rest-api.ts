/**
 * The fake of E2B's REST API (api.e2b.app), limited to what the `e2b` 2.51 SDK calls for sandboxes:
 *
 *   POST   /v2/sandboxes                    Sandbox.create                 201 Sandbox
 *   GET    /v2/sandboxes                    Sandbox.list (paginated)       200 ListedSandbox[] + x-next-token
 *   GET    /sandboxes/{id}                  getInfo                        200 SandboxDetail
 *   DELETE /sandboxes/{id}                  kill                           204
 *   GET    /sandboxes/{id}/metrics          getMetrics                     200 SandboxMetric[]
 *   POST   /sandboxes/{id}/timeout          setTimeout                     204
 *   POST   /sandboxes/{id}/pause            pause / betaPause              204, 409 when already paused
 *   POST   /v2/sandboxes/{id}/connect       Sandbox.connect / sandbox.connect  200 running, 201 resumed
 *
 * plus the deprecated v1 routes older SDKs use (POST /sandboxes, GET /sandboxes, POST /sandboxes/{id}/connect,
 * /resume, /refreshes). Errors are E2B's JSON `{code, message}`; the SDK maps 401 to AuthenticationError,
 * 429 to RateLimitError, 503 to ServiceBusyError and `code: 404` to SandboxNotFoundError.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sampleSandbox } from './metrics.js';
import type { FakeE2BState, FakeSandbox, SandboxState } from './state.js';

export interface RestContext {
  state: FakeE2BState;
  apiKey: string;
  /** Largest page GET /v2/sandboxes returns, whatever `limit` asks for. */
  pageSize: number;
  /** Statuses to answer the next REST requests with (see failNext). */
  injectedFailures: number[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

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
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'Invalid request body: expected an object');
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

function timeoutSeconds(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new HttpError(400, 'timeout must be a non-negative integer');
  if (value > MAX_TIMEOUT_SECONDS) throw new HttpError(400, `Timeout cannot be greater than ${MAX_TIMEOUT_SECONDS / 3600} hours`);
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
    ...(s.envdAccessToken ? { envdAccessToken: s.envdAccessToken } : {}),
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
    ...(s.envdAccessToken ? { envdAccessToken: s.envdAccessToken } : {}),
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
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw new HttpError(400, 'Invalid next token');
}

export function createRestHandler(ctx: RestContext) {
  const { state } = ctx;

  function requireSandbox(id: string): FakeSandbox {
    const s = state.sandboxes.get(id);
    if (!s) throw notFound(id);
    return s;
  }

  async function create(req: IncomingMessage, res: ServerResponse, v2: boolean): Promise<void> {
    const body = await readJson(req);
    const templateId = body.templateID;
    if (typeof templateId !== 'string' || templateId === '') throw new HttpError(400, 'templateID is required');
    const autoResume = body.autoResume as { enabled?: unknown } | undefined;
    const sandbox = await state.create({
      templateId,
      // NewSandboxV2 defaults the timeout to 300 s, the deprecated v1 NewSandbox to 15 s.
      timeoutSeconds: timeoutSeconds(body.timeout, v2 ? 300 : 15),
      metadata: stringRecord(body.metadata, 'metadata'),
      envVars: stringRecord(body.envVars, 'envVars'),
      autoPause: body.autoPause === true,
      autoResume: autoResume?.enabled === true,
      allowInternetAccess: typeof body.allow_internet_access === 'boolean' ? body.allow_internet_access : null,
      secure: v2 || body.secure === true,
    });
    sendJson(res, 201, sandboxBody(sandbox));
  }

  function listV2(url: URL, res: ServerResponse): void {
    const metadata = parseMetadataQuery(url.searchParams.get('metadata'));
    const states = parseStates(url.searchParams.get('state'));
    const template = url.searchParams.get('template');
    const startedAfter = url.searchParams.get('startedAfter');
    const after = startedAfter ? Date.parse(startedAfter) : undefined;
    const order = url.searchParams.get('order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw new HttpError(400, `invalid order "${order}"`);
    const limitRaw = url.searchParams.get('limit');
    const limit = limitRaw === null ? 100 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 'limit must be between 1 and 100');

    const sign = order === 'asc' ? 1 : -1;
    const compare = (a: [number, string], b: [number, string]) => sign * (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const key = (s: FakeSandbox): [number, string] => [s.startedAt.getTime(), s.sandboxId];

    let matches = [...state.sandboxes.values()].filter(
      (s) =>
        states.includes(s.state) &&
        Object.entries(metadata).every(([k, v]) => s.metadata[k] === v) &&
        (!template || s.templateId === template || s.alias === template) &&
        (after === undefined || s.startedAt.getTime() >= after),
    );
    matches.sort((a, b) => compare(key(a), key(b)));
    const token = url.searchParams.get('nextToken');
    if (token) {
      const cursor = decodeCursor(token);
      matches = matches.filter((s) => compare(key(s), cursor) > 0);
    }
    const page = matches.slice(0, Math.min(limit, ctx.pageSize));
    const headers: Record<string, string> = {
      'X-Total-Running': String([...state.sandboxes.values()].filter((s) => s.state === 'running').length),
    };
    const last = page[page.length - 1];
    if (last && matches.length > page.length) headers['X-Next-Token'] = encodeCursor(last);
    sendJson(res, 200, page.map(listedBody), headers);
  }

  function listV1(url: URL, res: ServerResponse): void {
    const metadata = parseMetadataQuery(url.searchParams.get('metadata'));
    const running = [...state.sandboxes.values()].filter(
      (s) => s.state === 'running' && Object.entries(metadata).every(([k, v]) => s.metadata[k] === v),
    );
    sendJson(res, 200, running.map(listedBody));
  }

  async function connect(req: IncomingMessage, res: ServerResponse, id: string, v2: boolean): Promise<void> {
    const body = await readJson(req);
    const s = requireSandbox(id);
    const seconds = timeoutSeconds(body.timeout, v2 ? 300 : 15);
    if (s.state === 'running') {
      state.extendTimeout(s, seconds);
      sendJson(res, 200, sandboxBody(s));
      return;
    }
    await state.resume(s, seconds);
    sendJson(res, 201, sandboxBody(s));
  }

  async function resume(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req);
    const s = requireSandbox(id);
    if (s.state === 'running') throw new HttpError(409, `Sandbox ${id} is already running`);
    await state.resume(s, timeoutSeconds(body.timeout, 15));
    sendJson(res, 201, sandboxBody(s));
  }

  async function metrics(res: ServerResponse, id: string): Promise<void> {
    const s = requireSandbox(id);
    if (s.state !== 'running') {
      sendJson(res, 200, []);
      return;
    }
    const sample = await sampleSandbox(s);
    const now = new Date();
    sendJson(res, 200, [{ timestamp: now.toISOString(), timestampUnix: Math.floor(now.getTime() / 1000), ...sample }]);
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);

    if (parts[0] === 'v2' && parts[1] === 'sandboxes') {
      if (parts.length === 2 && method === 'POST') return create(req, res, true);
      if (parts.length === 2 && method === 'GET') return listV2(url, res);
      if (parts.length === 4 && parts[3] === 'connect' && method === 'POST') return connect(req, res, parts[2]!, true);
    }

    if (parts[0] === 'sandboxes') {
      if (parts.length === 1 && method === 'POST') return create(req, res, false);
      if (parts.length === 1 && method === 'GET') return listV1(url, res);
      const id = parts[1];
      if (id !== undefined && parts.length === 2) {
        if (method === 'GET') return sendJson(res, 200, detailBody(requireSandbox(id)));
        if (method === 'DELETE') {
          await state.kill(requireSandbox(id));
          res.writeHead(204).end();
          return;
        }
      }
      if (id !== undefined && parts.length === 3) {
        const action = parts[2];
        if (action === 'metrics' && method === 'GET') return metrics(res, id);
        if (method === 'POST') {
          if (action === 'connect') return connect(req, res, id, false);
          if (action === 'resume') return resume(req, res, id);
          if (action === 'timeout' || action === 'refreshes') {
            const body = await readJson(req);
            const s = requireSandbox(id);
            if (s.state !== 'running') throw notFound(id);
            if (action === 'timeout') state.setTimeout(s, timeoutSeconds(body.timeout, 15));
            else state.extendTimeout(s, timeoutSeconds(body.duration, 15));
            res.writeHead(204).end();
            return;
          }
          if (action === 'pause') {
            await readJson(req);
            const s = requireSandbox(id);
            if (s.state === 'paused') throw new HttpError(409, `Sandbox ${id} is already paused`);
            await state.pause(s);
            res.writeHead(204).end();
            return;
          }
        }
      }
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
