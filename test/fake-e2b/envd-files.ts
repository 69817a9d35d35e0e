/**
 * The fake of envd's `/files` HTTP endpoint (not Connect), used by `files.read` and `files.write`:
 *
 *   GET  /files?path=&username=   the file's bytes (application/octet-stream, Content-Length; gzip when asked)
 *   POST /files?path=&username=   multipart/form-data (one `file` part per file, filename = sandbox path, used
 *                                 when `path` is absent) or application/octet-stream (needs `path`); answers
 *                                 200 with `[{name, type: "file", path}]`
 *
 * Errors are envd's JSON `{code, message}`: 404 for a missing file (the SDK raises FileNotFoundError), 400 for
 * a directory or a bad path, 401 for an unknown user. `username` defaults to `user`; paths resolve as in envd
 * (relative to the user's home), then map into the sandbox directory (see state.ts).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readBody } from './connect.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { DEFAULT_USER, resolveSandboxPath, toHostPath, USER_HOMES, type FakeSandbox } from './state.js';

class FilesError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function userOf(url: URL): string {
  const username = url.searchParams.get('username') || DEFAULT_USER;
  if (!USER_HOMES[username]) throw new FilesError(401, `error looking up user '${username}': user: unknown user ${username}`);
  return username;
}

function resolve(path: string, user: string): string {
  try {
    return resolveSandboxPath(path, user);
  } catch (err) {
    throw new FilesError(400, `error resolving path: ${(err as Error).message}`);
  }
}

/** Like envd, answer gzip whenever it is accepted with q > 0 (undici's fetch sends `gzip, deflate` by default). */
function acceptsGzip(header: string): boolean {
  return header.split(',').some((item) => {
    const [name, ...params] = item.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return name === 'gzip' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

async function download(sandbox: FakeSandbox, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = userOf(url);
  const path = resolve(url.searchParams.get('path') ?? '', user);
  const host = toHostPath(sandbox, path);
  const st = await stat(host).catch(() => undefined);
  if (!st) throw new FilesError(404, `path '${path}' does not exist`);
  if (st.isDirectory()) throw new FilesError(400, `path '${path}' is a directory`);
  const data = await readFile(host);
  if (acceptsGzip(String(req.headers['accept-encoding'] ?? ''))) {
    const gz = gzipSync(data);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip', 'Content-Length': gz.length, Vary: 'Accept-Encoding' });
    res.end(gz);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
  res.end(data);
}

async function writeOne(sandbox: FakeSandbox, path: string, data: Buffer): Promise<void> {
  const host = toHostPath(sandbox, path);
  try {
    await mkdir(toHostPath(sandbox, posix.dirname(path)), { recursive: true });
  } catch (err) {
    throw new FilesError(500, `error ensuring directories: ${(err as Error).message}`);
  }
  const existing = await stat(host).catch(() => undefined);
  if (existing?.isDirectory()) throw new FilesError(400, `path is a directory: ${path}`);
  await writeFile(host, data);
}

async function upload(sandbox: FakeSandbox, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = userOf(url);
  let body = await readBody(req);
  if (String(req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
    try {
      body = gunzipSync(body);
    } catch (err) {
      throw new FilesError(400, `error decompressing request body: ${(err as Error).message}`);
    }
  }
  const queryPath = url.searchParams.get('path');
  const contentType = String(req.headers['content-type'] ?? '');
  const written: Array<{ name: string; type: 'file'; path: string }> = [];

  if (contentType.startsWith('application/octet-stream')) {
    if (queryPath === null) throw new FilesError(400, 'path query parameter is required for raw body upload');
    const path = resolve(queryPath, user);
    await writeOne(sandbox, path, body);
    written.push({ name: posix.basename(path), type: 'file', path });
  } else if (contentType.startsWith('multipart/')) {
    const boundary = multipartBoundary(contentType);
    if (!boundary) throw new FilesError(500, 'error parsing multipart form: no boundary');
    let parts;
    try {
      parts = parseMultipart(body, boundary);
    } catch (err) {
      throw new FilesError(500, `error reading form: ${(err as Error).message}`);
    }
    for (const part of parts) {
      if (part.name !== 'file') continue;
      const path = resolve(queryPath ?? part.filename ?? '', user);
      if (written.some((w) => w.path === path)) {
        throw new FilesError(400, `you cannot upload multiple files to the same path '${path}' in one upload request, only the first specified file was uploaded`);
      }
      await writeOne(sandbox, path, part.data);
      written.push({ name: posix.basename(path), type: 'file', path });
    }
  } else {
    throw new FilesError(400, `unsupported content type: ${contentType}, expected multipart/form-data or application/octet-stream`);
  }
  sendJson(res, 200, written);
}

export async function handleFiles(sandbox: FakeSandbox, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method === 'GET') return await download(sandbox, url, req, res);
    if (req.method === 'POST') return await upload(sandbox, url, req, res);
    throw new FilesError(405, `method ${req.method} not allowed on /files`);
  } catch (err) {
    req.resume();
    if (err instanceof FilesError) return sendJson(res, err.status, { code: err.status, message: err.message });
    return sendJson(res, 500, { code: 500, message: (err as Error).message });
  }
}
