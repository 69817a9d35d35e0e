import {
  AuthenticationError,
  CommandExitError,
  FileNotFoundError,
  InvalidArgumentError,
  NotEnoughSpaceError,
  RateLimitError,
  SandboxNotFoundError,
  ServiceBusyError,
  TemplateError,
  TimeoutError,
} from 'e2b';
import { ErrorCode, SandboxError, isSandboxError, notFound } from '../../errors.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function isNetworkFailure(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return NETWORK_CODES.has(e?.code ?? '') || NETWORK_CODES.has(e?.cause?.code ?? '') || /fetch failed/i.test(e?.message ?? '');
}

/** The one place where E2B's errors become our codes. `sandboxId` names the sandbox the call was about. */
export function mapE2BError(err: unknown, sandboxId?: string): SandboxError {
  if (isSandboxError(err)) return err;
  if (err instanceof SandboxNotFoundError) return sandboxId ? notFound(sandboxId) : new SandboxError(ErrorCode.SANDBOX_NOT_FOUND, 'The sandbox no longer exists.', 'Call sandbox_list.', { cause: err });
  if (err instanceof AuthenticationError) {
    return new SandboxError(ErrorCode.PERMISSION_DENIED, 'E2B refused the API key.', 'Check E2B_API_KEY (https://e2b.dev/dashboard), then restart the server.', { cause: err });
  }
  if (err instanceof RateLimitError) {
    return new SandboxError(ErrorCode.RATE_LIMITED, 'E2B is rate-limiting this account.', 'Wait a little and try again, or lower the request rate.', { cause: err });
  }
  if (err instanceof NotEnoughSpaceError) {
    return new SandboxError(ErrorCode.INSUFFICIENT_RESOURCES, 'The sandbox is out of disk space.', 'Delete files in the sandbox or create a new one.', { cause: err });
  }
  if (err instanceof TemplateError) {
    return new SandboxError(ErrorCode.TEMPLATE_NOT_FOUND, 'E2B cannot serve this template.', 'Check the template\'s e2b_template ID and that your account can use it.', { cause: err });
  }
  if (err instanceof InvalidArgumentError) {
    return new SandboxError(ErrorCode.INVALID_ARGUMENT, `E2B refused the request: ${err.message.slice(0, 300)}`, 'Check the parameters (lifetimes above your plan\'s maximum are refused).', { cause: err });
  }
  if (err instanceof FileNotFoundError) {
    return new SandboxError(ErrorCode.INVALID_ARGUMENT, `No such file in the sandbox: ${err.message.slice(0, 300)}`, 'Check the path.', { cause: err });
  }
  if (err instanceof TimeoutError) {
    return new SandboxError(ErrorCode.EXECUTION_TIMEOUT, 'E2B did not answer in time.', 'The sandbox may be paused or busy; try again, or check it with sandbox_status.', { cause: err });
  }
  if (err instanceof ServiceBusyError || isNetworkFailure(err)) {
    return new SandboxError(ErrorCode.PROVIDER_UNAVAILABLE, 'E2B cannot be reached or is busy.', 'Check the network (and E2B_DOMAIN), see https://status.e2b.dev, and try again.', { cause: err });
  }
  if (err instanceof CommandExitError) {
    return new SandboxError(ErrorCode.EXECUTION_ERROR, `A command failed with exit code ${err.exitCode}.`, '', { cause: err });
  }
  return new SandboxError(ErrorCode.INTERNAL_ERROR, 'E2B failed the operation.', '', { cause: err });
}
