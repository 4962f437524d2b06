import type { OptionReader } from '../config/option-reader';

/** Options every built-in balancer accepts; injecting randomness keeps unit tests deterministic. */
export interface BalancerBaseOptions {
  /** Uniform source in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
}

/** Option of the balancers that measure time (slow start, peak EWMA). */
export interface ClockOption {
  /** Monotonic clock in ms. Default: `performance.now()` (never jumps with wall-clock changes). */
  readonly now?: () => number;
}

/** Path of the balancer options in ConfigErrors when the caller names none, e.g. `balancerOptions.slowStartMs`. */
export const BALANCER_OPTIONS_PATH = 'balancerOptions';

/** The `random` option: a function if given, `Math.random` if absent; ConfigError otherwise. */
export function readRandom(reader: OptionReader<BalancerBaseOptions>): () => number {
  return reader.fn('random', Math.random, 'a function returning a number in [0, 1)');
}

/** The `now` option: a function if given, a `performance.now` clock if absent; ConfigError otherwise. */
export function readNow(reader: OptionReader<ClockOption>): () => number {
  return reader.fn('now', () => performance.now(), 'a function returning milliseconds');
}
