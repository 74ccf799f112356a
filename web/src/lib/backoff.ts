// The schedule for reconnecting after the signalling connection is lost:
// 1 s, 2 s, 4 s … at most 10 s between attempts, and give up when the outage
// has lasted 2 minutes.

export interface BackoffOptions {
  firstMs: number;
  maxMs: number;
  giveUpAfterMs: number;
}

export const RECONNECT: BackoffOptions = { firstMs: 1000, maxMs: 10_000, giveUpAfterMs: 120_000 };

export class Backoff {
  private attempt = 0;
  private since: number | null = null;

  constructor(private readonly opts: BackoffOptions = RECONNECT) {}

  /**
   * The delay before the next attempt, counted from a failure at time `now`
   * (ms), or null when the outage has lasted long enough to give up. The first
   * failure starts the outage.
   */
  next(now: number): number | null {
    if (this.since === null) this.since = now;
    const elapsed = now - this.since;
    if (elapsed >= this.opts.giveUpAfterMs) return null;
    const delay = Math.min(this.opts.firstMs * 2 ** this.attempt, this.opts.maxMs);
    this.attempt++;
    // Never plan an attempt past the give-up time; one last try at the limit.
    return Math.min(delay, this.opts.giveUpAfterMs - elapsed);
  }

  /** The connection works again: the next outage starts from the first delay. */
  reset(): void {
    this.attempt = 0;
    this.since = null;
  }

  /** When the current outage began, or null when there is none. */
  get outageStart(): number | null {
    return this.since;
  }
}
