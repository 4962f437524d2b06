// The one retry rule of the request path. Attempts report what happened (an AttemptOutcome);
// this pure function decides what the call does next. No clock, no randomness, no state: the
// caller passes the time left, the backoff it drew and whether the retry budget has room.
import type { AttemptOutcomeKind } from './attempt';
import { isIdempotentMethod, retryableStatus } from './retry-policy';

/** Everything the decision needs about one finished attempt and the call around it. */
export interface RetryInput {
  /** What the attempt ended with. */
  readonly outcome: AttemptOutcomeKind;
  /** Status of the response, for outcome `response`. */
  readonly status?: number | undefined;
  /** HTTP method, upper case. */
  readonly method: string;
  /** The request's Idempotency-Key; a non-empty one makes any method safe to repeat. */
  readonly idempotencyKey?: string | undefined;
  /** true: the caller vouches it is safe to repeat; false: never retry; unset: by method. */
  readonly retryableByCaller?: boolean | undefined;
  /** Whether the body can be sent again (none, a string or bytes; never a stream). */
  readonly bodyReplayable: boolean;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  /** The call's attempt limit. */
  readonly maxAttempts: number;
  /** Time left before the call's deadline, in ms. */
  readonly remainingMs: number;
  /** Delay a `Retry-After` header asked for (429/503), in ms, already capped; undefined when none. */
  readonly retryAfterMs?: number | undefined;
  /** The jittered backoff the caller drew for this retry, in ms. */
  readonly backoffMs: number;
  /** Whether the retry budget would grant one more retry now. */
  readonly budgetAvailable: boolean;
  /** Statuses a chain route also retries (its RetryOnStatusCodes), besides 429/502/503/504. */
  readonly extraRetryableStatuses?: readonly number[] | undefined;
}

/** Whether `status` is retried: one of ours, or one the route adds. */
function isRetryable(status: number, extra: readonly number[] | undefined): boolean {
  return retryableStatus(status) || (extra !== undefined && extra.includes(status));
}

/** Why a retry happens: also the `reason` label of the retries metric. */
export type RetryCause = 'status' | 'connect-failure' | 'reset' | 'timeout';

/** Why the call stops with an error instead of retrying. */
export type FailReason =
  | 'aborted'
  | 'deadline'
  | 'not-retryable'
  | 'disabled-by-caller'
  | 'body-not-replayable'
  | 'not-idempotent'
  | 'max-attempts'
  | 'retry-after-beyond-deadline'
  | 'budget-exhausted';

/** What the call does next. */
export type RetryDecision =
  /** Hand the response to the caller (a success, or a status that retrying cannot help). */
  | { readonly action: 'return' }
  /** Try another instance after `delayMs`. */
  | { readonly action: 'retry'; readonly cause: RetryCause; readonly delayMs: number }
  /** Stop with an error, for `reason`. */
  | { readonly action: 'fail'; readonly reason: FailReason };

const RETURN: RetryDecision = Object.freeze({ action: 'return' });
const FAILS: { readonly [R in FailReason]: RetryDecision } = Object.freeze({
  aborted: { action: 'fail', reason: 'aborted' },
  deadline: { action: 'fail', reason: 'deadline' },
  'not-retryable': { action: 'fail', reason: 'not-retryable' },
  'disabled-by-caller': { action: 'fail', reason: 'disabled-by-caller' },
  'body-not-replayable': { action: 'fail', reason: 'body-not-replayable' },
  'not-idempotent': { action: 'fail', reason: 'not-idempotent' },
  'max-attempts': { action: 'fail', reason: 'max-attempts' },
  'retry-after-beyond-deadline': { action: 'fail', reason: 'retry-after-beyond-deadline' },
  'budget-exhausted': { action: 'fail', reason: 'budget-exhausted' },
});

/** The cause a failed outcome would be retried for, or undefined when it never is. */
function causeOf(input: RetryInput): RetryCause | undefined {
  switch (input.outcome) {
    case 'response':
      return input.status !== undefined && isRetryable(input.status, input.extraRetryableStatuses)
        ? 'status'
        : undefined;
    case 'connect-error':
      return 'connect-failure';
    case 'reset':
      return 'reset';
    case 'try-timeout':
      return 'timeout';
    default:
      return undefined;
  }
}

/**
 * Decides, for one finished attempt, whether the call returns, retries elsewhere after a delay,
 * or fails. The rule, in order:
 * 1. the caller's abort and the deadline end the call; a success or a status retrying cannot help
 *    (anything but 429/502/503/504) is returned;
 * 2. a failure must be retryable: a connect failure always is (no server saw the request); a
 *    retryable status, a reset or a per-try timeout only when repeating is safe: an idempotent
 *    method, `retryableByCaller: true`, or a non-empty idempotency key; `retryableByCaller: false`
 *    forbids every retry, and a body that cannot be replayed is never sent twice. A retryable
 *    status that may not be repeated is returned to the caller as it is;
 * 3. then the limits: attempts, a Retry-After at or beyond the deadline (fails at once rather than
 *    sleeping into a timeout), the backoff or Retry-After delay not fitting before the deadline,
 *    and last the retry budget (so a retry that could not happen anyway spends nothing).
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome } = input;
  if (outcome === 'aborted') return FAILS.aborted;
  if (outcome === 'deadline') return FAILS.deadline;
  if (
    outcome === 'response' &&
    (input.status === undefined || !isRetryable(input.status, input.extraRetryableStatuses))
  ) {
    return RETURN;
  }
  const cause = causeOf(input);
  const isStatus = cause === 'status';
  // A status the caller may not repeat is still an answer: hand it over rather than an error.
  const refuse = (reason: FailReason): RetryDecision => (isStatus ? RETURN : FAILS[reason]);
  if (cause === undefined) return FAILS['not-retryable'];
  if (input.retryableByCaller === false) return refuse('disabled-by-caller');
  if (!input.bodyReplayable) return refuse('body-not-replayable');
  const safeToRepeat =
    cause === 'connect-failure' ||
    input.retryableByCaller === true ||
    (input.idempotencyKey !== undefined && input.idempotencyKey !== '') ||
    isIdempotentMethod(input.method);
  if (!safeToRepeat) return refuse('not-idempotent');
  if (input.attempts >= input.maxAttempts) return FAILS['max-attempts'];
  const retryAfterMs = input.retryAfterMs;
  if (retryAfterMs !== undefined && retryAfterMs >= input.remainingMs) {
    return FAILS['retry-after-beyond-deadline'];
  }
  const delayMs = Math.max(input.backoffMs, retryAfterMs ?? 0);
  if (delayMs >= input.remainingMs) return FAILS.deadline;
  if (!input.budgetAvailable) return FAILS['budget-exhausted'];
  return { action: 'retry', cause, delayMs };
}
