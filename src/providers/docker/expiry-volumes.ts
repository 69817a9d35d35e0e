import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { Labels } from '../../labels.js';

const isValid = (d: Date): boolean => !Number.isNaN(d.getTime());

/**
 * Where a sandbox's lifetime lives once it was extended, so that every server of the namespace sees the same end
 * (whatever its state folder, on whatever machine): a container's labels cannot change, so each extension is an
 * empty, labelled Docker volume (`expires-at`, `written-at`) on the engine, and the newest written one wins. Older
 * ones are removed after each write (without waiting); two servers writing at once leave two, and the newer still
 * wins. Volumes cost nothing until mounted, and these never are. One listing gives every sandbox's extension, for
 * the reaper.
 */
export class ExpiryVolumes {
  constructor(
    private readonly docker: Docker,
    private readonly namespace: string,
  ) {}

  async write(sandboxId: string, expiresAt: Date): Promise<void> {
    const writtenAt = Date.now();
    await this.docker.createVolume({
      Name: `sandbox-mcp-expiry-${sandboxId}-${writtenAt.toString(36)}-${randomBytes(3).toString('hex')}`,
      Labels: {
        [Labels.managed]: 'true',
        [Labels.namespace]: this.namespace,
        [Labels.expiryOf]: sandboxId,
        [Labels.expiresAt]: expiresAt.toISOString(),
        [Labels.writtenAt]: String(writtenAt),
      },
    });
    // The newest written wins whatever is left, so the older ones are removed after the call returns (a warm
    // sandbox's claim waits for this write).
    void this.removeOlder(sandboxId, writtenAt).catch(() => undefined);
  }

  private async removeOlder(sandboxId: string, writtenAt: number): Promise<void> {
    const mine = await this.volumes(sandboxId);
    const newest = pickNewest(mine);
    await Promise.all(
      mine
        .filter((v) => v !== newest?.volume && Number(v.Labels?.[Labels.writtenAt]) <= writtenAt)
        .map((v) => this.removeVolume(v.Name)),
    );
  }

  /** The latest extension of each sandbox of the namespace (none for a sandbox never extended). */
  async all(): Promise<Map<string, Date>> {
    const bySandbox = new Map<string, Docker.VolumeInspectInfo[]>();
    for (const v of await this.volumes()) {
      const id = v.Labels?.[Labels.expiryOf];
      if (id) bySandbox.set(id, [...(bySandbox.get(id) ?? []), v]);
    }
    const result = new Map<string, Date>();
    for (const [id, volumes] of bySandbox) {
      const newest = pickNewest(volumes);
      if (newest) result.set(id, newest.expiresAt);
    }
    return result;
  }

  async of(sandboxId: string): Promise<Date | undefined> {
    return pickNewest(await this.volumes(sandboxId))?.expiresAt;
  }

  async remove(sandboxId: string): Promise<void> {
    await Promise.all((await this.volumes(sandboxId)).map((v) => this.removeVolume(v.Name)));
  }

  /** Removes the extensions of sandboxes that no longer exist (not fresh ones: their sandbox may be newer than `live`). */
  async prune(live: Set<string>): Promise<void> {
    const before = Date.now() - 60_000;
    const stale = (await this.volumes()).filter(
      (v) => !live.has(v.Labels?.[Labels.expiryOf] ?? '') && Number(v.Labels?.[Labels.writtenAt] ?? 0) < before,
    );
    await Promise.all(stale.map((v) => this.removeVolume(v.Name)));
  }

  private async volumes(sandboxId?: string): Promise<Docker.VolumeInspectInfo[]> {
    const label = [
      `${Labels.managed}=true`,
      `${Labels.namespace}=${this.namespace}`,
      sandboxId ? `${Labels.expiryOf}=${sandboxId}` : Labels.expiryOf,
    ];
    const { Volumes } = await this.docker.listVolumes({ filters: { label } });
    return Volumes ?? [];
  }

  private removeVolume(name: string): Promise<void> {
    return this.docker
      .getVolume(name)
      .remove()
      .catch(() => undefined);
  }
}

/** The most recently written valid expiry; malformed ones are ignored. */
function pickNewest(
  volumes: Docker.VolumeInspectInfo[],
): { volume: Docker.VolumeInspectInfo; expiresAt: Date } | undefined {
  let best: { volume: Docker.VolumeInspectInfo; expiresAt: Date; writtenAt: number } | undefined;
  for (const volume of volumes) {
    const expiresAt = new Date(volume.Labels?.[Labels.expiresAt] ?? Number.NaN);
    const writtenAt = Number(volume.Labels?.[Labels.writtenAt]);
    if (!isValid(expiresAt) || !Number.isFinite(writtenAt)) continue;
    if (!best || writtenAt > best.writtenAt || (writtenAt === best.writtenAt && expiresAt > best.expiresAt))
      best = { volume, expiresAt, writtenAt };
  }
  return best;
}
