import {
  AuthenticationError,
  CommandExitError,
  FileNotFoundError,
  InvalidArgumentError,
  NotEnoughSpaceError,
  RateLimitError,
  SandboxError as E2BSandboxError,
  SandboxNotFoundError,
  ServiceBusyError,
  TemplateError,
  TimeoutError,
} from 'e2b';
import { ErrorCode, SandboxError, isSandboxError, notFound, notRunning } from '../../errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isNetworkFailure(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return (
    NETWORK_CODES.has(e?.code ?? '') ||
    NETWORK_CODES.has(e?.cause?.code ?? '') ||
    /fetch failed/i.test(e?.message ?? '')
  );
}

/** What the call was doing, where the same E2B answer means different things. */
export interface E2BErrorContext {
  /** The sandbox the call was about. */
  sandboxId?: string;
  /** Creating (or resuming) a sandbox: a 429 is then the plan's concurrent-sandbox cap, not a rate. */
  creating?: boolean;
}

/** E2B's message without the SDK's "<status>: " prefix, short enough to show. */
const e2bMessage = (err: Error): string => err.message.replace(/^\d{3}: /, '').slice(0, 300);

/**
 * The SDK gives classes only to 401, 429 and 503 (`handleApiError`); every other status of E2B's API is a plain
 * SandboxError carrying `statusCode` (e2b-dev/infra packages/api: 400 for a bad or too long timeout,
 * timeout_helper.go; 404 for an unknown template, cache/templates/errors.go; 403 for a template the account may
 * not use; 409 for a sandbox changing state or not running, keep_alive.go and sandbox_pause.go).
 */
function fromStatus(err: E2BSandboxError & { statusCode?: number }, ctx: E2BErrorContext): SandboxError | undefined {
  const message = e2bMessage(err);
  switch (err.statusCode) {
    case 400:
      return new SandboxError(
        ErrorCode.INVALID_ARGUMENT,
        `E2B refused the request: ${message}`,
        /timeout|instance length/i.test(message)
          ? "Your E2B plan caps a sandbox's lifetime (1 hour on Hobby, 24 hours on Pro, counted from its last start): ask for a shorter timeout."
          : 'Check the parameters.',
        { cause: err },
      );
    case 403:
      return new SandboxError(
        ErrorCode.PERMISSION_DENIED,
        `E2B refused access: ${message}`,
        'Check that your E2B account (E2B_API_KEY) may use this template.',
        { cause: err },
      );
    case 404:
      if (/template/i.test(message)) {
        return new SandboxError(
          ErrorCode.TEMPLATE_NOT_FOUND,
          `E2B has no such template: ${message}`,
          "Check the template's e2b_template ID (the operator's template file) and that your account can use it.",
          { cause: err },
        );
      }
      return ctx.sandboxId
        ? notFound(ctx.sandboxId)
        : new SandboxError(ErrorCode.SANDBOX_NOT_FOUND, 'The sandbox no longer exists.', 'Call sandbox_list.', {
            cause: err,
          });
    case 409:
      return ctx.sandboxId
        ? notRunning(ctx.sandboxId)
        : new SandboxError(
            ErrorCode.SANDBOX_NOT_RUNNING,
            `The sandbox is changing state: ${message}`,
            'Wait a moment, then check it with sandbox_status.',
            { cause: err },
          );
    default:
      return undefined;
  }
}

/** The one place where E2B's errors become our codes. */
export function mapE2BError(err: unknown, ctx: E2BErrorContext = {}): SandboxError {
  if (isSandboxError(err)) return err;
  const { sandboxId } = ctx;
  if (err instanceof SandboxNotFoundError)
    return sandboxId
      ? notFound(sandboxId)
      : new SandboxError(ErrorCode.SANDBOX_NOT_FOUND, 'The sandbox no longer exists.', 'Call sandbox_list.', {
          cause: err,
        });
  if (err instanceof AuthenticationError) {
    return new SandboxError(
      ErrorCode.PERMISSION_DENIED,
      'E2B refused the API key.',
      'Check E2B_API_KEY (https://e2b.dev/dashboard), then restart the server.',
      { cause: err },
    );
  }
  if (err instanceof RateLimitError) {
    // create_instance.go answers 429 (no Retry-After) when the team runs as many sandboxes as its plan allows.
    if (ctx.creating) {
      return new SandboxError(
        ErrorCode.QUOTA_EXCEEDED,
        'Your E2B account runs as many sandboxes as its plan allows (20 on Hobby, 100 on Pro).',
        'Delete or stop sandboxes you no longer need (sandbox_list, sandbox_delete, sandbox_stop), then try again; retrying alone will not help.',
        { cause: err },
      );
    }
    return new SandboxError(
      ErrorCode.RATE_LIMITED,
      'E2B is rate-limiting this account.',
      'Wait a little and try again, or lower the request rate.',
      { cause: err },
    );
  }
  if (err instanceof NotEnoughSpaceError) {
    return new SandboxError(
      ErrorCode.INSUFFICIENT_RESOURCES,
      'The sandbox is out of disk space.',
      'Delete files in the sandbox or create a new one.',
      { cause: err },
    );
  }
  if (err instanceof TemplateError) {
    return new SandboxError(
      ErrorCode.TEMPLATE_NOT_FOUND,
      'E2B cannot serve this template.',
      "Check the template's e2b_template ID and that your account can use it.",
      { cause: err },
    );
  }
  if (err instanceof InvalidArgumentError) {
    return new SandboxError(
      ErrorCode.INVALID_ARGUMENT,
      `E2B refused the request: ${err.message.slice(0, 300)}`,
      'Check the parameters.',
      { cause: err },
    );
  }
  if (err instanceof FileNotFoundError) {
    return new SandboxError(
      ErrorCode.INVALID_ARGUMENT,
      `No such file in the sandbox: ${err.message.slice(0, 300)}`,
      'Check the path.',
      { cause: err },
    );
  }
  if (err instanceof TimeoutError) {
    return new SandboxError(
      ErrorCode.EXECUTION_TIMEOUT,
      'E2B did not answer in time.',
      'The sandbox may be paused or busy; try again, or check it with sandbox_status.',
      { cause: err },
    );
  }
  if (err instanceof ServiceBusyError || isNetworkFailure(err)) {
    return new SandboxError(
      ErrorCode.PROVIDER_UNAVAILABLE,
      'E2B cannot be reached or is busy.',
      'Check the network (and E2B_DOMAIN), see https://status.e2b.dev, and try again.',
      { cause: err },
    );
  }
  if (err instanceof CommandExitError) {
    return new SandboxError(ErrorCode.EXECUTION_ERROR, `A command failed with exit code ${err.exitCode}.`, '', {
      cause: err,
    });
  }
  if (err instanceof E2BSandboxError) {
    const mapped = fromStatus(err, ctx);
    if (mapped) return mapped;
  }
  return new SandboxError(ErrorCode.INTERNAL_ERROR, 'E2B failed the operation.', '', { cause: err });
}
