import { ErrorCode, SandboxError } from '../../errors.js';
import { fileWriteError, isOutOfProcesses, outOfProcesses } from '../shared/file-errors.js';
import type { ByteSink, FileBody, FileOptions, RunOutcome, RunSpec, RunUser, WrittenFile } from '../provider.js';
import { writtenFile } from '../shared/written-file.js';

/** Runs a command in the sandbox: the agent or an exec, whichever the provider has. */
export type Runner = (spec: RunSpec) => Promise<RunOutcome>;

const FILE_TIMEOUT_MS = 120_000;

/** Exit status of the write script when the path exists and is not a regular file (FIFO, device, socket, folder). */
const NOT_A_FILE = 4;
/**
 * Writes stdin to $1 (making its folder), sets mode $2, and prints the checksum of what landed. A FIFO would block
 * the write until a reader comes, a device would take the bytes elsewhere: only regular files (or none) are written.
 */
const WRITE_SCRIPT = `set -e; mkdir -p -- "$(dirname -- "$1")"; if [ -e "$1" ] && [ ! -f "$1" ]; then exit ${NOT_A_FILE}; fi; cat > "$1"; chmod -- "$2" "$1"; sha256sum -- "$1"`;
const READ_SCRIPT = '[ -f "$1" ] || exit 3; cat -- "$1"';

/**
 * A command's stdout gathered into one buffer: sized from the expected total when there is one (a download, whose
 * size a stat gave), so that its pieces need not all be kept and then joined (a second copy of the file).
 */
class OutputBytes {
  private parts: Buffer[] = [];
  private buffer?: Buffer;
  private used = 0;

  constructor(expected?: number) {
    if (expected) this.buffer = Buffer.allocUnsafe(expected);
  }

  push(chunk: Buffer): void {
    // Copies: the chunks are transient views of the connection's buffers (RunSpec.transientOutput).
    if (!this.buffer) {
      this.parts.push(Buffer.from(chunk));
    } else if (this.used + chunk.length <= this.buffer.length) {
      chunk.copy(this.buffer, this.used);
    } else {
      // More than expected (the file grew): the rest is gathered in pieces.
      this.parts.push(this.buffer.subarray(0, this.used), Buffer.from(chunk));
      this.buffer = undefined;
    }
    this.used += chunk.length;
  }

  bytes(): Buffer {
    if (this.buffer) return this.used === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.used);
    return Buffer.concat(this.parts);
  }
}

interface Collected {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Where a helper's stdout goes: gathered (OutputBytes), or handed on as it comes (a download's spill file). */
type StdoutTarget = { push(chunk: Buffer): void; bytes?(): Buffer };

/** Runs a short helper command and keeps its output (bounded). Files move through exec streams, not the archive API. */
async function collect(
  runner: Runner,
  argv: string[],
  user: RunUser,
  stdin: FileBody | undefined,
  maxBytes: number,
  out: StdoutTarget = new OutputBytes(),
): Promise<Collected> {
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  const outcome = await runner({
    argv,
    user,
    env: {},
    cwd: '/',
    stdin,
    timeoutMs: FILE_TIMEOUT_MS,
    // OutputBytes copies what it keeps; a sink (a download's spill file) writes it at once.
    transientOutput: true,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') {
        // Bytes past the limit are only counted: the file is refused below rather than returned cut.
        if (outBytes < maxBytes) out.push(chunk);
        outBytes += chunk.length;
      } else if (stream === 'stderr' && errBytes < 8192) {
        err.push(Buffer.from(chunk));
        errBytes += chunk.length;
      }
    },
  });
  if (outBytes > maxBytes) throw new SandboxError(ErrorCode.INVALID_ARGUMENT, 'The file is too large to read back.');
  return {
    exitCode: outcome.exitCode,
    stdout: out.bytes?.() ?? Buffer.alloc(0),
    stderr: Buffer.concat(err).toString('utf8').trim(),
  };
}

/** The file command was cut short: the sandbox stopped, or the command ran out of time. */
const unfinished = (path: string) =>
  new SandboxError(
    ErrorCode.INTERNAL_ERROR,
    `Moving ${path} did not finish: the sandbox may have stopped meanwhile.`,
    'Check it with sandbox_status and try again.',
  );

export async function writeFile(
  runner: Runner,
  path: string,
  data: FileBody,
  options: FileOptions,
): Promise<WrittenFile> {
  const result = await collect(
    runner,
    ['sh', '-c', WRITE_SCRIPT, 'sandbox-write', path, options.mode],
    options.user,
    data,
    4096,
  );
  if (result.exitCode === null) throw unfinished(path);
  if (result.exitCode === NOT_A_FILE) {
    throw new SandboxError(
      ErrorCode.INVALID_ARGUMENT,
      `${path} exists and is not a regular file (a folder, FIFO, device or socket).`,
      'Choose another file_path, or remove what is there first.',
    );
  }
  if (result.exitCode !== 0) throw fileWriteError(result.stderr, path);
  return writtenFile(result.stdout.toString('utf8'), path, Buffer.isBuffer(data) ? data.length : data.size);
}

export async function readFile(
  runner: Runner,
  path: string,
  user: RunUser,
  maxBytes = 4 * 1024 * 1024,
  sizeHint?: number,
): Promise<Buffer | null> {
  const out = new OutputBytes(sizeHint !== undefined && sizeHint <= maxBytes ? sizeHint : undefined);
  const result = await read(runner, path, user, maxBytes, out);
  return result && out.bytes();
}

/** The file's bytes handed to `sink` as they come, never gathered; false when there is no such file. */
export async function readFileInto(
  runner: Runner,
  path: string,
  user: RunUser,
  maxBytes: number,
  sink: ByteSink,
): Promise<boolean> {
  return (await read(runner, path, user, maxBytes, { push: (chunk) => sink.write(chunk) })) !== null;
}

async function read(
  runner: Runner,
  path: string,
  user: RunUser,
  maxBytes: number,
  out: StdoutTarget,
): Promise<Collected | null> {
  const result = await collect(runner, ['sh', '-c', READ_SCRIPT, 'sandbox-read', path], user, undefined, maxBytes, out);
  if (result.exitCode === 3) return null;
  if (result.exitCode === null) throw unfinished(path);
  if (result.exitCode !== 0) {
    if (isOutOfProcesses(result.stderr)) throw outOfProcesses();
    throw new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      `Cannot read ${path} in the sandbox: ${result.stderr.split('\n').pop() ?? ''}`,
      'Check the path and its permissions.',
    );
  }
  return result;
}
