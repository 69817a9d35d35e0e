import { ErrorCode, SandboxError } from '../../errors.js';

/** The sandbox could not start the helper process: every pid of its limit is taken. */
export const isOutOfProcesses = (stderr: string): boolean =>
  /pids limit|resource temporarily unavailable|cannot fork|fork: retry|can't fork|no process left/i.test(stderr);

export const outOfProcesses = (): SandboxError =>
  new SandboxError(
    ErrorCode.INSUFFICIENT_RESOURCES,
    'The sandbox has no process left to start the file transfer: its process limit is reached.',
    'Stop some of its processes (or restart it with sandbox_configure), or raise SANDBOX_PIDS_LIMIT for new sandboxes.',
  );

/** What a failed write inside the sandbox (its stderr) means for the agent: one mapping for every backend. */
export function fileWriteError(stderr: string, path: string): SandboxError {
  const detail =
    stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^.*?: /, '') || 'unknown error';
  if (isOutOfProcesses(stderr)) return outOfProcesses();
  if (/permission denied|read-only file system|operation not permitted/i.test(stderr)) {
    return new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      `Cannot write ${path} in the sandbox: ${detail}`,
      'Code runs as the unprivileged user "user": write under /home/user or /tmp.',
    );
  }
  if (/no space left|file size limit/i.test(stderr)) {
    return new SandboxError(
      ErrorCode.INSUFFICIENT_RESOURCES,
      `No space left in the sandbox for ${path}.`,
      'Delete files in the sandbox or create a new one.',
    );
  }
  return new SandboxError(
    ErrorCode.INVALID_ARGUMENT,
    `Cannot write ${path} in the sandbox: ${detail}`,
    'Check that the path names a file, not a directory.',
  );
}
