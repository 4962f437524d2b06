import type { ServiceInstance } from './service-instance';

/**
 * What an answer's `X-Consul-Index` means for a blocking-query loop:
 * - `advanced`: the index rose; the answer may carry new content (compare it before announcing).
 * - `unchanged`: same index as before, typically the wait ran out; nothing changed.
 * - `backwards`: lower than before (agent or server restarted, snapshot restored, a stale read from a
 *   lagging server); the answer is not trusted and the loop restarts from index 0.
 * - `belowOne`: missing, 0 or otherwise unusable. Consul's implementation notes call this a Consul
 *   bug and say to wait from index 1 instead: index 1 is always safe (any real index is higher, so
 *   Consul answers at once with the current state) and, unlike 0, it blocks, so the loop cannot spin.
 */
export type IndexOutcome = 'advanced' | 'unchanged' | 'backwards' | 'belowOne';

/** Decision of {@link decideIndex}. */
export interface IndexDecision {
  readonly outcome: IndexOutcome;
  /** Index to send with the next query; 0 makes it a non-blocking read. */
  readonly nextIndex: number;
}

/** The index to wait from when Consul's is below 1: the lowest one that still blocks. */
export const SAFE_INDEX = 1;

/**
 * Applies Consul's blocking-query index rules to one answer. `previous` is the index of the last
 * answer the loop accepted (0 before the first one); `answered` is the new `X-Consul-Index`
 * (undefined when Consul sent none).
 *
 * Rules: an index that is missing, below 1 or not a safe integer is replaced by 1 (checked first,
 * so it never counts as going backwards); an index lower than `previous` resets to 0 without using
 * the answer, so the next (non-blocking) read fetches the current state afresh; an equal index
 * changes nothing; a higher index is adopted.
 */
export function decideIndex(previous: number, answered: number | undefined): IndexDecision {
  if (answered === undefined || !Number.isSafeInteger(answered) || answered < SAFE_INDEX) {
    return { outcome: 'belowOne', nextIndex: SAFE_INDEX };
  }
  if (answered < previous) return { outcome: 'backwards', nextIndex: 0 };
  if (answered === previous) return { outcome: 'unchanged', nextIndex: previous };
  return { outcome: 'advanced', nextIndex: answered };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

function sameMeta(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && a[key] === b[key])
  );
}

/** True when two instances agree on every field a caller can see. */
export function instanceEqual(a: ServiceInstance, b: ServiceInstance): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.service === b.service &&
      a.node === b.node &&
      a.address === b.address &&
      a.port === b.port &&
      a.status === b.status &&
      a.weight === b.weight &&
      sameTags(a.tags, b.tags) &&
      sameMeta(a.meta, b.meta))
  );
}

/**
 * True when two instance lists have the same content. Both must be in the order
 * `toServiceInstances` produces (by id, then node); tag order counts, as it does in Consul.
 */
export function contentEqual(
  previous: readonly ServiceInstance[],
  next: readonly ServiceInstance[],
): boolean {
  if (previous === next) return true;
  if (previous.length !== next.length) return false;
  return previous.every((instance, i) => {
    const other = next[i];
    return other !== undefined && instanceEqual(instance, other);
  });
}
