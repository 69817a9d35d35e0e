/** Stable error codes the agent can act on (SPEC §3). */
export const ErrorCode = {
  /** No sandbox with this ID exists, or it is not one this server made. */
  SANDBOX_NOT_FOUND: 'SANDBOX_NOT_FOUND',
  /** The sandbox exists but is stopped. */
  SANDBOX_NOT_RUNNING: 'SANDBOX_NOT_RUNNING',
  /** No template of this name, or its image cannot be obtained. */
  TEMPLATE_NOT_FOUND: 'TEMPLATE_NOT_FOUND',
  /** A parameter is missing, malformed or out of range. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A step with a time limit ran out of time. */
  EXECUTION_TIMEOUT: 'EXECUTION_TIMEOUT',
  /** A setup step (install, startup script, command) failed; the message holds its output. */
  EXECUTION_ERROR: 'EXECUTION_ERROR',
  /** The backend has no room (disk, memory) for what was asked. */
  INSUFFICIENT_RESOURCES: 'INSUFFICIENT_RESOURCES',
  /** The backend or the sandbox refused the operation (credentials, file permissions). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** A configured limit (concurrent sandboxes) is reached. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** Too many calls in the last minute. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The backend (Docker engine, E2B API) cannot be reached. */
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  /** Anything else: a bug or an unexpected fault, logged in full on the server. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error whose message and hint are safe to show to the agent. */
export class SandboxError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, hint = '', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxError';
    this.code = code;
    this.hint = hint;
  }
}

export const isSandboxError = (err: unknown): err is SandboxError => err instanceof SandboxError;

export const notFound = (id: string): SandboxError =>
  new SandboxError(
    ErrorCode.SANDBOX_NOT_FOUND,
    `No sandbox with ID "${truncateForMessage(id)}".`,
    'Call sandbox_list to see the sandboxes that exist, or sandbox_create to make one.',
  );

export const notRunning = (id: string): SandboxError =>
  new SandboxError(
    ErrorCode.SANDBOX_NOT_RUNNING,
    `Sandbox ${id} is stopped.`,
    'Its files are kept: call sandbox_configure with this sandbox_id to start it again, or sandbox_create for a new one.',
  );

export const invalidArgument = (message: string, hint = ''): SandboxError =>
  new SandboxError(ErrorCode.INVALID_ARGUMENT, message, hint);

/** Keeps agent-supplied strings short when they are echoed in a message. */
export function truncateForMessage(value: string, max = 80): string {
  const printable = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}
