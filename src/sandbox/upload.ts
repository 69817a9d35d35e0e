import path from 'node:path';
import { invalidArgument } from '../errors.js';
import type { FileBody, WrittenFile } from '../providers/provider.js';
import { bodySize } from '../providers/shared/file-body.js';
import type { SpillFile } from '../util/spill-file.js';
import { HOME_DIR, seconds, type SandboxContext } from './context.js';
import { spilledContentBytes } from './spilled-content.js';

export interface UploadRequest {
  sandboxId: string;
  filePath: string;
  /** The content, or the spill file the stdio transport wrote it to (a long one): streamed from there, never whole. */
  content: string | SpillFile;
  encoding?: 'utf8' | 'base64';
  permissions?: string;
}

export interface UploadResult extends WrittenFile {
  permissions: string;
  uploadTimeS: number;
}

const MAX_PATH = 4096;

/**
 * A path inside the sandbox: relative paths are under /home/user, `..` is resolved lexically. The path is only
 * ever used inside the sandbox, so at worst it reaches a sandbox file the sandbox user may write.
 */
export function sandboxPath(filePath: string): string {
  if (filePath.includes('\0')) throw invalidArgument('file_path contains a NUL byte.');
  if (filePath.length === 0 || filePath.length > MAX_PATH)
    throw invalidArgument(`file_path must be 1 to ${MAX_PATH} characters long.`);
  const resolved = path.posix.resolve(HOME_DIR, filePath);
  if (resolved === '/' || filePath.endsWith('/')) throw invalidArgument('file_path must name a file, not a directory.');
  if (resolved.split('/').some((part) => Buffer.byteLength(part) > 255))
    throw invalidArgument('A part of file_path is longer than 255 bytes.');
  return resolved;
}

const notBase64 = () =>
  invalidArgument(
    'content is not valid base64.',
    'Send standard base64 (A-Z, a-z, 0-9, +, /, = padding), or use encoding "utf8" for text.',
  );

function decode(content: string | SpillFile, encoding: 'utf8' | 'base64'): FileBody {
  if (typeof content !== 'string') return spilledContentBytes(content, encoding) ?? throwError(notBase64());
  if (encoding === 'utf8') return Buffer.from(content, 'utf8');
  const clean = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) throw notBase64();
  return Buffer.from(clean, 'base64');
}

const throwError = (err: Error): never => {
  throw err;
};

export async function uploadFile(ctx: SandboxContext, req: UploadRequest): Promise<UploadResult> {
  const began = performance.now();
  const target = sandboxPath(req.filePath);
  const permissions = req.permissions ?? '644';
  if (!/^[0-7]{3,4}$/.test(permissions))
    throw invalidArgument(
      `permissions "${permissions.slice(0, 10)}" is not an octal mode.`,
      'Use a string such as "644" or "755".',
    );
  const data = decode(req.content, req.encoding ?? 'utf8');
  const limit = ctx.config.limits.uploadBytes;
  if (bodySize(data) > limit)
    throw invalidArgument(
      `The file is ${bodySize(data)} bytes; the upload limit is ${limit}.`,
      'Split it, compress it, or raise SANDBOX_MAX_UPLOAD_SIZE.',
    );

  const written = await ctx.provider.writeFile(req.sandboxId, target, data, { mode: permissions, user: 'user' });
  await ctx.history.note(req.sandboxId, `uploaded ${target} (${written.sizeBytes} bytes, ${written.checksum})`);
  return { ...written, permissions, uploadTimeS: seconds(performance.now() - began) };
}
