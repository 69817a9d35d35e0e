/**
 * The fake of a sandbox's envd as reached through E2B's client proxy, limited to what the provider calls
 * (process Start and SendSignal, `/files` GET and POST, and `/health`, which the SDK checks after an error).
 * With `E2B_SANDBOX_URL` (or the `sandboxUrl` option) set, the SDK sends every envd request of every sandbox to
 * that one URL and names the sandbox in the `E2b-Sandbox-Id` header (plus `E2b-Sandbox-Port: 49983`), so this
 * server routes on that header, like the real proxy does. Then, like envd (e2b-dev/infra packages/envd):
 *
 * - `X-Access-Token` must equal the sandbox's envdAccessToken (always set for v2-created sandboxes), except on
 *   `/health`;
 * - the user comes from `Authorization: Basic base64("<user>:")`, defaulting to `user`; `user` and `root`
 *   exist (the provider runs its kill sweep as root);
 * - an unknown, killed or paused sandbox gets the proxy's 502, which the SDK reports as a TimeoutError (or,
 *   at the start of a command, SandboxNotFoundError). Auto-resume on traffic is not implemented (the provider
 *   never asks for it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConnectRpcError, sendUnaryError } from './connect.js';
import { handleFiles } from './envd-files.js';
import { createProcessService } from './envd-process.js';
import { DEFAULT_USER, USER_HOMES, type FakeE2BState } from './state.js';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
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
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-envd.local');
    try {
      const header = req.headers['e2b-sandbox-id'];
      const id = (Array.isArray(header) ? header[0] : header) ?? '';
      const sandbox = id ? state.sandboxes.get(id) : undefined;
      if (!sandbox || sandbox.state !== 'running') {
        req.resume();
        const why = !id
          ? 'no E2b-Sandbox-Id header'
          : !sandbox
            ? `sandbox ${id} wasn't found`
            : `sandbox ${id} is paused`;
        return sendJson(res, 502, { code: 502, message: `The sandbox is not running (${why})`, sandboxId: id });
      }

      if (url.pathname === '/health') {
        req.resume();
        res.writeHead(204).end();
        return;
      }

      if (req.headers['x-access-token'] !== sandbox.envdAccessToken) {
        req.resume();
        const message = 'unauthorized access, please provide a valid access token or method signing if supported';
        if (url.pathname.includes('.')) return sendUnaryError(res, new ConnectRpcError('unauthenticated', message));
        return sendJson(res, 401, { code: 401, message });
      }

      if (url.pathname === '/files') return await handleFiles(sandbox, url, req, res, state.docker);
      const rpc = /^\/process\.Process\/([A-Za-z]+)$/.exec(url.pathname);
      if (rpc && req.method === 'POST') return await processService(sandbox, requestUser(req), rpc[1]!, req, res);

      req.resume();
      return sendJson(res, 501, {
        code: 501,
        message: `${req.method} ${url.pathname} is not implemented by the fake envd`,
      });
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
