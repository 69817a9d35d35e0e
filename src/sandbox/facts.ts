import type { SandboxInfo, SandboxProvider } from '../providers/provider.js';

/**
 * What never changes about a sandbox (template, language, limits), asked of the backend once and then remembered,
 * so that a run costs no lookup. The state field of what it returns is stale: ask the provider for that.
 */
export class SandboxFacts {
  private readonly known = new Map<string, SandboxInfo>();

  constructor(private readonly provider: Pick<SandboxProvider, 'get'>) {}

  async of(id: string): Promise<SandboxInfo> {
    const known = this.known.get(id);
    if (known) return known;
    const info = await this.provider.get(id);
    this.known.set(id, info);
    return info;
  }

  /** A sandbox this server has just made: its facts are known without asking. */
  remember(info: SandboxInfo): void {
    this.known.set(info.id, info);
  }

  forget(id: string): void {
    this.known.delete(id);
  }

  /** Forgets every sandbox not in `live` (removed behind this server's back). */
  retain(live: ReadonlySet<string>): void {
    for (const id of this.known.keys()) if (!live.has(id)) this.known.delete(id);
  }
}
