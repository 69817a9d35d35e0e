/**
 * The fake of envd's `filesystem.Filesystem` Connect service (unary calls only), used by `sandbox.files`:
 *
 *   Stat     files.exists / files.getInfo     NotFound when missing
 *   ListDir  files.list                       `depth` levels, paths as sandbox paths
 *   MakeDir  files.makeDir                    AlreadyExists when present (the SDK then returns false)
 *   Remove   files.remove                     rm -rf, no error when missing (like envd)
 *   Move     files.rename
 *
 * Directory watching (WatchDir / *Watcher) is not implemented. Owner and group are reported as the requesting
 * user, since the fake cannot change file ownership.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, posix } from 'node:path';
import { ConnectRpcError, parseUnaryRequest, readBody, sendUnary } from './connect.js';
import { resolveSandboxPath, toHostPath, type FakeSandbox } from './state.js';

/** Go's os.FileMode.String() for the kinds the fake produces ('L' is Go's letter for a symlink). */
function goModeString(st: Stats): string {
  const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'L' : '-';
  const bits = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += st.mode & (1 << (8 - i)) ? bits[i] : '-';
  return kind + perms;
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'FILE_TYPE_DIRECTORY';
  if (st.isSymbolicLink()) return 'FILE_TYPE_SYMLINK';
  if (st.isFile()) return 'FILE_TYPE_FILE';
  return 'FILE_TYPE_UNSPECIFIED';
}

async function entryInfo(sandbox: FakeSandbox, sandboxPath: string, user: string) {
  const host = toHostPath(sandbox, sandboxPath);
  const st = await lstat(host);
  const symlinkTarget = st.isSymbolicLink() ? await readlink(host).catch(() => undefined) : undefined;
  return {
    name: posix.basename(sandboxPath),
    type: fileType(st),
    path: sandboxPath,
    size: String(st.size), // int64 is a string in proto3 JSON
    mode: st.mode & 0o777,
    permissions: goModeString(st),
    owner: user,
    group: user,
    modifiedTime: st.mtime.toISOString(),
    ...(symlinkTarget !== undefined ? { symlinkTarget } : {}),
  };
}

function pathArg(value: unknown, user: string): string {
  try {
    return resolveSandboxPath(typeof value === 'string' ? value : '', user);
  } catch (err) {
    throw new ConnectRpcError('invalid_argument', (err as Error).message);
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

export function createFilesystemService() {
  async function listDir(sandbox: FakeSandbox, user: string, path: string, depth: number) {
    const host = toHostPath(sandbox, path);
    const st = await stat(host).catch((err: unknown) => {
      if (isMissing(err)) throw new ConnectRpcError('not_found', `path not found: ${path}`);
      throw new ConnectRpcError('internal', `error getting file info: ${(err as Error).message}`);
    });
    if (!st.isDirectory()) throw new ConnectRpcError('invalid_argument', `path is not a directory: ${path}`);
    const entries: Array<Awaited<ReturnType<typeof entryInfo>>> = [];
    const walk = async (dir: string, level: number): Promise<void> => {
      const names = (await readdir(toHostPath(sandbox, dir))).sort();
      for (const name of names) {
        const child = posix.join(dir, name);
        const info = await entryInfo(sandbox, child, user);
        entries.push(info);
        if (info.type === 'FILE_TYPE_DIRECTORY' && level < depth) await walk(child, level + 1);
      }
    };
    await walk(path, 1);
    return entries;
  }

  return async function handle(sandbox: FakeSandbox, user: string, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const msg = parseUnaryRequest(await readBody(req));
    switch (method) {
      case 'Stat': {
        const path = pathArg(msg.path, user);
        try {
          return sendUnary(res, { entry: await entryInfo(sandbox, path, user) });
        } catch (err) {
          if (isMissing(err)) throw new ConnectRpcError('not_found', `file not found: ${path}`);
          throw err;
        }
      }
      case 'ListDir': {
        const depth = Number(msg.depth ?? 0) || 1;
        return sendUnary(res, { entries: await listDir(sandbox, user, pathArg(msg.path, user), depth) });
      }
      case 'MakeDir': {
        const path = pathArg(msg.path, user);
        const host = toHostPath(sandbox, path);
        const existing = await stat(host).catch(() => undefined);
        if (existing?.isDirectory()) throw new ConnectRpcError('already_exists', `directory already exists: ${path}`);
        if (existing) throw new ConnectRpcError('invalid_argument', `path already exists but it is not a directory: ${path}`);
        await mkdir(host, { recursive: true });
        return sendUnary(res, { entry: { name: posix.basename(path), type: 'FILE_TYPE_DIRECTORY', path } });
      }
      case 'Remove': {
        await rm(toHostPath(sandbox, pathArg(msg.path, user)), { recursive: true, force: true });
        return sendUnary(res, {});
      }
      case 'Move': {
        const source = pathArg(msg.source, user);
        const destination = pathArg(msg.destination, user);
        const destHost = toHostPath(sandbox, destination);
        await mkdir(dirname(destHost), { recursive: true });
        try {
          await rename(toHostPath(sandbox, source), destHost);
        } catch (err) {
          if (isMissing(err)) throw new ConnectRpcError('not_found', `source file not found: ${source}`);
          throw new ConnectRpcError('internal', `error renaming: ${(err as Error).message}`);
        }
        return sendUnary(res, { entry: await entryInfo(sandbox, destination, user) });
      }
      default:
        throw new ConnectRpcError('unimplemented', `filesystem.Filesystem/${method} is not implemented by the fake envd`);
    }
  };
}
