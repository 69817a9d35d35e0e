import path from 'node:path';
import { SandboxError, invalidArgument } from '../errors.js';
import type { SandboxContext } from './context.js';
import { mimeTypeOf } from './mime.js';
import { readWhole, shell } from './sandbox-files.js';

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

/**
 * Expands each pattern ($2...) in the working directory ($1) as the shell does (*, ?, [...]) and prints every
 * regular file it names, NUL-separated, as `<size>\t<path>`. Word splitting is off, so names with spaces work.
 * Sizes fall back to `wc -c` where `stat` fails (gVisor's 2022 releases answer its `statx` with EINVAL).
 */
const GLOB_SCRIPT =
  'cd -- "$1" || exit 4; shift; IFS=""; for p in "$@"; do for f in $p; do [ -f "$f" ] && printf "%s\\t%s\\0" "$(stat -L -c %s -- "$f" 2>/dev/null || wc -c < "$f" | tr -d " ")" "$f"; done; done; true';

/**
 * The files an execution asked back: each pattern expanded in its working directory; their bytes while the total
 * stays under the cap (SANDBOX_RETURN_FILES_LIMIT), the rest listed with the reason.
 */
export async function collectFiles(
  ctx: SandboxContext,
  id: string,
  cwd: string,
  patterns: string[],
): Promise<ReturnedFile[]> {
  for (const p of patterns)
    if (p.includes('\0') || p.length === 0) throw invalidArgument('return_files holds an empty path or a NUL byte.');
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
      files.push({
        path: f.path,
        sizeBytes: f.sizeBytes,
        mimeType: mimeTypeOf(f.path, Buffer.alloc(0)),
        omitted: 'over the size cap of the result: fetch it with sandbox_download',
      });
      continue;
    }
    try {
      const c = await readWhole(ctx, id, f.path, budget);
      budget -= c.sizeBytes;
      files.push({ path: f.path, sizeBytes: c.sizeBytes, mimeType: c.mimeType, checksum: c.checksum, data: c.data });
    } catch (err) {
      files.push({
        path: f.path,
        sizeBytes: f.sizeBytes,
        mimeType: 'application/octet-stream',
        omitted: err instanceof SandboxError ? err.message : 'it could not be read',
      });
    }
  }
  if (found.length > MAX_RETURNED_FILES) {
    for (const f of found.slice(MAX_RETURNED_FILES)) {
      files.push({
        path: f.path,
        sizeBytes: f.sizeBytes,
        mimeType: mimeTypeOf(f.path, Buffer.alloc(0)),
        omitted: `more than ${MAX_RETURNED_FILES} files matched`,
      });
    }
  }
  return files;
}
