import { ErrorCode, SandboxError } from '../errors.js';

/** Gives a reserved place back; calling it again does nothing. */
export type Release = () => void;

/** A place taken here: the sandbox's ID when known (a listing may already show it), in the order taken. */
interface Place {
  seq: number;
  id?: string;
  /** Taken by reserve(), whose own check counts the places before it; a hold() checks nothing. */
  checked: boolean;
}

/**
 * SANDBOX_MAX_SANDBOXES for one server: the sandboxes the backend lists in the namespace plus the creations under
 * way here, which the backend may not list yet. A check needs no lock, so it can run alongside the create it
 * admits (the listing is then off the create's path): each reservation counts the places taken before it, whether
 * listed or not, and the sandboxes listed that are not being made here after it. Of two concurrent creates the
 * later one always counts the earlier, so they cannot both slip under the limit; a sandbox both listed and being
 * made is counted once, and the one being admitted never counts itself. Each reservation comes back as a handle
 * that releases it once.
 */
export class Quota {
  private readonly places = new Set<Place>();
  private seq = 0;

  constructor(
    private readonly max: number,
    private readonly namespace: string,
    /** The IDs of the sandboxes the backend lists in the namespace now. */
    private readonly existing: () => Promise<string[]>,
  ) {}

  /**
   * Room for one more sandbox (`id`, when already chosen), or QUOTA_EXCEEDED. The place is taken at once, before
   * the listing is asked for: the caller may make the sandbox meanwhile, and undoes it if this rejects.
   */
  async reserve(id?: string): Promise<Release> {
    const before = [...this.places];
    const place: Place = { seq: this.seq++, id, checked: true };
    this.places.add(place);
    const release = this.releaser(place);
    try {
      const listed = await this.existing();
      // Reserved here after this one and still under way: their checks count this one, so this one does not count
      // them. A sandbox held after it (a warm one claimed meanwhile) is counted by no other check: it counts here.
      const later = new Set([...this.places].filter((p) => p.seq > place.seq && p.id && p.checked).map((p) => p.id));
      const ids = new Set(listed.filter((other) => other !== id && !later.has(other)));
      let anonymous = 0;
      for (const p of before) {
        if (p.id === undefined) anonymous++;
        else if (p.id !== id) ids.add(p.id);
      }
      const total = ids.size + anonymous;
      if (total >= this.max) {
        throw new SandboxError(
          ErrorCode.QUOTA_EXCEEDED,
          `There are already ${total} sandboxes in namespace ${this.namespace} (warm-pool ones included), the limit (SANDBOX_MAX_SANDBOXES=${this.max}).`,
          'Delete sandboxes you no longer need (sandbox_list, then sandbox_delete), or raise SANDBOX_MAX_SANDBOXES.',
        );
      }
      return release;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Counts a sandbox that is already within the quota (a claimed warm one) while it is being set up. */
  hold(id?: string): Release {
    const place: Place = { seq: this.seq++, id, checked: false };
    this.places.add(place);
    return this.releaser(place);
  }

  private releaser(place: Place): Release {
    return () => {
      this.places.delete(place);
    };
  }
}
