import { newSandboxId } from '../../ids.js';
import type { SandboxInfo } from '../../providers/provider.js';
import { newRecord, type SandboxContext, type WarmSandboxes } from '../context.js';
import { resourcesFor, specFor } from '../create.js';
import type { Resources } from '../shapes.js';
import { deleteSandbox } from '../delete.js';
import type { Template } from '../templates.js';

/** How long a warm sandbox may wait for an agent; the reaper removes it after that (also after a crash). */
export const WARM_LEASE_SECONDS = 1800;
/** Warm sandboxes older than this are replaced, so none is handed out just before its lease ends. */
const RECYCLE_AFTER_MS = (WARM_LEASE_SECONDS / 2) * 1000;
/**
 * The refill after a claim waits this long, so that the next sandbox's start (the engine's heaviest work) does not
 * share the CPU and the engine with the claimed sandbox's first run, which usually follows at once.
 */
const REFILL_AFTER_CLAIM_MS = 1000;

interface Member {
  id: string;
  createdAt: number;
  /** What the backend said when it made the sandbox. */
  info: SandboxInfo;
}

/**
 * Ready sandboxes per template, made in the background so that sandbox_create hands one out at once. Members are
 * ordinary sandboxes with a record marked warm: never listed, counted against the quota, and reaped when their
 * lease ends like any expired sandbox. A claim is atomic across servers (SandboxRecords.claim).
 */
export class WarmPool implements WarmSandboxes {
  private readonly ready = new Map<string, Member[]>();
  private timer?: NodeJS.Timeout;
  private filling?: Promise<void>;
  /** The refill waiting after a claim, and how to start it at once. */
  private pause?: { timer: NodeJS.Timeout; done: Promise<void>; end: () => void };
  private stopped = false;

  constructor(
    private readonly ctx: Omit<SandboxContext, 'pool'>,
    /** Warm sandboxes wanted per template name. */
    private readonly sizes: Map<string, number>,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    this.refill();
    this.timer = setInterval(() => this.refill(), this.intervalMs);
    this.timer.unref();
  }

  /** Hands out a warm sandbox of this template with exactly these resources, or undefined. */
  async claim(template: Template, wanted: Resources): Promise<SandboxInfo | undefined> {
    if (!this.sizes.get(template.name) || !sameResources(resourcesFor(this.ctx, template), wanted)) return undefined;
    const members = this.ready.get(template.name) ?? [];
    while (members.length) {
      const member = members.shift()!;
      if (!(await this.ctx.records.claim(member.id))) continue;
      try {
        // A sandbox the backend knows to be running needs no round trip: nobody has changed it since it was made.
        const info = this.ctx.provider.knownRunning?.(member.id) ? member.info : await this.ctx.provider.get(member.id);
        if (info.state === 'running') {
          this.refillAfterClaim();
          return info;
        }
        await deleteSandbox(this.ctx, member.id, 'warm sandbox found stopped'); // claimed above: ours to remove
      } catch {
        // gone meanwhile (reaped, removed by hand): try the next one
      }
    }
    this.refill();
    return undefined;
  }

  /** Waits for the refill under way or about to start, if any (tests and the benchmark use it). */
  async settled(): Promise<void> {
    while (this.pause || this.filling) {
      await this.pause?.done;
      await this.filling;
    }
  }

  /** Stops refilling and removes the warm sandboxes this server made. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.pause?.end();
    await this.filling;
    for (const members of this.ready.values()) {
      for (const m of members.splice(0)) {
        if (await this.ctx.records.claim(m.id))
          await deleteSandbox(this.ctx, m.id, 'warm pool closed').catch(() => undefined);
      }
    }
  }

  private refillAfterClaim(): void {
    if (this.pause || this.stopped) return;
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    const pause = {
      done,
      end: () => {
        clearTimeout(pause.timer);
        if (this.pause === pause) this.pause = undefined;
        end();
      },
      timer: setTimeout(() => {
        pause.end();
        this.refill();
      }, REFILL_AFTER_CLAIM_MS),
    };
    pause.timer.unref();
    this.pause = pause;
  }

  private refill(): void {
    if (this.filling || this.stopped) return;
    this.filling = this.fill()
      .catch((err) => this.ctx.log.warn({ err }, 'warm pool refill failed; will try again'))
      .finally(() => {
        this.filling = undefined;
      });
  }

  private async fill(): Promise<void> {
    for (const [name, size] of this.sizes) {
      if (size <= 0) continue;
      const template = this.ctx.templates.get(name);
      const members = this.ready.get(name) ?? [];
      this.ready.set(name, members);
      await this.recycle(members);
      while (members.length < size && !this.stopped) {
        // Warm sandboxes never push past the quota.
        // Reserved under its ID, so that the listing that shows it while it is made does not count it twice.
        const id = newSandboxId();
        const release = await this.ctx.quota.reserve(id).catch(() => undefined);
        if (!release) return;
        try {
          members.push(await this.make(template, id));
        } finally {
          release();
        }
      }
    }
  }

  private async recycle(members: Member[]): Promise<void> {
    const now = Date.now();
    for (const m of [...members]) {
      if (now - m.createdAt < RECYCLE_AFTER_MS) continue;
      members.splice(members.indexOf(m), 1);
      if (await this.ctx.records.claim(m.id))
        await deleteSandbox(this.ctx, m.id, 'warm sandbox recycled').catch(() => undefined);
    }
  }

  private async make(template: Template, id: string): Promise<Member> {
    const createdAt = new Date();
    const expiresAt = new Date(createdAt.getTime() + WARM_LEASE_SECONDS * 1000);
    // The record comes first, so that no list ever shows the sandbox as an ordinary one.
    await this.ctx.records.put(
      newRecord(this.ctx, {
        id,
        name: 'warm',
        metadata: {},
        createdAt: createdAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
        warm: true,
      }),
    );
    let info: SandboxInfo;
    try {
      info = await this.ctx.provider.create({
        ...specFor(template, resourcesFor(this.ctx, template), {
          id,
          name: 'warm',
          namespace: this.ctx.config.namespace,
          createdAt,
          expiresAt,
          metadata: {},
        }),
        warm: true,
      });
    } catch (err) {
      await this.ctx.records.remove(id);
      throw err;
    }
    this.ctx.log.debug({ sandboxId: id, template: template.name }, 'warm sandbox ready');
    return { id, createdAt: createdAt.getTime(), info };
  }
}

const sameResources = (a: Resources, b: Resources): boolean =>
  a.cpus === b.cpus && a.memoryMb === b.memoryMb && a.network === b.network;
