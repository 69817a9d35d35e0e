import { ErrorCode, SandboxError } from '../errors.js';
import { Mutex } from '../util/mutex.js';

/** Gives a reserved place back; calling it again does nothing. */
export type Release = () => void;

/**
 * SANDBOX_MAX_SANDBOXES for one server: the sandboxes the backend lists in the namespace plus the creations under
 * way here, which the backend does not list yet. Checks run one at a time, so concurrent creates cannot all slip
 * under the limit; each reservation comes back as a handle that releases it once.
 */
export class Quota {
  private pending = 0;
  private readonly lock = new Mutex();

  constructor(
    private readonly max: number,
    private readonly namespace: string,
    /** How many sandboxes the backend lists in the namespace now. */
    private readonly existing: () => Promise<number>,
  ) {}

  /** Room for one more sandbox, or QUOTA_EXCEEDED. */
  reserve(): Promise<Release> {
    return this.lock.run(async () => {
      const total = (await this.existing()) + this.pending;
      if (total >= this.max) {
        throw new SandboxError(
          ErrorCode.QUOTA_EXCEEDED,
          `There are already ${total} sandboxes in namespace ${this.namespace} (warm-pool ones included), the limit (SANDBOX_MAX_SANDBOXES=${this.max}).`,
          'Delete sandboxes you no longer need (sandbox_list, then sandbox_delete), or raise SANDBOX_MAX_SANDBOXES.',
        );
      }
      return this.hold();
    });
  }

  /** Counts a sandbox that is already within the quota (a claimed warm one) while it is being set up. */
  hold(): Release {
    this.pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pending--;
    };
  }
}
