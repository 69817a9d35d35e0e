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
 *
 * With the Docker runtime the bytes go into (and come out of) the container at the exact path, through a shell
 * run *as the requesting user* (docker.ts), so the kernel decides what that user may write. Real envd runs as
 * root and chowns what it writes to the user, so it would not refuse such a write; when the OS does refuse
 * (what the fake reports here), envd's answer is a 500 with `{"code":500,"message":"error opening file: open
 * <path>: permission denied"}` (or "error ensuring directories: …" for the parent), which the SDK raises as a
 * plain SandboxError("500: …"). A full disk is envd's 507 (NotEnoughSpaceError).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readBody } from './connect.js';
import { errnoText, type DockerRuntime } from './docker.js';
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
  if (!USER_HOMES[username])
    throw new FilesError(401, `error looking up user '${username}': user: unknown user ${username}`);
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

/** The file's bytes, from the sandbox directory or the container. */
async function readSandboxFile(
  sandbox: FakeSandbox,
  docker: DockerRuntime | undefined,
  path: string,
  user: string,
): Promise<Buffer> {
  if (sandbox.container && docker) {
    const r = await docker.readFile(sandbox.container, user, path);
    if (r.code === 0) return r.stdout;
    if (r.code === 3) throw new FilesError(404, `path '${path}' does not exist`);
    if (r.code === 4) throw new FilesError(400, `path '${path}' is a directory`);
    throw new FilesError(500, `error opening file '${path}': open ${path}: ${errnoText(r.stderr)}`);
  }
  const host = toHostPath(sandbox, path);
  const st = await stat(host).catch(() => undefined);
  if (!st) throw new FilesError(404, `path '${path}' does not exist`);
  if (st.isDirectory()) throw new FilesError(400, `path '${path}' is a directory`);
  return readFile(host);
}

async function download(
  sandbox: FakeSandbox,
  docker: DockerRuntime | undefined,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const user = userOf(url);
  const path = resolve(url.searchParams.get('path') ?? '', user);
  const data = await readSandboxFile(sandbox, docker, path, user);
  if (acceptsGzip(String(req.headers['accept-encoding'] ?? ''))) {
    const gz = gzipSync(data);
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Encoding': 'gzip',
      'Content-Length': gz.length,
      Vary: 'Accept-Encoding',
    });
    res.end(gz);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
  res.end(data);
}

/** Write into the container as `user`; the script's exit code says which step failed (see docker.ts). */
async function writeInContainer(
  docker: DockerRuntime,
  container: string,
  user: string,
  path: string,
  data: Buffer,
): Promise<void> {
  const r = await docker.writeFile(container, user, path, data);
  if (r.code === 0) return;
  const reason = errnoText(r.stderr);
  const dir = posix.dirname(path);
  switch (r.code) {
    case 10:
      throw new FilesError(400, `path is a directory: ${path}`);
    case 11:
      throw new FilesError(500, `error ensuring directories: failed to create directory: mkdir ${dir}: ${reason}`);
    case 12:
      throw new FilesError(500, `error ensuring directories: path is a file: ${dir}`);
    case 13:
      if (/no space/i.test(reason)) throw new FilesError(507, `not enough inodes available: open ${path}: ${reason}`);
      throw new FilesError(500, `error opening file: open ${path}: ${reason}`);
    case 14:
      if (/no space/i.test(reason))
        throw new FilesError(507, `attempted to write ${data.length} bytes: not enough disk space available`);
      throw new FilesError(500, `error writing file: write ${path}: ${reason}`);
    default:
      throw new FilesError(500, `error writing file ${path}: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
}

async function writeOne(
  sandbox: FakeSandbox,
  docker: DockerRuntime | undefined,
  user: string,
  path: string,
  data: Buffer,
): Promise<void> {
  if (sandbox.container && docker) return writeInContainer(docker, sandbox.container, user, path, data);
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

async function upload(
  sandbox: FakeSandbox,
  docker: DockerRuntime | undefined,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
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
    await writeOne(sandbox, docker, user, path, body);
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
        throw new FilesError(
          400,
          `you cannot upload multiple files to the same path '${path}' in one upload request, only the first specified file was uploaded`,
        );
      }
      await writeOne(sandbox, docker, user, path, part.data);
      written.push({ name: posix.basename(path), type: 'file', path });
    }
  } else {
    throw new FilesError(
      400,
      `unsupported content type: ${contentType}, expected multipart/form-data or application/octet-stream`,
    );
  }
  sendJson(res, 200, written);
}

export async function handleFiles(
  sandbox: FakeSandbox,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  docker?: DockerRuntime,
): Promise<void> {
  try {
    if (req.method === 'GET') return await download(sandbox, docker, url, req, res);
    if (req.method === 'POST') return await upload(sandbox, docker, url, req, res);
    throw new FilesError(405, `method ${req.method} not allowed on /files`);
  } catch (err) {
    req.resume();
    if (err instanceof FilesError) return sendJson(res, err.status, { code: err.status, message: err.message });
    return sendJson(res, 500, { code: 500, message: (err as Error).message });
  }
}
