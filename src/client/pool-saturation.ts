import type { Dispatcher } from 'undici';

/**
 * undici's pools keep a `needDrain` flag, true exactly while no connection can take a request
 * now (each one busy, and no room for another): the next request waits in the pool's queue. undici
 * does not expose it, and its public `pool.stats` costs microseconds per read (it walks every
 * connection five times), too much for every attempt; the flag is one property read. Found once
 * by its description; should an undici upgrade rename it, the public stats answer instead (a
 * test pins the flag, so the fallback is a slowdown, never a wrong answer).
 */
let needDrainKey: symbol | undefined;

function findNeedDrainKey(pool: object): symbol | null {
  const key = Object.getOwnPropertySymbols(pool).find((s) => s.description === 'needDrain');
  return key !== undefined && typeof (pool as Record<symbol, unknown>)[key] === 'boolean'
    ? key
    : null;
}

/**
 * True when a request sent through `dispatcher` now would wait for a connection, as far as the
 * dispatcher says (a non-pool dispatcher that cannot tell counts as saturated: the caller then
 * pays for an exact limit rather than risk an unbounded wait).
 */
export function isSaturated(dispatcher: Dispatcher): boolean {
  needDrainKey ??= findNeedDrainKey(dispatcher) ?? undefined;
  if (needDrainKey !== undefined && needDrainKey in dispatcher) {
    return (dispatcher as unknown as Record<symbol, unknown>)[needDrainKey] === true;
  }
  const stats = (dispatcher as { stats?: { free?: unknown; queued?: unknown } }).stats;
  if (stats === undefined || typeof stats.free !== 'number') return true;
  return stats.free === 0 || (typeof stats.queued === 'number' && stats.queued > 0);
}

/** Whether the saturation flag was found on this undici (tests pin it). */
export function readsSaturationFlag(dispatcher: Dispatcher): boolean {
  return findNeedDrainKey(dispatcher) !== null;
}
