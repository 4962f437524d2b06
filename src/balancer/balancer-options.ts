import { ConfigError } from '../errors';

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

/** Prefix of the `ConfigError.path` of every balancer option, e.g. `balancer.slowStartMs`. */
export const OPTION_PATH = 'balancer';

/** Returns `random` if a function, `Math.random` if absent; throws ConfigError otherwise. */
export function resolveRandom(random: unknown): () => number {
  if (random === undefined) return Math.random;
  if (typeof random !== 'function') {
    throw new ConfigError(
      `${OPTION_PATH}.random`,
      'must be a function returning a number in [0, 1)',
    );
  }
  return random as () => number;
}

/** Returns `now` when it is a function, a `performance.now` clock when absent; throws otherwise. */
export function resolveNow(now: unknown): () => number {
  if (now === undefined) return () => performance.now();
  if (typeof now !== 'function') {
    throw new ConfigError(`${OPTION_PATH}.now`, 'must be a function returning milliseconds');
  }
  return now as () => number;
}

/** Bounds for {@link checkNumber}; both ends inclusive unless `minExclusive`. */
export interface NumberBounds {
  readonly min: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly integer?: boolean;
}

/**
 * Returns `value` when it is a finite number within `bounds`; throws
 * `ConfigError('balancer.<name>')` otherwise, so a typo fails at start-up rather than under load.
 */
export function checkNumber(name: string, value: unknown, bounds: NumberBounds): number {
  const max = bounds.max ?? Number.MAX_VALUE;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (bounds.minExclusive ? value > bounds.min : value >= bounds.min) &&
    value <= max &&
    (!bounds.integer || Number.isInteger(value));
  if (!ok) {
    const range =
      `${bounds.minExclusive ? '>' : '>='} ${bounds.min}` +
      (bounds.max === undefined ? '' : ` and <= ${bounds.max}`);
    throw new ConfigError(
      `${OPTION_PATH}.${name}`,
      `must be a finite ${bounds.integer ? 'integer' : 'number'} ${range}, got ${String(value)}`,
    );
  }
  return value;
}
