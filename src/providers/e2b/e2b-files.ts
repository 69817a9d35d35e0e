import { FileNotFoundError, type Sandbox } from 'e2b';
import { ErrorCode, SandboxError } from '../../errors.js';
import type { FileOptions, RunUser, WrittenFile } from '../provider.js';
import { shellQuote } from '../run-protocol.js';
import { toArrayBuffer } from './e2b-run.js';

function permissionDenied(err: unknown, path: string): SandboxError | undefined {
  const message = (err as Error)?.message ?? '';
  if (!/permission denied|forbidden|not permitted|403/i.test(message)) return undefined;
  return new SandboxError(
    ErrorCode.PERMISSION_DENIED,
    `Cannot write ${path} in the sandbox: permission denied.`,
    'Code runs as the unprivileged user "user": write under /home/user or /tmp.',
    { cause: err },
  );
}

/** Writes through envd's file API, then sets the mode and checksums what landed, inside the sandbox. */
export async function writeFile(sandbox: Sandbox, path: string, data: Buffer, options: FileOptions): Promise<WrittenFile> {
  try {
    await sandbox.files.write(path, toArrayBuffer(data), { user: options.user });
  } catch (err) {
    throw permissionDenied(err, path) ?? err;
  }
  const result = await sandbox.commands.run(`chmod -- ${shellQuote(options.mode)} ${shellQuote(path)} && sha256sum -- ${shellQuote(path)}`, {
    user: options.user,
  });
  const hex = /^([0-9a-f]{64})\s/.exec(result.stdout)?.[1];
  if (!hex) throw new SandboxError(ErrorCode.INTERNAL_ERROR, `The upload to ${path} could not be verified.`);
  return { path, sizeBytes: data.length, checksum: `sha256:${hex}` };
}

export async function readFile(sandbox: Sandbox, path: string, user: RunUser): Promise<Buffer | null> {
  try {
    const bytes = await sandbox.files.read(path, { format: 'bytes', user });
    return Buffer.from(bytes);
  } catch (err) {
    if (err instanceof FileNotFoundError) return null;
    throw err;
  }
}
