/** Exponential backoff with equal jitter, capped. Pure: randomness comes in as a function. */
export interface BackoffOptions {
  /** First delay before jitter, in ms. Default: 200. */
  readonly baseMs?: number;
  /** Upper bound of any delay, in ms. Default: 30000. */
  readonly maxMs?: number;
  /** Growth factor per failure. Default: 2. */
  readonly factor?: number;
}

/** Tracks consecutive failures and answers how long to wait before the next try. */
export class Backoff {
  private failures = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly factor: number;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.baseMs = options.baseMs ?? 200;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
  }

  /** Consecutive failures since the last success. */
  get attempt(): number {
    return this.failures;
  }

  /**
   * Records a failure and returns the delay to wait, in ms. Equal jitter (uniform in
   * [ceiling/2, ceiling]) rather than full jitter ([0, ceiling]): the floor keeps a flapping agent
   * from being hammered by the retries that drew a delay near 0.
   */
  nextDelayMs(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * this.factor ** this.failures);
    this.failures = Math.min(this.failures + 1, 64);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /** Records a success: the next failure starts from the base delay again. */
  reset(): void {
    this.failures = 0;
  }
}
