import { invalidArgument } from '../errors.js';
import type { SandboxContext } from './context.js';
import { createSandbox } from './create.js';
import { executeCode, type ExecuteHooks, type ExecuteRequest, type ExecuteResult } from './execute.js';
import { deleteSandbox } from './delete.js';

/** Seconds a one-off sandbox may outlive its run, in case this server dies before deleting it (the reaper does). */
const LIFETIME_MARGIN_SECONDS = 300;

/**
 * A run in a sandbox made for it (from the warm pool when there is one) and deleted after it, whatever happened:
 * a failed or cancelled run, or a failure to read its files back.
 */
export async function executeOneOff(
  ctx: SandboxContext,
  template: string,
  req: Omit<ExecuteRequest, 'sandboxId'>,
  hooks: ExecuteHooks = {},
): Promise<ExecuteResult> {
  if (req.background) {
    throw invalidArgument(
      'background: true needs a sandbox that outlives the call.',
      'Create one with sandbox_create and pass its sandbox_id.',
    );
  }
  const timeout = req.timeout ?? ctx.config.exec.defaultTimeoutSeconds;
  const lifetime = Math.min(ctx.config.lifetime.maxSeconds, Math.max(60, timeout + LIFETIME_MARGIN_SECONDS));
  const created = await createSandbox(ctx, {
    template,
    name: 'one-off',
    timeout: lifetime,
    metadata: { one_off: 'true' },
  });
  const id = created.sandbox.id;
  try {
    if (hooks.signal?.aborted) throw invalidArgument('The call was cancelled before the run started.');
    return await executeCode(ctx, { ...req, sandboxId: id }, hooks);
  } finally {
    await deleteSandbox(ctx, id, 'one-off run finished').catch((err) =>
      ctx.log.warn({ sandboxId: id, err }, 'could not delete a one-off sandbox; the reaper will'),
    );
  }
}
