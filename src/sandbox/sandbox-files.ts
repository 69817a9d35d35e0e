import { createHash } from 'node:crypto';
import { ErrorCode, SandboxError } from '../errors.js';
import type { SandboxContext } from './context.js';
import { SpillFile } from '../util/spill-file.js';
import { FileDigest } from './file-digest.js';
import { mimeTypeFrom, mimeTypeOf } from './mime.js';

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

const MAX_ENTRIES = 1000;

/**
 * Prints `<type>\t<size>\n` of $1: d(irectory), f(ile), l(ink, dangling), o(ther); exit 3 when it is not there.
 * A file's size falls back to `wc -c` where `stat` fails: gVisor's 2022 releases answer its `statx` with EINVAL.
 */
const STAT_SCRIPT =
  '[ -e "$1" ] || [ -L "$1" ] || exit 3; if [ -d "$1" ]; then t=d; elif [ -f "$1" ]; then t=f; elif [ -L "$1" ]; then t=l; else t=o; fi; printf "%s\\t%s\\n" "$t" "$(stat -L -c %s -- "$1" 2>/dev/null || { [ -f "$1" ] && wc -c < "$1" | tr -d " "; } 2>/dev/null || echo 0)"';
/** The entries of directory $1, NUL-separated, as `<type>\t<size>\t<name>`; at most $2 of them. */
const LIST_SCRIPT = 'cd -- "$1" || exit 4; find . -mindepth 1 -maxdepth 1 -printf "%y\\t%s\\t%f\\0" | head -z -n "$2"';
export async function shell(
  ctx: SandboxContext,
  id: string,
  script: string,
  args: string[],
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
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

export const notThere = (p: string) =>
  new SandboxError(
    ErrorCode.INVALID_ARGUMENT,
    `There is no file or directory at ${p} in the sandbox.`,
    'Check the path (relative paths are under /home/user); list a directory by downloading it.',
  );

export async function statPath(
  ctx: SandboxContext,
  id: string,
  target: string,
): Promise<{ type: DirEntry['type']; sizeBytes: number }> {
  const r = await shell(ctx, id, STAT_SCRIPT, [target]);
  if (r.exitCode === 3) throw notThere(target);
  const m = /^([dflo])\t(\d+)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m)
    throw new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      `Cannot look at ${target} in the sandbox: ${r.stderr.split('\n').pop() ?? ''}`,
      'Check the path and its permissions.',
    );
  return { type: TYPES[m[1]!] ?? 'other', sizeBytes: Number(m[2]) };
}

export async function listDirectory(
  ctx: SandboxContext,
  id: string,
  dir: string,
): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  const r = await shell(ctx, id, LIST_SCRIPT, [dir, String(MAX_ENTRIES + 1)]);
  if (r.exitCode !== 0)
    throw new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      `Cannot list ${dir} in the sandbox: ${r.stderr.split('\n').pop() ?? ''}`,
      'Check the path and its permissions.',
    );
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

export const checksumOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Reads a file whose size (`sizeHint`, from a stat) is known to be under `maxBytes`. */
export async function readWhole(
  ctx: SandboxContext,
  id: string,
  target: string,
  maxBytes: number,
  sizeHint?: number,
): Promise<FileContent> {
  const data = await ctx.provider.readFile(id, target, { user: 'user', maxBytes, sizeHint });
  if (!data) throw notThere(target);
  return { path: target, sizeBytes: data.length, checksum: checksumOf(data), mimeType: mimeTypeOf(target, data), data };
}

/** A file read into a spill file: what a download returns, its bytes on disk rather than in memory. */
export interface SpilledFile {
  path: string;
  sizeBytes: number;
  checksum: string;
  mimeType: string;
  isText: boolean;
  /** The bytes; the caller closes it (EncodedBytes does once written). */
  spill: SpillFile;
}

/** Reads a file under `maxBytes` into a spill file, learning its checksum, type and text-ness on the way. */
export async function readSpilled(
  ctx: SandboxContext,
  id: string,
  target: string,
  maxBytes: number,
): Promise<SpilledFile> {
  const spill = new SpillFile();
  try {
    const digest = new FileDigest(spill);
    const options = { user: 'user' as const, maxBytes };
    let found: boolean;
    if (ctx.provider.readFileInto) {
      found = await ctx.provider.readFileInto(id, target, digest, options);
    } else {
      const data = await ctx.provider.readFile(id, target, options);
      if (data) digest.write(data);
      found = data !== null;
    }
    if (!found) throw notThere(target);
    if (digest.failure) throw digest.failure;
    const isText = digest.isText;
    return {
      path: target,
      sizeBytes: digest.size,
      checksum: digest.checksum,
      mimeType: mimeTypeFrom(target, digest.head, () => isText),
      isText,
      spill,
    };
  } catch (err) {
    spill.close();
    throw err;
  }
}
