/**
 * The fake of a sandbox's envd as reached through E2B's client proxy. With `E2B_SANDBOX_URL` (or the
 * `sandboxUrl` option) set, the SDK sends every envd request of every sandbox to that one URL and names the
 * sandbox in the `E2b-Sandbox-Id` header (plus `E2b-Sandbox-Port: 49983`), so this server routes on that
 * header, like the real proxy does. Then, like envd:
 *
 * - `X-Access-Token` must equal the sandbox's envdAccessToken (always set for v2-created sandboxes); `/files`
 *   also accepts a `signature` query (uploadUrl/downloadUrl), and `/health` needs neither;
 * - the user comes from `Authorization: Basic base64("<user>:")`, defaulting to `user`; `user` and `root`
 *   exist;
 * - an unknown, killed or paused sandbox gets the proxy's 502, which the SDK reports as a TimeoutError (or,
 *   at the start of a command, SandboxNotFoundError). Auto-resume on traffic is not implemented.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConnectRpcError, sendUnaryError } from './connect.js';
import { createFilesystemService } from './envd-filesystem.js';
import { handleFiles } from './envd-files.js';
import { createProcessService } from './envd-process.js';
import { sampleSandbox } from './metrics.js';
import { DEFAULT_USER, USER_HOMES, type FakeE2BState, type FakeSandbox } from './state.js';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** envd's URL signature (see the SDK's getSignature): v1_ + unpadded base64 sha256 of path:op:user:token[:exp]. */
function signatureMatches(sandbox: FakeSandbox, url: URL, operation: 'read' | 'write'): boolean {
  const signature = url.searchParams.get('signature');
  if (!signature || !sandbox.envdAccessToken) return false;
  const expiration = url.searchParams.get('signature_expiration');
  if (expiration && Number(expiration) < Math.floor(Date.now() / 1000)) return false;
  const fields = [url.searchParams.get('path') ?? '', operation, url.searchParams.get('username') ?? '', sandbox.envdAccessToken];
  if (expiration) fields.push(expiration);
  const expected = 'v1_' + createHash('sha256').update(fields.join(':')).digest('base64').replace(/=+$/, '');
  return signature === expected;
}

/** The user named by `Authorization: Basic base64("<user>:")`, or the template's default user. */
function requestUser(req: IncomingMessage): string {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return DEFAULT_USER;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const username = decoded.split(':')[0] ?? '';
  if (!USER_HOMES[username]) throw new ConnectRpcError('unauthenticated', `invalid username: '${username}'`);
  return username;
}

export function createEnvdHandler(state: FakeE2BState) {
  const processService = createProcessService(state.docker);
  const filesystemService = createFilesystemService(state.docker);

  function findSandbox(req: IncomingMessage, url: URL): { id: string; sandbox?: FakeSandbox } {
    const header = req.headers['e2b-sandbox-id'];
    const id = Array.isArray(header) ? header[0] : header;
    if (id) return { id, sandbox: state.sandboxes.get(id) };
    // A signed /files URL (uploadUrl/downloadUrl) is used without the SDK's headers: find whose token signed it.
    if (url.pathname === '/files' && url.searchParams.has('signature')) {
      const operation = req.method === 'GET' ? 'read' : 'write';
      for (const sandbox of state.sandboxes.values()) {
        if (signatureMatches(sandbox, url, operation)) return { id: sandbox.sandboxId, sandbox };
      }
    }
    return { id: '' };
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-envd.local');
    try {
      const { id, sandbox } = findSandbox(req, url);
      if (!sandbox || sandbox.state !== 'running') {
        req.resume();
        const why = !id ? 'no E2b-Sandbox-Id header' : !sandbox ? `sandbox ${id} wasn't found` : `sandbox ${id} is paused`;
        return sendJson(res, 502, { code: 502, message: `The sandbox is not running (${why})`, sandboxId: id });
      }

      if (url.pathname === '/health') {
        req.resume();
        res.writeHead(204).end();
        return;
      }

      const operation = req.method === 'GET' ? 'read' : 'write';
      const tokenOk = !sandbox.envdAccessToken || req.headers['x-access-token'] === sandbox.envdAccessToken;
      if (!tokenOk && !(url.pathname === '/files' && signatureMatches(sandbox, url, operation))) {
        req.resume();
        const message = 'unauthorized access, please provide a valid access token or method signing if supported';
        if (url.pathname.includes('.')) return sendUnaryError(res, new ConnectRpcError('unauthenticated', message));
        return sendJson(res, 401, { code: 401, message });
      }

      if (url.pathname === '/files') return await handleFiles(sandbox, url, req, res, state.docker);
      if (url.pathname === '/envs' && req.method === 'GET') {
        req.resume();
        return sendJson(res, 200, sandbox.envVars);
      }
      if (url.pathname === '/metrics' && req.method === 'GET') {
        req.resume();
        const s = await sampleSandbox(sandbox);
        const MIB = 1024 * 1024;
        return sendJson(res, 200, {
          ts: Math.floor(Date.now() / 1000),
          cpu_count: s.cpuCount,
          cpu_used_pct: s.cpuUsedPct,
          mem_total: s.memTotal,
          mem_used: s.memUsed,
          mem_cache: s.memCache,
          mem_total_mib: Math.round(s.memTotal / MIB),
          mem_used_mib: Math.round(s.memUsed / MIB),
          disk_total: s.diskTotal,
          disk_used: s.diskUsed,
        });
      }

      const rpc = /^\/(process\.Process|filesystem\.Filesystem)\/([A-Za-z]+)$/.exec(url.pathname);
      if (rpc && req.method === 'POST') {
        const user = requestUser(req);
        if (rpc[1] === 'process.Process') return await processService(sandbox, user, rpc[2]!, req, res);
        return await filesystemService(sandbox, user, rpc[2]!, req, res);
      }

      req.resume();
      return sendJson(res, 501, { code: 501, message: `${req.method} ${url.pathname} is not implemented by the fake envd` });
    } catch (err) {
      req.resume();
      if (res.headersSent) {
        res.end();
        return;
      }
      if (err instanceof ConnectRpcError) return sendUnaryError(res, err);
      return sendUnaryError(res, new ConnectRpcError('internal', (err as Error).message));
    }
  };
}
