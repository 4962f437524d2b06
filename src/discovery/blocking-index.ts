import type { ServiceInstance } from './service-instance';

/**
 * What an answer's `X-Consul-Index` means for a blocking-query loop:
 * - `advanced`: the index rose; the answer may carry new content (compare it before announcing).
 * - `unchanged`: same index as before, typically the wait ran out; nothing changed.
 * - `backwards`: lower than before (agent or server restarted, snapshot restored, a stale read from a
 *   lagging server); the answer is not trusted and the loop restarts from index 0.
 * - `invalid`: missing, 0 or not a safe integer; an error, since blocking on it would busy-loop.
 */
export type IndexOutcome = 'advanced' | 'unchanged' | 'backwards' | 'invalid';

/** Decision of {@link decideIndex}. */
export interface IndexDecision {
  readonly outcome: IndexOutcome;
  /** Index to send with the next query; 0 makes it a non-blocking read. */
  readonly nextIndex: number;
  /** Why the index is unusable; set only when `outcome` is `invalid`. */
  readonly error?: string;
}

/**
 * Applies Consul's blocking-query index rules to one answer. `previous` is the index of the last
 * answer the loop accepted (0 before the first one); `answered` is the new `X-Consul-Index`
 * (undefined when Consul sent none).
 *
 * Rules: an index that is missing or not above 0 is an error and the next query starts over at 0
 * (non-blocking); an index lower than `previous` resets to 0 without using the answer, so the next
 * (non-blocking) read fetches the current state afresh; an equal index changes nothing; a higher
 * index is adopted.
 */
export function decideIndex(previous: number, answered: number | undefined): IndexDecision {
  if (answered === undefined) {
    return { outcome: 'invalid', nextIndex: 0, error: 'the answer has no X-Consul-Index' };
  }
  if (!Number.isSafeInteger(answered) || answered <= 0) {
    return { outcome: 'invalid', nextIndex: 0, error: `X-Consul-Index ${answered} is not above 0` };
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
