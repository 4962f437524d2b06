// The one retry rule of the request path. Attempts report what happened (an AttemptResult);
// this pure function decides what the call does next. No clock, no randomness, no state: the
// caller passes the time left, the backoff it drew and whether the retry budget has room.
import type { AttemptOutcomeKind, FailReason, RetryCause } from './request-outcome';
import { isIdempotentMethod, retryableStatus } from './retry-policy';
import type { RouteRetryPolicy } from '../traffic/route-retry';

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
  /**
   * Takes one retry from the retry budget, or answers false (the budget counts the refusal). Asked
   * last, once the retry is otherwise decided, and at most once: taking and checking are one step,
   * so two calls sharing a budget cannot both see its last retry as free.
   */
  readonly tryAcquireRetry: () => boolean;
  /**
   * A chain route's retry policy (its RetryOn, RetryOnConnectFailure, RetryOnStatusCodes, as
   * Consul gives them to Envoy): it replaces which statuses and failures are retried; the rules of
   * safety (method, idempotency key, caller, body) and the limits stay.
   */
  readonly routeRetry?: RouteRetryPolicy | undefined;
}

/** What the call does next. */
export type RetryDecision =
  /** Hand the response to the caller (a success, or a status that retrying cannot help). */
  | { readonly action: 'return' }
  /** Try another instance after `delayMs`. */
  | { readonly action: 'retry'; readonly cause: RetryCause; readonly delayMs: number }
  /** Stop with an error, for `reason`. */
  | { readonly action: 'fail'; readonly reason: FailReason };

const RETURN: RetryDecision = Object.freeze({ action: 'return' });
/** One frozen decision per reason, made on first use (the rule runs on every failed attempt). */
const FAILS = new Map<FailReason, RetryDecision>();

function fail(reason: FailReason): RetryDecision {
  let decision = FAILS.get(reason);
  if (decision === undefined) {
    decision = Object.freeze({ action: 'fail', reason });
    FAILS.set(reason, decision);
  }
  return decision;
}

/**
 * The rule's first step on its own: an answer with this status goes back to the caller as it is
 * (anything but 429/502/503/504, or what a chain route's policy retries). The call loop asks it
 * before building the rule's input.
 */
export function answersAtOnce(status: number, route?: RouteRetryPolicy): boolean {
  return route === undefined ? !retryableStatus(status) : !route.retriesStatus(status);
}

/** The cause a failed outcome would be retried for, or undefined when it never is. */
function causeOf(input: RetryInput): RetryCause | undefined {
  switch (input.outcome) {
    case 'response':
      return input.status !== undefined && !answersAtOnce(input.status, input.routeRetry)
        ? 'status'
        : undefined;
    case 'connect_failure':
    case 'reset':
    case 'try_timeout':
      // A route's policy retries only the failures its conditions name (Envoy's reading).
      return input.routeRetry === undefined || input.routeRetry.outcomes.has(input.outcome)
        ? input.outcome
        : undefined;
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
 *    and last the retry budget, taken only here (so a retry that could not happen anyway spends
 *    nothing).
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome } = input;
  if (outcome === 'aborted') return fail('aborted');
  if (outcome === 'deadline') return fail('deadline');
  if (
    outcome === 'response' &&
    (input.status === undefined || answersAtOnce(input.status, input.routeRetry))
  ) {
    return RETURN;
  }
  const cause = causeOf(input);
  const isStatus = cause === 'status';
  // A status the caller may not repeat is still an answer: hand it over rather than an error.
  const refuse = (reason: FailReason): RetryDecision => (isStatus ? RETURN : fail(reason));
  if (cause === undefined) return fail('not_retryable');
  if (input.retryableByCaller === false) return refuse('disabled_by_caller');
  if (!input.bodyReplayable) return refuse('body_not_replayable');
  const safeToRepeat =
    cause === 'connect_failure' ||
    input.retryableByCaller === true ||
    (input.idempotencyKey !== undefined && input.idempotencyKey !== '') ||
    isIdempotentMethod(input.method);
  if (!safeToRepeat) return refuse('not_idempotent');
  if (input.attempts >= input.maxAttempts) return fail('max_attempts');
  const retryAfterMs = input.retryAfterMs;
  if (retryAfterMs !== undefined && retryAfterMs >= input.remainingMs) {
    return fail('retry_after_beyond_deadline');
  }
  const delayMs = Math.max(input.backoffMs, retryAfterMs ?? 0);
  if (delayMs >= input.remainingMs) return fail('deadline');
  if (!input.tryAcquireRetry()) return fail('budget_exhausted');
  return { action: 'retry', cause, delayMs };
}
