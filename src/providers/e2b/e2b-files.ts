import { randomBytes } from 'node:crypto';
import { CommandExitError, FileNotFoundError, type Sandbox } from 'e2b';
import type { FileBody, FileOptions, RunUser, WrittenFile } from '../provider.js';
import { bodyBytes } from '../shared/file-body.js';
import { fileWriteError } from '../shared/file-errors.js';
import { shellQuote } from '../shared/run-protocol.js';
import { toArrayBuffer } from './e2b-run.js';
import { writtenFile } from '../shared/written-file.js';

/** Moves the staged upload ($1) to its place ($2) as the writing user, sets mode $3, prints the checksum. */
const PLACE_SCRIPT =
  'set -e; mkdir -p -- "$(dirname -- "$2")"; cat -- "$1" > "$2"; rm -f -- "$1"; chmod -- "$3" "$2"; sha256sum -- "$2"';

/**
 * envd writes files as root (it only hands them to the user afterwards), so the bytes are staged in /tmp through
 * its file API and put in place by a command running as the user: the sandbox's own permissions decide, as on
 * Docker. The checksum is computed inside the sandbox over what landed.
 */
export async function writeFile(
  sandbox: Sandbox,
  path: string,
  body: FileBody,
  options: FileOptions,
): Promise<WrittenFile> {
  // The SDK takes the whole content at once: a streamed upload is read back from disk here.
  const data = bodyBytes(body);
  const staged = `/tmp/.sandbox-upload-${randomBytes(8).toString('hex')}`;
  await sandbox.files.write(staged, toArrayBuffer(data), { user: options.user });
  let stdout: string;
  try {
    const words = ['sh', '-c', PLACE_SCRIPT, 'sandbox-place', staged, path, options.mode].map(shellQuote).join(' ');
    stdout = (await sandbox.commands.run(words, { user: options.user })).stdout;
  } catch (err) {
    if (err instanceof CommandExitError) {
      await sandbox.commands.run(`rm -f -- ${shellQuote(staged)}`, { user: options.user }).catch(() => undefined);
      throw fileWriteError(err.stderr, path);
    }
    throw err;
  }
  return writtenFile(stdout, path, data.length);
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
