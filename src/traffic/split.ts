// Choosing one split of a service-splitter. Consul's weights are percentages with two decimals
// (the smallest is 0.01); they are scaled to integers out of 10 000 so a choice is exact and a
// weight of 0 is never chosen.
import { avalanche32, fnv1a32 } from '../balancer/hash';
import type { ChainSplit } from './discovery-chain';

const SCALE = 10_000;

function scaled(splits: readonly ChainSplit[]): number[] {
  return splits.map((split) => Math.max(0, Math.round(split.weight * 100)));
}

/** The split that owns `point` in [0, total of scaled weights). */
function owner(splits: readonly ChainSplit[], point: number): ChainSplit | undefined {
  const weights = scaled(splits);
  let cumulative = 0;
  for (let i = 0; i < splits.length; i++) {
    cumulative += weights[i]!;
    if (point < cumulative) return splits[i];
  }
  return undefined;
}

function total(splits: readonly ChainSplit[]): number {
  return scaled(splits).reduce((sum, weight) => sum + weight, 0);
}

/**
 * A split chosen in proportion to its weight. `random` returns a number in [0, 1) (Math.random,
 * or a seeded one in tests). Undefined only when every weight is 0.
 */
export function chooseSplit(
  splits: readonly ChainSplit[],
  random: () => number = Math.random,
): ChainSplit | undefined {
  const sum = total(splits);
  if (sum <= 0) return undefined;
  const r = random();
  // A broken random source must not pick outside the table.
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  return owner(splits, Math.floor(unit * sum));
}

/**
 * The split a key (user id, session) always lands on while the weights stay the same: the key's
 * 32-bit hash picks a point out of 10 000 (with the weights' total if it is not exactly 100 %).
 * Splits own consecutive ranges in their order, so with two splits moving 10 % of weight from one
 * to the other moves only the keys in that 10 % (with more, the ranges between them shift too).
 */
export function splitForKey(splits: readonly ChainSplit[], key: string): ChainSplit | undefined {
  const sum = total(splits);
  if (sum <= 0) return undefined;
  const hash = avalanche32(fnv1a32(key));
  const point = Math.floor((hash / 2 ** 32) * (sum === SCALE ? SCALE : sum));
  return owner(splits, point);
}
