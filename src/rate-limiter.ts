import { ErrorCode, SandboxError } from './errors.js';

/** At most `perMinute` calls in any sliding minute; over that, RATE_LIMITED with the wait. */
export class RateLimiter {
  private readonly calls: number[] = [];

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(): void {
    const now = this.now();
    while (this.calls.length && this.calls[0]! <= now - 60_000) this.calls.shift();
    if (this.calls.length >= this.perMinute) {
      const waitS = Math.ceil((this.calls[0]! + 60_000 - now) / 1000);
      throw new SandboxError(
        ErrorCode.RATE_LIMITED,
        `More than ${this.perMinute} calls in the last minute.`,
        `Wait ${waitS}s before the next call, or raise SANDBOX_RATE_LIMIT.`,
      );
    }
    this.calls.push(now);
  }
}
