import path from 'node:path';
import { invalidArgument } from '../errors.js';
import { EncodedBytes } from '../transport/encoded-bytes.js';
import { HOME_DIR, type SandboxContext } from './context.js';
import { IMAGE_TYPES } from './mime.js';
import { listDirectory, readSpilled, statPath, type DirEntry, type SpilledFile } from './sandbox-files.js';

export interface DownloadRequest {
  sandboxId: string;
  filePath: string;
  encoding?: 'utf8' | 'base64';
}

export type DownloadResult =
  | {
      kind: 'file';
      file: Omit<SpilledFile, 'spill'>;
      encoding: 'utf8' | 'base64';
      content: EncodedBytes;
      /** An image's bytes, for the image block clients show (images only: the content itself stays on disk). */
      image?: Buffer;
    }
  | { kind: 'directory'; path: string; entries: DirEntry[]; truncated: boolean };

/** A file's content (text or base64) or a directory's entries. */
export async function downloadPath(ctx: SandboxContext, req: DownloadRequest): Promise<DownloadResult> {
  if (req.filePath.includes('\0')) throw invalidArgument('file_path contains a NUL byte.');
  const target = path.posix.resolve(HOME_DIR, req.filePath);
  const stat = await statPath(ctx, req.sandboxId, target);
  if (stat.type === 'directory')
    return { kind: 'directory', path: target, ...(await listDirectory(ctx, req.sandboxId, target)) };
  if (stat.type !== 'file') throw invalidArgument(`${target} is not a regular file or directory.`);
  const limit = ctx.config.files.downloadBytes;
  if (stat.sizeBytes > limit) {
    throw invalidArgument(
      `${target} is ${stat.sizeBytes} bytes; the download limit is ${limit}.`,
      'Compress it or split it in the sandbox (gzip, split -b), or raise SANDBOX_MAX_DOWNLOAD_SIZE.',
    );
  }
  // On disk, not in memory, until the answer is written: an 8 MiB file would be 8 MB of Buffer the server's heap
  // frees only at its next full collection.
  const { spill, ...file } = await readSpilled(ctx, req.sandboxId, target, limit);
  const text = file.isText && (!IMAGE_TYPES.has(file.mimeType) || file.mimeType === 'image/svg+xml');
  if (req.encoding === 'utf8' && !text) {
    spill.close();
    throw invalidArgument(
      `${target} is binary (${file.mimeType}); it cannot be returned as utf8 text.`,
      'Download it with encoding "base64".',
    );
  }
  const encoding = req.encoding ?? (text ? 'utf8' : 'base64');
  const image = IMAGE_TYPES.has(file.mimeType) ? Buffer.concat([...spill.chunks()]) : undefined;
  return {
    kind: 'file',
    file,
    encoding,
    // Never built as one string: the transport writes it from the spill file, slice by slice, then closes it.
    content: new EncodedBytes(spill, encoding),
    ...(image ? { image } : {}),
  };
}
