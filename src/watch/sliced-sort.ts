/** Items sorted at once by the engine's sort before the merge passes (well under a ms of work). */
const RUN_LENGTH = 512;

/**
 * Sorts `items` in place like `items.sort(compare)` (stable), as steps: the generator yields
 * between pieces of work, so that a driver (see `runSliced` in consul/time-slicer) can give the event
 * loop a turn; the one `sort` of a 50,000-instance list holds it for tens of ms. Consul sends a
 * service's entries ordered by node and service id, which is nearly always the order wanted here:
 * a list already in order is recognised in one pass and left as it is.
 */
export function* sortInSteps<T>(items: T[], compare: (a: T, b: T) => number): Generator<void> {
  let sorted = true;
  for (let i = 1; i < items.length; i++) {
    if (compare(items[i - 1]!, items[i]!) > 0) {
      sorted = false;
      break;
    }
    if ((i & 255) === 0) yield;
  }
  if (sorted) return;
  if (items.length <= RUN_LENGTH) {
    items.sort(compare);
    return;
  }

  // Bottom-up merge sort: runs sorted by the engine, then merged pairwise.
  for (let start = 0; start < items.length; start += RUN_LENGTH) {
    const run = items.slice(start, start + RUN_LENGTH).sort(compare);
    for (let i = 0; i < run.length; i++) items[start + i] = run[i]!;
    yield;
  }
  let from = items;
  let to: T[] = new Array<T>(items.length);
  for (let width = RUN_LENGTH; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      const middle = Math.min(left + width, items.length);
      const end = Math.min(left + 2 * width, items.length);
      let i = left;
      let j = middle;
      for (let k = left; k < end; k++) {
        // `<= 0` takes from the left run on ties: the sort stays stable.
        if (i < middle && (j >= end || compare(from[i]!, from[j]!) <= 0)) to[k] = from[i++]!;
        else to[k] = from[j++]!;
        if ((k & 255) === 0) yield;
      }
    }
    [from, to] = [to, from];
  }
  if (from !== items) {
    for (let i = 0; i < items.length; i++) items[i] = from[i]!;
  }
}
