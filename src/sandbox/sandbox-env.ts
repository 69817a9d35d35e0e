import type { SandboxProvider } from '../providers/provider.js';

/** Inside the sandbox, readable by root only: env values never rest on the host. */
export const ENV_FILE = '/etc/sandbox-mcp/env.json';

/**
 * The variables set through env_vars, kept where they belong: in the sandbox (so they survive a server restart
 * and a stop) and in memory (so a run does not read them back every time).
 */
export class SandboxEnv {
  private readonly cache = new Map<string, Record<string, string>>();

  constructor(private readonly provider: SandboxProvider) {}

  async get(sandboxId: string): Promise<Record<string, string>> {
    const cached = this.cache.get(sandboxId);
    if (cached) return cached;
    const raw = await this.provider.readFile(sandboxId, ENV_FILE, { user: 'root' });
    const env = raw ? (JSON.parse(raw.toString('utf8')) as Record<string, string>) : {};
    this.cache.set(sandboxId, env);
    return env;
  }

  /** Adds variables to the sandbox's set, persisting the whole set; returns it. */
  async merge(sandboxId: string, vars: Record<string, string>): Promise<Record<string, string>> {
    const next = { ...(await this.get(sandboxId)), ...vars };
    await this.provider.writeFile(sandboxId, ENV_FILE, Buffer.from(JSON.stringify(next)), {
      mode: '600',
      user: 'root',
    });
    this.cache.set(sandboxId, next);
    return next;
  }

  /** The values known for a sandbox (never read from it here): what its history must not store. */
  knownValues(sandboxId: string): string[] {
    return Object.values(this.cache.get(sandboxId) ?? {});
  }

  /** For a sandbox just created: nothing to read back. */
  seed(sandboxId: string): void {
    this.cache.set(sandboxId, {});
  }

  forget(sandboxId: string): void {
    this.cache.delete(sandboxId);
  }

  /** Keeps only the sandboxes that still exist. */
  retain(live: Set<string>): void {
    for (const id of this.cache.keys()) if (!live.has(id)) this.cache.delete(id);
  }
}
