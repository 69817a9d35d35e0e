import type { SandboxContext } from './context.js';
import { summarize, type SandboxSummary } from './summary.js';

export interface ListRequest {
  status?: 'running' | 'stopped' | 'all';
  template?: string;
  limit?: number;
  sortBy?: 'created_at' | 'name' | 'last_activity';
  order?: 'asc' | 'desc';
}

export interface ListResult {
  sandboxes: SandboxSummary[];
  total: number;
  running: number;
  stopped: number;
}

export async function listSandboxes(ctx: SandboxContext, req: ListRequest): Promise<ListResult> {
  const all = await Promise.all((await ctx.provider.list()).map((info) => summarize(ctx, info)));
  const matching = all.filter(
    (s) =>
      !s.warm &&
      (!req.status || req.status === 'all' || s.state === req.status) &&
      (!req.template || s.template === req.template),
  );
  const key = req.sortBy ?? 'created_at';
  const direction = (req.order ?? 'desc') === 'asc' ? 1 : -1;
  const value = (s: SandboxSummary): string | number =>
    key === 'name' ? s.name : key === 'last_activity' ? s.lastActivity.getTime() : s.createdAt.getTime();
  matching.sort((a, b) => (value(a) < value(b) ? -direction : value(a) > value(b) ? direction : 0));
  return {
    sandboxes: matching.slice(0, req.limit ?? 50),
    total: matching.length,
    running: matching.filter((s) => s.state === 'running').length,
    stopped: matching.filter((s) => s.state === 'stopped').length,
  };
}
