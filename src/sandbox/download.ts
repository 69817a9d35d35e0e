import path from 'node:path';
import { invalidArgument } from '../errors.js';
import { EncodedBytes } from '../transport/encoded-bytes.js';
import { HOME_DIR, type SandboxContext } from './context.js';
import { IMAGE_TYPES, isText } from './mime.js';
import { listDirectory, readWhole, statPath, type DirEntry, type FileContent } from './sandbox-files.js';

export interface DownloadRequest {
  sandboxId: string;
  filePath: string;
  encoding?: 'utf8' | 'base64';
}

export type DownloadResult =
  | { kind: 'file'; file: FileContent; encoding: 'utf8' | 'base64'; content: EncodedBytes; isImage: boolean }
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
  const file = await readWhole(ctx, req.sandboxId, target, limit, stat.sizeBytes);
  const text = isText(file.data) && (!IMAGE_TYPES.has(file.mimeType) || file.mimeType === 'image/svg+xml');
  if (req.encoding === 'utf8' && !text) {
    throw invalidArgument(
      `${target} is binary (${file.mimeType}); it cannot be returned as utf8 text.`,
      'Download it with encoding "base64".',
    );
  }
  const encoding = req.encoding ?? (text ? 'utf8' : 'base64');
  return {
    kind: 'file',
    file,
    encoding,
    // Never built as one string: the transport writes it from the bytes (an 8 MiB file is an 11 MB base64 string).
    content: new EncodedBytes(file.data, encoding),
    isImage: IMAGE_TYPES.has(file.mimeType),
  };
}
