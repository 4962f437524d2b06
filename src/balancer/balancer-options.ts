import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys, NumberRule } from '../config/option-reader';

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

/** Peak-EWMA latency tracking (off unless given). */
export interface PeakEwmaOptions {
  /** Time constant in ms with which the estimate forgets old latencies, > 0. E.g. 10000. */
  readonly decayMs: number;
}

/** Every option a built-in balancer reads; each balancer's own type says which are its own. */
export interface BalancerOptionFields extends BalancerBaseOptions, ClockOption {
  readonly slowStartMs?: number;
  readonly slowStartFloor?: number;
  readonly peakEwma?: PeakEwmaOptions;
  readonly virtualNodes?: number;
  readonly scaleByWeight?: boolean;
}

/** A slow-start ramp, validated: `windowMs` > 0, `floor` in (0, 1]. */
export interface ResolvedSlowStart {
  readonly windowMs: number;
  readonly floor: number;
}

/**
 * Balancer options read and completed once, when the client options are resolved; every balancer
 * built from them (one per service and per chain target) takes them as they are.
 */
export interface ResolvedBalancerOptions {
  readonly random: () => number;
  readonly now: () => number;
  /** The ramp of a newly seen instance's share; undefined: off. */
  readonly slowStart: ResolvedSlowStart | undefined;
  /** Peak-EWMA time constant in ms; 0: off. */
  readonly peakEwmaDecayMs: number;
  readonly virtualNodes: number;
  readonly scaleByWeight: boolean;
}

/** Path of the balancer options in ConfigErrors when the caller names none, e.g. `balancerOptions.slowStartMs`. */
export const BALANCER_OPTIONS_PATH = 'balancerOptions';

const PEAK_EWMA_KEYS: KnownKeys<PeakEwmaOptions> = { decayMs: true };

/** A floor of 0 would give a newcomer no share at all, and so no chance to warm up. */
export const SLOW_START_FLOOR_RULE: NumberRule = { min: 0, minExclusive: true, max: 1 };

/**
 * Reads every balancer option in `options` (ConfigErrors name `${path}.<option>`), defaults for
 * the rest. Which keys are known, and which belong to which balancer, is checked by the caller
 * that knows the balancer (create-balancer.ts).
 */
export function readBalancerOptions(
  options: BalancerOptionFields = {},
  path = BALANCER_OPTIONS_PATH,
): ResolvedBalancerOptions {
  const reader = OptionReader.lenient<BalancerOptionFields>(options, path);
  const defaults = DEFAULTS.discovery.client.balancerOptions;
  const random = reader.fn('random', Math.random, 'a function returning a number in [0, 1)');
  const now = reader.fn('now', () => performance.now(), 'a function returning milliseconds');
  const windowMs = reader.ms('slowStartMs', { min: 0 }, defaults.slowStartMs);
  const floor = reader.number('slowStartFloor', SLOW_START_FLOOR_RULE, defaults.slowStartFloor);
  let peakEwmaDecayMs = 0;
  if (reader.has('peakEwma')) {
    const peakEwma = reader.section('peakEwma', PEAK_EWMA_KEYS);
    peakEwmaDecayMs =
      peakEwma.ms('decayMs', { min: 0, minExclusive: true }) ??
      peakEwma.fail('decayMs', 'a duration in ms > 0');
  }
  return {
    random,
    now,
    slowStart: windowMs === 0 ? undefined : { windowMs, floor },
    peakEwmaDecayMs,
    virtualNodes: reader.integer('virtualNodes', { min: 1, max: 10_000 }, defaults.virtualNodes),
    scaleByWeight: reader.boolean('scaleByWeight', defaults.scaleByWeight),
  };
}
