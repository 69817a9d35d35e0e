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
 *
 * With the Docker runtime each call is one small shell script run in the container as the requesting user
 * (docker.ts); owner and group are then the real ones. Unlike envd (root), the user's permissions apply.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, posix } from 'node:path';
import { ConnectRpcError, parseUnaryRequest, readBody, sendUnary } from './connect.js';
import { errnoText, type DockerEntry, type DockerRuntime } from './docker.js';
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

const DOCKER_FILE_TYPES: Record<string, string> = { d: 'FILE_TYPE_DIRECTORY', l: 'FILE_TYPE_SYMLINK', f: 'FILE_TYPE_FILE' };

/** EntryInfo of an entry `find -printf` reported in a container. */
function dockerEntryInfo(sandboxPath: string, e: DockerEntry) {
  const bits = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += e.mode & (1 << (8 - i)) ? bits[i] : '-';
  return {
    name: posix.basename(sandboxPath),
    type: DOCKER_FILE_TYPES[e.kind] ?? 'FILE_TYPE_UNSPECIFIED',
    path: sandboxPath,
    size: String(e.size),
    mode: e.mode & 0o777,
    permissions: (e.kind === 'd' ? 'd' : e.kind === 'l' ? 'L' : '-') + perms,
    owner: e.owner,
    group: e.group,
    modifiedTime: e.mtime.toISOString(),
    ...(e.kind === 'l' ? { symlinkTarget: e.symlinkTarget } : {}),
  };
}

/** The Filesystem calls against a container (Docker runtime). */
function createDockerFilesystem(docker: DockerRuntime) {
  return async function handle(container: string, user: string, method: string, msg: Record<string, unknown>): Promise<object> {
    switch (method) {
      case 'Stat': {
        const path = pathArg(msg.path, user);
        const { res, entry } = await docker.stat(container, user, path);
        if (res.code === 3) throw new ConnectRpcError('not_found', `file not found: ${path}`);
        if (!entry) throw new ConnectRpcError('internal', `error getting file info: lstat ${path}: ${errnoText(res.stderr)}`);
        return { entry: dockerEntryInfo(path, entry) };
      }
      case 'ListDir': {
        const path = pathArg(msg.path, user);
        const depth = Number(msg.depth ?? 0) || 1;
        const { res, entries } = await docker.list(container, user, path, depth);
        if (res.code === 3) throw new ConnectRpcError('not_found', `path not found: ${path}`);
        if (res.code === 4) throw new ConnectRpcError('invalid_argument', `path is not a directory: ${path}`);
        if (res.code === 9) throw new ConnectRpcError('internal', `error reading directory ${path}: open ${path}: permission denied`);
        // Deeper directories the user may not read (or that vanish, under /proc) are left out; envd, as root,
        // would list them.
        if (res.code !== 0 && res.code !== 1) throw new ConnectRpcError('internal', `error reading directory ${path}: ${errnoText(res.stderr)}`);
        return { entries: entries.map((e) => dockerEntryInfo(posix.join(path, e.relPath), e)) };
      }
      case 'MakeDir': {
        const path = pathArg(msg.path, user);
        const res = await docker.makeDir(container, user, path);
        if (res.code === 5) throw new ConnectRpcError('already_exists', `directory already exists: ${path}`);
        if (res.code === 6) throw new ConnectRpcError('invalid_argument', `path already exists but it is not a directory: ${path}`);
        if (res.code !== 0) throw new ConnectRpcError('internal', `failed to create directory: mkdir ${path}: ${errnoText(res.stderr)}`);
        return { entry: { name: posix.basename(path), type: 'FILE_TYPE_DIRECTORY', path } };
      }
      case 'Remove': {
        const path = pathArg(msg.path, user);
        const res = await docker.removePath(container, user, path);
        if (res.code !== 0) throw new ConnectRpcError('internal', `error removing file or directory: unlinkat ${path}: ${errnoText(res.stderr)}`);
        return {};
      }
      case 'Move': {
        const source = pathArg(msg.source, user);
        const destination = pathArg(msg.destination, user);
        const { res, entry } = await docker.move(container, user, source, destination);
        if (res.code === 3) throw new ConnectRpcError('not_found', `source file not found: ${source}`);
        if (res.code === 7) throw new ConnectRpcError('internal', `error ensuring directories: ${errnoText(res.stderr)}`);
        if (!entry) throw new ConnectRpcError('internal', `error renaming: rename ${source} ${destination}: ${errnoText(res.stderr)}`);
        return { entry: dockerEntryInfo(destination, entry) };
      }
      default:
        throw new ConnectRpcError('unimplemented', `filesystem.Filesystem/${method} is not implemented by the fake envd`);
    }
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

export function createFilesystemService(docker?: DockerRuntime) {
  const inContainer = docker ? createDockerFilesystem(docker) : undefined;

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
    if (sandbox.container && inContainer) return sendUnary(res, await inContainer(sandbox.container, user, method, msg));
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
