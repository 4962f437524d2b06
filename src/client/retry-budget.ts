import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';

/** Options of a {@link RetryBudget}; every field is optional. */
export interface RetryBudgetOptions {
  /** Retries allowed per first attempt seen in the window, in [0, 1]. Default: 0.2. */
  readonly ratio?: number;
  /** Length of the sliding window, in ms (integer, 1000 to 3600000). Default: 10000. */
  readonly windowMs?: number;
  /** Retries per second always allowed, even with no traffic (>= 0). Default: 10. */
  readonly minRetriesPerSecond?: number;
}

/** {@link RetryBudgetOptions} with every default applied. */
export type ResolvedRetryBudgetOptions = Required<RetryBudgetOptions>;

/** Number of buckets the window is cut into: counts expire in steps of windowMs / 10. */
const BUCKETS = 10;

/** Absorbs the rounding of `ratio * requests` (0.1 * 3 is 0.30000000000000004). */
const EPSILON = 1e-9;

/** The keys of {@link RetryBudgetOptions}; any other is rejected. */
const RETRY_BUDGET_KEYS: KnownKeys<RetryBudgetOptions> = {
  ratio: true,
  windowMs: true,
  minRetriesPerSecond: true,
};

/**
 * Applies defaults and validates `options`, throwing a ConfigError whose path is `${path}.<field>`
 * (default path: `retry.budget`), so a config loader can reject bad input before building clients.
 * Fields left out come from `defaults` (a per-service budget inherits the discovery-level one).
 */
export function resolveRetryBudgetOptions(
  options: RetryBudgetOptions = {},
  path = 'retry.budget',
  defaults: ResolvedRetryBudgetOptions = DEFAULTS.discovery.retryBudget,
): ResolvedRetryBudgetOptions {
  const reader = OptionReader.strict(options, path, RETRY_BUDGET_KEYS);
  return {
    ratio: reader.number('ratio', { min: 0, max: 1 }, defaults.ratio),
    windowMs: reader.integer('windowMs', { min: 1000, max: 3_600_000 }, defaults.windowMs),
    minRetriesPerSecond: reader.number(
      'minRetriesPerSecond',
      { min: 0 },
      defaults.minRetriesPerSecond,
    ),
  };
}

/**
 * Caps retries of one client at `ratio` of its first attempts over a sliding window, plus a floor
 * of `minRetriesPerSecond * windowMs / 1000` retries per window, so that an outage of the upstream
 * cannot turn every request into several (the retry storm Finagle's and Envoy's budgets prevent).
 *
 * Counts live in 10 time buckets: every operation is O(1) (O(10) after a long idle period) and
 * memory is fixed. A count expires between `windowMs * 0.9` and `windowMs` after it was recorded.
 * Retries never deposit, otherwise retries would pay for further retries.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly floor: number;
  private readonly bucketMs: number;
  private readonly requestBuckets = new Array<number>(BUCKETS).fill(0);
  private readonly retryBuckets = new Array<number>(BUCKETS).fill(0);
  private requestTotal = 0;
  private retryTotal = 0;
  private exhaustedTotal = 0;
  /** Index of the current bucket since the epoch of `now` (not modulo BUCKETS). */
  private epoch: number;

  /**
   * @param options resolved by {@link resolveRetryBudgetOptions}, at the edge: not checked again.
   * @param now clock in ms; the default is monotonic so wall-clock jumps cannot expire the window.
   */
  constructor(
    options: ResolvedRetryBudgetOptions = DEFAULTS.discovery.retryBudget,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ratio = options.ratio;
    this.floor = (options.minRetriesPerSecond * options.windowMs) / 1000;
    this.bucketMs = options.windowMs / BUCKETS;
    this.epoch = Math.floor(this.now() / this.bucketMs);
  }

  /** First attempts counted in the current window. */
  get requests(): number {
    this.advance();
    return this.requestTotal;
  }

  /** Retries granted in the current window. */
  get retries(): number {
    this.advance();
    return this.retryTotal;
  }

  /** Retries refused since construction (a cumulative counter, for metrics). */
  get exhausted(): number {
    return this.exhaustedTotal;
  }

  /** How many retries {@link tryAcquire} would grant right now if nothing else happened. */
  get available(): number {
    this.advance();
    return Math.max(0, Math.floor(this.allowance() - this.retryTotal + EPSILON));
  }

  /** Records a first attempt (never a retry): it earns `ratio` of a retry for the window. */
  recordRequest(): void {
    const index = this.advance();
    this.requestBuckets[index] = (this.requestBuckets[index] ?? 0) + 1;
    this.requestTotal += 1;
  }

  /** Asks for one retry: true (and counted) if the budget allows it, else false (and counted). */
  tryAcquire(): boolean {
    const index = this.advance();
    if (this.retryTotal + 1 > this.allowance() + EPSILON) {
      this.exhaustedTotal += 1;
      return false;
    }
    this.retryBuckets[index] = (this.retryBuckets[index] ?? 0) + 1;
    this.retryTotal += 1;
    return true;
  }

  private allowance(): number {
    return this.floor + this.ratio * this.requestTotal;
  }

  /** Expires the buckets that left the window and returns the index of the current one. */
  private advance(): number {
    const epoch = Math.floor(this.now() / this.bucketMs);
    // A clock that steps back keeps using the newest bucket instead of reviving expired ones.
    if (epoch > this.epoch) {
      const expired = Math.min(epoch - this.epoch, BUCKETS);
      for (let step = 1; step <= expired; step += 1) {
        const index = slot(this.epoch + step);
        this.requestTotal -= this.requestBuckets[index] ?? 0;
        this.retryTotal -= this.retryBuckets[index] ?? 0;
        this.requestBuckets[index] = 0;
        this.retryBuckets[index] = 0;
      }
      this.epoch = epoch;
    }
    return slot(this.epoch);
  }
}

/** Ring index of an epoch; also correct for the negative epochs of an injected clock. */
function slot(epoch: number): number {
  return ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
}
