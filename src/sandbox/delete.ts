import type { SandboxContext } from './context.js';

export interface DeleteResult {
  deletedAt: Date;
  resourcesCleaned: string[];
}

/** Removes the sandbox and everything it owned, its history included. */
export async function deleteSandbox(ctx: SandboxContext, id: string, reason = 'deleted'): Promise<DeleteResult> {
  const removed = await ctx.provider.remove(id);
  await ctx.records.remove(id);
  ctx.env.forget(id);
  ctx.facts.forget(id);
  ctx.log.info({ sandboxId: id, reason }, 'sandbox removed');
  return { deletedAt: new Date(), resourcesCleaned: [...removed.resources, 'history'] };
}
