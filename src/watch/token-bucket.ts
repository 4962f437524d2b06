/**
 * Queries a watch may start back to back before `minUpdateIntervalMs` spaces them: Consul's
 * guidance is a rate limit with a small burst. 4, so that a deploy's few changes in a row (one
 * instance leaves, one arrives, a check turns passing) are each followed at once even when they
 * come within a few hundred ms of an earlier one; with 2 the third waited a whole interval (the
 * back-to-back p99 of the propagation bench was ~100 ms). Sustained, a watch still makes at most
 * one query per `minUpdateIntervalMs` (20/s at the default 50 ms).
 */
export const UPDATE_BURST = 4;

/**
 * A token bucket: at most `burst` events at once, then one per `refillMs` on average. Consul's
 * guidance for blocking-query loops: a churning service must not turn the loop into a busy poll,
 * yet two changes in a row (a deploy replacing an instance: one leaves, one arrives) should both be
 * seen at once, which a fixed gap between queries does not allow.
 *
 * Pure: the caller passes the time (ms, any clock; one that steps back costs no stall), so it
 * needs no timers to test.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number | undefined;

  /**
   * `burst`: tokens when full (and at the start), >= 1. `refillMs`: time to earn one token back,
   * in ms; 0 disables the limit (every `take` is granted at once).
   */
  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
  ) {
    this.tokens = burst;
  }

  /**
   * Takes one token for an event at `now`, and returns how long the event must wait for it, in ms
   * (0: at once). The token is spent either way: call it once per event, then wait what it says.
   */
  take(now: number): number {
    if (this.refillMs <= 0) return 0;
    this.refill(now);
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    // In debt: the event waits until the token it took has been earned back.
    return Math.ceil(-this.tokens * this.refillMs);
  }

  /** Tokens available at `now` (fractional while refilling; negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (this.updatedAt !== undefined && now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) / this.refillMs);
    }
    // A clock that went back (Date.now, the default, after an NTP step or a resumed VM) counts as
    // no time passed, and time counts from its new reading: else nothing refilled until it came
    // back to the old one, an hour without reads for a clock set back an hour.
    this.updatedAt = now;
  }
}
