import type { SandboxContext } from '../context.js';
import { effectiveExpiry } from '../expiry.js';
import { deleteSandbox } from '../delete.js';

/** Records younger than this may belong to a creation still under way in another server. */
const ORPHAN_GRACE_MS = 5 * 60 * 1000;
/** State folders without a valid record may belong to another namespace's server: only long-idle ones go. */
const UNKNOWN_STATE_GRACE_MS = 7 * 24 * 3600 * 1000;

/**
 * Removes sandboxes whose lifetime is over, using the expiry in the durable store (or the one stamped on the
 * sandbox at creation), so it also catches those that expired while no server ran. It also drops records of
 * sandboxes that vanished behind the server's back.
 */
export async function reapExpired(ctx: SandboxContext, now = new Date()): Promise<string[]> {
  const sandboxes = await ctx.provider.list();
  const reaped: string[] = [];
  for (const info of sandboxes) {
    const record = await ctx.records.get(info.id);
    const expiresAt = effectiveExpiry(info, record);
    if (!expiresAt) {
      // Neither the backend nor the record has a usable date: give it a fresh default lifetime rather than guess.
      const fresh = new Date(now.getTime() + ctx.config.lifetime.defaultSeconds * 1000);
      ctx.log.warn(
        { sandboxId: info.id, expiresAt: fresh.toISOString() },
        'sandbox has no valid expiry date; giving it the default lifetime',
      );
      await ctx.provider
        .setExpiry(info.id, fresh)
        .catch((err) => ctx.log.warn({ sandboxId: info.id, err }, 'could not set a lifetime'));
      if (record)
        await ctx.records.update(info.id, (r) => ({ ...r, expiresAt: fresh.toISOString() })).catch(() => undefined);
      continue;
    }
    if (expiresAt.getTime() > now.getTime()) continue;
    try {
      await deleteSandbox(ctx, info.id, 'expired');
      reaped.push(info.id);
    } catch (err) {
      ctx.log.warn({ sandboxId: info.id, err }, 'could not remove an expired sandbox');
    }
  }
  const live = new Set(sandboxes.map((s) => s.id));
  // Sandboxes removed behind this server's back: drop what it remembered of them.
  ctx.facts.retain(live);
  ctx.env.retain(live);
  for (const id of await ctx.records.ids()) {
    if (live.has(id)) continue;
    const record = await ctx.records.get(id);
    if (record) {
      // Another backend's, or another namespace's (a state folder may be shared), or young: not ours to drop.
      if (record.provider !== ctx.provider.name) continue;
      if ((record.namespace ?? ctx.config.namespace) !== ctx.config.namespace) continue;
      if (now.getTime() - new Date(record.createdAt).getTime() < ORPHAN_GRACE_MS) continue;
    } else {
      const last = await ctx.history.lastActivity(id);
      if (last && now.getTime() - last.getTime() < UNKNOWN_STATE_GRACE_MS) continue;
    }
    await ctx.records.remove(id);
  }
  return reaped;
}

/** Runs the reaper now and then every `intervalSeconds`; returns a function that stops it. */
export function startReaper(ctx: SandboxContext, intervalSeconds: number): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const reaped = await reapExpired(ctx);
      if (reaped.length) ctx.log.info({ reaped }, 'expired sandboxes removed');
    } catch (err) {
      ctx.log.warn({ err }, 'expiry sweep failed; will try again');
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
