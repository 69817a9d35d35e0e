import { createHash } from 'node:crypto';
import path from 'node:path';
import { ErrorCode, SandboxError, invalidArgument } from '../errors.js';
import type { SandboxContext } from './context.js';
import { HOME_DIR } from './context.js';
import { IMAGE_TYPES, isText, mimeTypeOf } from './mime.js';

/**
 * Reading files back out of a sandbox. Looking at paths (stat, directory entries, glob expansion) is a short
 * shell command through provider.run, which every backend has; the bytes come through provider.readFile.
 */

export interface DirEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  sizeBytes: number;
}

export interface FileContent {
  path: string;
  sizeBytes: number;
  checksum: string;
  mimeType: string;
  data: Buffer;
}

export interface ReturnedFile {
  path: string;
  sizeBytes: number;
  mimeType: string;
  checksum?: string;
  /** The bytes, when they fit under the result's cap. */
  data?: Buffer;
  /** Why the bytes are not in the result. */
  omitted?: string;
}

/** Most files one execution hands back. */
const MAX_RETURNED_FILES = 20;
const MAX_ENTRIES = 1000;

/** Prints `<type>\t<size>\n` of $1: d(irectory), f(ile), l(ink, dangling), o(ther); exit 3 when it is not there. */
const STAT_SCRIPT = '[ -e "$1" ] || [ -L "$1" ] || exit 3; if [ -d "$1" ]; then t=d; elif [ -f "$1" ]; then t=f; elif [ -L "$1" ]; then t=l; else t=o; fi; printf "%s\\t%s\\n" "$t" "$(stat -L -c %s -- "$1" 2>/dev/null || echo 0)"';
/** The entries of directory $1, NUL-separated, as `<type>\t<size>\t<name>`; at most $2 of them. */
const LIST_SCRIPT = 'cd -- "$1" || exit 4; find . -mindepth 1 -maxdepth 1 -printf "%y\\t%s\\t%f\\0" | head -z -n "$2"';
/**
 * Expands each pattern ($2...) in the working directory ($1) as the shell does (*, ?, [...]) and prints every
 * regular file it names, NUL-separated, as `<size>\t<path>`. Word splitting is off, so names with spaces work.
 */
const GLOB_SCRIPT = 'cd -- "$1" || exit 4; shift; IFS=""; for p in "$@"; do for f in $p; do [ -f "$f" ] && printf "%s\\t%s\\0" "$(stat -L -c %s -- "$f")" "$f"; done; done; true';

async function shell(ctx: SandboxContext, id: string, script: string, args: string[]): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const outcome = await ctx.provider.run(id, {
    argv: ['sh', '-c', script, 'sandbox-files', ...args],
    user: 'user',
    env: {},
    cwd: '/',
    timeoutMs: 30_000,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk.toString('utf8');
      else if (stderr.length < 4096) stderr += chunk.toString('utf8');
    },
  });
  return { exitCode: outcome.exitCode, stdout, stderr: stderr.trim() };
}

const TYPES: Record<string, DirEntry['type']> = { d: 'directory', f: 'file', l: 'symlink' };

const notThere = (p: string) =>
  new SandboxError(ErrorCode.INVALID_ARGUMENT, `There is no file or directory at ${p} in the sandbox.`, 'Check the path (relative paths are under /home/user); list a directory by downloading it.');

export async function statPath(ctx: SandboxContext, id: string, target: string): Promise<{ type: DirEntry['type']; sizeBytes: number }> {
  const r = await shell(ctx, id, STAT_SCRIPT, [target]);
  if (r.exitCode === 3) throw notThere(target);
  const m = /^([dflo])\t(\d+)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) throw new SandboxError(ErrorCode.PERMISSION_DENIED, `Cannot look at ${target} in the sandbox: ${r.stderr.split('\n').pop() ?? ''}`, 'Check the path and its permissions.');
  return { type: TYPES[m[1]!] ?? 'other', sizeBytes: Number(m[2]) };
}

export async function listDirectory(ctx: SandboxContext, id: string, dir: string): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  const r = await shell(ctx, id, LIST_SCRIPT, [dir, String(MAX_ENTRIES + 1)]);
  if (r.exitCode !== 0) throw new SandboxError(ErrorCode.PERMISSION_DENIED, `Cannot list ${dir} in the sandbox: ${r.stderr.split('\n').pop() ?? ''}`, 'Check the path and its permissions.');
  const entries = r.stdout
    .split('\0')
    .filter(Boolean)
    .map((line): DirEntry => {
      const [type = '', size = '0', ...name] = line.split('\t');
      return { name: name.join('\t'), type: TYPES[type] ?? 'other', sizeBytes: Number(size) || 0 };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { entries: entries.slice(0, MAX_ENTRIES), truncated: entries.length > MAX_ENTRIES };
}

const checksumOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Reads a file whose size is known to be under `maxBytes`. */
export async function readWhole(ctx: SandboxContext, id: string, target: string, maxBytes: number): Promise<FileContent> {
  const data = await ctx.provider.readFile(id, target, { user: 'user', maxBytes });
  if (!data) throw notThere(target);
  return { path: target, sizeBytes: data.length, checksum: checksumOf(data), mimeType: mimeTypeOf(target, data), data };
}

/**
 * The files an execution asked back: each pattern expanded in its working directory; their bytes while the total
 * stays under the cap (SANDBOX_RETURN_FILES_LIMIT), the rest listed with the reason.
 */
export async function collectFiles(ctx: SandboxContext, id: string, cwd: string, patterns: string[]): Promise<ReturnedFile[]> {
  for (const p of patterns) if (p.includes('\0') || p.length === 0) throw invalidArgument('return_files holds an empty path or a NUL byte.');
  const r = await shell(ctx, id, GLOB_SCRIPT, [cwd, ...patterns]);
  const seen = new Set<string>();
  const found: Array<{ path: string; sizeBytes: number }> = [];
  for (const line of r.stdout.split('\0').filter(Boolean)) {
    const tab = line.indexOf('\t');
    const abs = path.posix.resolve(cwd, line.slice(tab + 1));
    if (seen.has(abs)) continue;
    seen.add(abs);
    found.push({ path: abs, sizeBytes: Number(line.slice(0, tab)) || 0 });
  }
  let budget = ctx.config.files.returnBytes;
  const files: ReturnedFile[] = [];
  for (const f of found.slice(0, MAX_RETURNED_FILES)) {
    if (f.sizeBytes > budget) {
      files.push({ path: f.path, sizeBytes: f.sizeBytes, mimeType: mimeTypeOf(f.path, Buffer.alloc(0)), omitted: 'over the size cap of the result: fetch it with sandbox_download' });
      continue;
    }
    try {
      const c = await readWhole(ctx, id, f.path, budget);
      budget -= c.sizeBytes;
      files.push({ path: f.path, sizeBytes: c.sizeBytes, mimeType: c.mimeType, checksum: c.checksum, data: c.data });
    } catch (err) {
      files.push({ path: f.path, sizeBytes: f.sizeBytes, mimeType: 'application/octet-stream', omitted: err instanceof SandboxError ? err.message : 'it could not be read' });
    }
  }
  if (found.length > MAX_RETURNED_FILES) {
    for (const f of found.slice(MAX_RETURNED_FILES)) {
      files.push({ path: f.path, sizeBytes: f.sizeBytes, mimeType: mimeTypeOf(f.path, Buffer.alloc(0)), omitted: `more than ${MAX_RETURNED_FILES} files matched` });
    }
  }
  return files;
}

export interface DownloadRequest {
  sandboxId: string;
  filePath: string;
  encoding?: 'utf8' | 'base64';
}

export type DownloadResult =
  | { kind: 'file'; file: FileContent; encoding: 'utf8' | 'base64'; content: string; isImage: boolean }
  | { kind: 'directory'; path: string; entries: DirEntry[]; truncated: boolean };

/** A file's content (text or base64) or a directory's entries. */
export async function downloadPath(ctx: SandboxContext, req: DownloadRequest): Promise<DownloadResult> {
  if (req.filePath.includes('\0')) throw invalidArgument('file_path contains a NUL byte.');
  const target = path.posix.resolve(HOME_DIR, req.filePath);
  const stat = await statPath(ctx, req.sandboxId, target);
  if (stat.type === 'directory') return { kind: 'directory', path: target, ...(await listDirectory(ctx, req.sandboxId, target)) };
  if (stat.type !== 'file') throw invalidArgument(`${target} is not a regular file or directory.`);
  const limit = ctx.config.files.downloadBytes;
  if (stat.sizeBytes > limit) {
    throw invalidArgument(
      `${target} is ${stat.sizeBytes} bytes; the download limit is ${limit}.`,
      'Compress it or split it in the sandbox (gzip, split -b), or raise SANDBOX_MAX_DOWNLOAD_SIZE.',
    );
  }
  const file = await readWhole(ctx, req.sandboxId, target, limit);
  const text = isText(file.data) && (!IMAGE_TYPES.has(file.mimeType) || file.mimeType === 'image/svg+xml');
  if (req.encoding === 'utf8' && !text) {
    throw invalidArgument(`${target} is binary (${file.mimeType}); it cannot be returned as utf8 text.`, 'Download it with encoding "base64".');
  }
  const encoding = req.encoding ?? (text ? 'utf8' : 'base64');
  return {
    kind: 'file',
    file,
    encoding,
    content: file.data.toString(encoding),
    isImage: IMAGE_TYPES.has(file.mimeType),
  };
}
