import { ErrorCode, SandboxError } from '../../errors.js';
import type { WrittenFile } from '../provider.js';

/**
 * The result of an upload from what `sha256sum <file>` printed inside the sandbox once the bytes landed: both
 * backends verify an upload this way, over what is really there.
 */
export function writtenFile(sha256sumOutput: string, path: string, sizeBytes: number): WrittenFile {
  const hex = /^([0-9a-f]{64})\s/.exec(sha256sumOutput)?.[1];
  if (!hex) throw new SandboxError(ErrorCode.INTERNAL_ERROR, `The upload to ${path} could not be verified.`);
  return { path, sizeBytes, checksum: `sha256:${hex}` };
}
