import { ErrorCode, SandboxError, isSandboxError, notFound, notRunning } from '../../errors.js';

interface DockerishError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

/** What the engine said, without the HTTP framing dockerode adds. */
export function engineMessage(err: unknown): string {
  const e = err as DockerishError;
  return (e?.json?.message ?? e?.message ?? String(err)).trim();
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

export function isEngineUnreachable(err: unknown): boolean {
  const code = (err as DockerishError)?.code;
  return typeof code === 'string' && (CONNECTION_CODES.has(code) || code === 'EACCES');
}

export function engineUnavailable(err: unknown): SandboxError {
  const code = (err as DockerishError)?.code;
  if (code === 'EACCES') {
    return new SandboxError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      'Permission denied on the Docker socket.',
      'Add the user that runs this server to the "docker" group (then log in again), or point DOCKER_HOST at an engine it may use.',
      { cause: err },
    );
  }
  return new SandboxError(
    ErrorCode.PROVIDER_UNAVAILABLE,
    'The Docker engine cannot be reached.',
    'Start Docker (Docker Desktop, or `sudo systemctl start docker`), or set DOCKER_HOST to a running engine; or use E2B with SANDBOX_PROVIDER=e2b and E2B_API_KEY.',
    { cause: err },
  );
}

/**
 * The one place where the engine's failures become our codes. `sandboxId` names the sandbox the call was
 * about, so a 404 on it reads as SANDBOX_NOT_FOUND.
 */
export function mapDockerError(err: unknown, sandboxId?: string): SandboxError {
  if (isSandboxError(err)) return err;
  if (isEngineUnreachable(err)) return engineUnavailable(err);
  const status = (err as DockerishError)?.statusCode;
  const message = engineMessage(err);
  if (status === 404 && sandboxId) return notFound(sandboxId);
  if (status === 409 && /is not running|is paused|is restarting/i.test(message) && sandboxId)
    return notRunning(sandboxId);
  if (/no space left on device/i.test(message)) {
    return new SandboxError(
      ErrorCode.INSUFFICIENT_RESOURCES,
      'The Docker host is out of disk space.',
      'Delete sandboxes you no longer need, or free space with `docker system prune` on the host.',
      { cause: err },
    );
  }
  if (/cannot allocate memory|out of memory/i.test(message)) {
    return new SandboxError(
      ErrorCode.INSUFFICIENT_RESOURCES,
      'The Docker host has not enough memory for this sandbox.',
      'Ask for less memory (memory_mb) or delete other sandboxes.',
      { cause: err },
    );
  }
  if (status === 403 || /permission denied/i.test(message)) {
    return new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      'The Docker engine refused the operation.',
      "Check the engine's authorization settings.",
      { cause: err },
    );
  }
  return new SandboxError(ErrorCode.INTERNAL_ERROR, 'The Docker engine failed the operation.', '', { cause: err });
}
