import type { Sandbox, SandboxInfo as E2BSandboxInfo } from 'e2b';
import { notFound, notRunning } from '../../errors.js';
import { isSandboxId } from '../../ids.js';
import { defaultNamespace } from '../../config.js';
import { Labels, isManaged, namespaceOf } from '../../labels.js';
import type { SandboxInfo } from '../provider.js';
import { infoFromLabels } from '../shared/sandbox-labels.js';
import { connectionOpts, type E2BConnection, type E2BSdk } from './e2b-connection.js';
import { mapE2BError } from './e2b-errors.js';

/** Sandbox facts from E2B's info, whose metadata carries the same keys as Docker's labels. */
export const infoFromE2B = (e: Pick<E2BSandboxInfo, 'metadata' | 'state' | 'startedAt'>): SandboxInfo =>
  infoFromLabels(e.metadata ?? {}, e.state === 'running', e.startedAt, e.startedAt?.toISOString());

/**
 * Maps our sandbox IDs to E2B's (through the metadata, so that any server finds them) and keeps connected SDK
 * instances, so a run does not reconnect. Only sandboxes with our metadata are ever resolved.
 */
export class E2BHandles {
  private readonly e2bIds = new Map<string, string>();
  private readonly connected = new Map<string, Sandbox>();
  readonly opts: E2BConnection;

  constructor(
    readonly sdk: E2BSdk,
    connection: E2BConnection,
    /** SANDBOX_NAMESPACE: only sandboxes of this namespace are ever resolved (undefined: every one of ours). */
    readonly namespace?: string,
  ) {
    this.opts = connectionOpts(connection);
  }

  /**
   * The metadata to ask E2B's list for: ours, of this namespace. The default namespace also owns sandboxes made
   * before namespaces existed (they carry none), so for it the namespace is checked here instead (`owns`).
   */
  get ownMetadata(): Record<string, string> {
    const filtered = this.namespace !== undefined && this.namespace !== defaultNamespace();
    return { [Labels.managed]: 'true', ...(filtered ? { [Labels.namespace]: this.namespace! } : {}) };
  }

  /** Whether E2B metadata marks one of ours, of this namespace. */
  owns(metadata: Record<string, string> | undefined | null): boolean {
    return isManaged(metadata) && (this.namespace === undefined || namespaceOf(metadata!) === this.namespace);
  }

  remember(id: string, sandbox: Sandbox): void {
    this.e2bIds.set(id, sandbox.sandboxId);
    this.connected.set(id, sandbox);
  }

  forget(id: string): void {
    this.e2bIds.delete(id);
    this.connected.delete(id);
  }

  /** E2B's ID for one of our sandboxes (running or paused), or SANDBOX_NOT_FOUND. */
  async e2bId(id: string): Promise<string> {
    if (!isSandboxId(id)) throw notFound(id);
    const known = this.e2bIds.get(id);
    if (known) return known;
    try {
      const page = await this.sdk
        .list({
          ...this.opts,
          query: { metadata: { ...this.ownMetadata, [Labels.id]: id }, state: ['running', 'paused'] },
          limit: 1,
        })
        .nextItems();
      const found = page.find((s) => this.owns(s.metadata) && s.metadata[Labels.id] === id);
      if (!found) throw notFound(id);
      this.e2bIds.set(id, found.sandboxId);
      return found.sandboxId;
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id });
    }
  }

  async info(id: string): Promise<E2BSandboxInfo> {
    const e2bId = await this.e2bId(id);
    try {
      const info = await this.sdk.getInfo(e2bId, this.opts);
      if (!this.owns(info.metadata) || info.metadata[Labels.id] !== id) throw notFound(id);
      return info;
    } catch (err) {
      if (err instanceof Error && err.name === 'SandboxNotFoundError') this.forget(id);
      throw mapE2BError(err, { sandboxId: id });
    }
  }

  /**
   * A connected instance for runs and files. A paused sandbox is refused: only sandbox_configure starts a stopped
   * sandbox. Connecting never moves a running sandbox's lifetime: E2B's connect extends it to at least the
   * timeout it is given (300 s when none is: packages/api/internal/handlers/sandbox_connect.go), so it is given
   * what is left. A sandbox paused between the check and the connect would be resumed by it: that is noticed
   * (a resumed sandbox has a new start time) and undone at once.
   */
  async connect(id: string): Promise<Sandbox> {
    const known = this.connected.get(id);
    if (known) return known;
    const before = await this.info(id);
    if (before.state !== 'running') throw notRunning(id);
    const sandbox = await this.connectWith(id, before.sandboxId, before.endAt.getTime() - Date.now());
    const after = await this.info(id);
    if (after.startedAt.getTime() !== before.startedAt.getTime()) {
      this.forget(id);
      await this.sdk.pause(before.sandboxId, this.opts).catch(() => undefined);
      throw notRunning(id);
    }
    this.remember(id, sandbox);
    return sandbox;
  }

  /** Connects, resuming a paused sandbox for `lifetimeMs` (its caller sets the real lifetime right after). */
  async resume(id: string, lifetimeMs: number): Promise<Sandbox> {
    const e2bId = await this.e2bId(id);
    const sandbox = await this.connectWith(id, e2bId, lifetimeMs, true);
    this.remember(id, sandbox);
    return sandbox;
  }

  /** E2B counts lifetimes in whole seconds: rounded down (a running sandbox is then never extended), at least one. */
  private async connectWith(id: string, e2bId: string, lifetimeMs: number, resuming = false): Promise<Sandbox> {
    try {
      return await this.sdk.connect(e2bId, {
        ...this.opts,
        timeoutMs: Math.max(1000, Math.floor(lifetimeMs / 1000) * 1000),
      });
    } catch (err) {
      throw mapE2BError(err, { sandboxId: id, creating: resuming });
    }
  }

  /** After a call failed on a cached instance: is the sandbox gone, or stopped? */
  async explain(id: string, err: unknown): Promise<Error> {
    this.connected.delete(id);
    try {
      const info = await this.info(id);
      return info.state === 'running' ? mapE2BError(err, { sandboxId: id }) : notRunning(id);
    } catch (gone) {
      return gone as Error;
    }
  }
}
