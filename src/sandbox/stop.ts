import type { SandboxState } from '../providers/provider.js';
import { uptimeSeconds, type SandboxContext } from './context.js';

export interface StopResult {
  previousState: SandboxState;
  uptimeS: number;
  stoppedAt: Date;
}

/** Stops a sandbox, keeping its files; a stopped sandbox stays stopped without error. */
export async function stopSandbox(ctx: SandboxContext, id: string): Promise<StopResult> {
  const info = await ctx.provider.get(id);
  const uptimeS = uptimeSeconds(info);
  if (info.state === 'running') {
    await ctx.provider.stop(id);
    await ctx.history.note(id, 'sandbox stopped; files kept');
  }
  return { previousState: info.state, uptimeS, stoppedAt: new Date() };
}
