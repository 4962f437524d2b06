import { instanceEqual } from './blocking-index';
import type { ServiceInstance } from './service-instance';
import { compareInstances } from './compare-instances';

/**
 * Puts the previous list's object in place of each instance of `next` that did not change (same
 * identity, same content), as steps (see time-slicer). Every stateful part downstream keys on the
 * object or its identity: the routing table keeps the route (pool, metrics, load hooks) of an
 * instance whose object it already holds, and comparing two lists becomes `===` for all but the
 * instances that changed. Without it a change of one instance among 10,000 rebuilt all 10,000
 * routes. Both lists are sorted by identity (compareInstances): one merge pass, no map.
 * Returns whether `next` differs from `previous` in any instance or in length.
 */
export function* shareUnchangedInSteps(
  next: ServiceInstance[],
  previous: readonly ServiceInstance[],
): Generator<void, boolean> {
  let changed = next.length !== previous.length;
  let j = 0;
  for (let i = 0; i < next.length; i++) {
    const instance = next[i]!;
    while (j < previous.length && compareInstances(previous[j]!, instance) < 0) j++;
    const old = previous[j];
    if (old !== undefined && old.id === instance.id && instanceEqual(old, instance)) {
      next[i] = old;
      // The same object at another position still means the list changed (one left before it).
      if (i !== j) changed = true;
    } else {
      changed = true;
    }
    if ((i & 127) === 0) yield;
  }
  return changed;
}
