import type { ServiceInstance } from '../watch/service-instance';

/** Number of extra random draws a balancer makes before scanning when its choice was excluded. */
export const EXCLUDE_RETRIES = 3;

/**
 * Index in [0, n) from one draw of `random`. Clamped because a custom source returning exactly 1
 * (or slightly more) would otherwise index past the end.
 */
export function randomIndex(random: () => number, n: number): number {
  const index = Math.floor(random() * n);
  return index >= n ? n - 1 : index > 0 ? index : 0;
}

/**
 * Index of the first instance at or after `start`, wrapping around, whose id is not in
 * `exclude`; -1 when every id is excluded. O(n), allocation-free.
 */
export function nextAllowedIndex(
  list: readonly ServiceInstance[],
  start: number,
  exclude: ReadonlySet<string>,
): number {
  const n = list.length;
  for (let step = 0; step < n; step++) {
    const index = (start + step) % n;
    if (!exclude.has(list[index]!.id)) return index;
  }
  return -1;
}

/**
 * Uniformly random index among instances whose id is not in `exclude`, or -1 when none is left.
 * Two O(n) passes (count, then walk to the k-th), allocation-free, and unbiased, unlike
 * "scan forward from a random start", which favours whoever follows an excluded instance.
 */
export function randomAllowedIndex(
  list: readonly ServiceInstance[],
  exclude: ReadonlySet<string>,
  random: () => number,
): number {
  let allowed = 0;
  for (const instance of list) if (!exclude.has(instance.id)) allowed++;
  if (allowed === 0) return -1;
  let skip = randomIndex(random, allowed);
  for (let index = 0; index < list.length; index++) {
    if (exclude.has(list[index]!.id)) continue;
    if (skip === 0) return index;
    skip--;
  }
  return -1;
}

/**
 * Index drawn with probability proportional to `weights[i]` among instances whose id is not in
 * `exclude`, or -1 when none with a positive weight is left. O(n), allocation-free.
 */
export function weightedAllowedIndex(
  list: readonly ServiceInstance[],
  weights: ArrayLike<number>,
  exclude: ReadonlySet<string>,
  random: () => number,
): number {
  let total = 0;
  let last = -1;
  for (let index = 0; index < list.length; index++) {
    if (exclude.has(list[index]!.id)) continue;
    const weight = weights[index]!;
    total += weight;
    if (weight > 0) last = index;
  }
  if (last < 0 || !(total > 0)) return -1;
  let remaining = random() * total;
  for (let index = 0; index < list.length; index++) {
    if (exclude.has(list[index]!.id)) continue;
    remaining -= weights[index]!;
    if (remaining < 0) return index;
  }
  // Rounding can leave a sliver of `remaining`; it belongs to the last allowed instance.
  return last;
}
