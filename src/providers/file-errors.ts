import { ErrorCode, SandboxError } from '../errors.js';

/** What a failed write inside the sandbox (its stderr) means for the agent: one mapping for every backend. */
export function fileWriteError(stderr: string, path: string): SandboxError {
  const detail = stderr.trim().split('\n').pop()?.replace(/^.*?: /, '') || 'unknown error';
  if (/permission denied|read-only file system|operation not permitted/i.test(stderr)) {
    return new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      `Cannot write ${path} in the sandbox: ${detail}`,
      'Code runs as the unprivileged user "user": write under /home/user or /tmp.',
    );
  }
  if (/no space left|file size limit/i.test(stderr)) {
    return new SandboxError(ErrorCode.INSUFFICIENT_RESOURCES, `No space left in the sandbox for ${path}.`, 'Delete files in the sandbox or create a new one.');
  }
  return new SandboxError(ErrorCode.INVALID_ARGUMENT, `Cannot write ${path} in the sandbox: ${detail}`, 'Check that the path names a file, not a directory.');
}
