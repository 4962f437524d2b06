// The one vocabulary of the request path, from an attempt to the metric labels and the error a
// caller gets. Every string here is snake_case and is used as it is: an attempt's kind, the retries
// metric's `reason`, the `reason` a request error carries. Nothing else in the client spells them.

import {
  isAbortedError,
  isNoHealthyInstancesError,
  isRequestTimeoutError,
  isRetriesExhaustedError,
} from '../errors';
import { isFailureStatus } from '../resilience/failure-status';

/** The classification of a transport error (retry-policy.ts): Envoy's retry conditions. */
export type NetworkFailure =
  /** No connection was made: no server saw the request, resending it is safe whatever the method. */
  | 'connect_failure'
  /** The connection broke during the exchange: the server may have acted on the request. */
  | 'reset';

/** How one attempt ended without a response. */
export type AttemptFailure =
  | NetworkFailure
  /** The per-try timeout passed before the response headers. */
  | 'try_timeout'
  /** The call's deadline passed before the response headers. */
  | 'deadline'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** Anything else (an invalid header, a TLS failure...): not the instance's fault, not retried. */
  | 'transport_error';

/** How one attempt ended: response headers arrived (any status), or one of the failures. */
export type AttemptOutcomeKind = 'response' | AttemptFailure;

/**
 * Why a retry happens. The retries metric's `reason` label is this string, except that `status`
 * is written `status_<code>` (e.g. `status_503`).
 */
export type RetryCause = 'status' | NetworkFailure | 'try_timeout';

/** Why a call ends with an error instead of a response; every request error carries one. */
export type FailReason =
  /** The caller's AbortSignal fired (AbortedError). */
  | 'aborted'
  /** The call's deadline passed, or the next backoff would not fit before it (RequestTimeoutError). */
  | 'deadline'
  /** The attempt's failure is never retried, e.g. a TLS error (UpstreamError). */
  | 'not_retryable'
  /** The caller said `retryable: false` (UpstreamError, or RequestTimeoutError after a try timeout). */
  | 'disabled_by_caller'
  /** A streamed body cannot be sent twice (as above). */
  | 'body_not_replayable'
  /** A non-idempotent method without an idempotency key may not be repeated (as above). */
  | 'not_idempotent'
  /** `maxAttempts` attempts were made (RetriesExhaustedError). */
  | 'max_attempts'
  /** A Retry-After asked for a delay at or past the deadline (RetriesExhaustedError). */
  | 'retry_after_beyond_deadline'
  /** The retry budget refused another retry (RetriesExhaustedError). */
  | 'budget_exhausted'
  /** Discovery knows no healthy instance (NoHealthyInstancesError, raised at once). */
  | 'no_instances'
  /** Discovery had no answer from Consul within `readyTimeoutMs` (NoHealthyInstancesError). */
  | 'discovery_timeout'
  /** A retry found no instance left to try (RetriesExhaustedError). */
  | 'no_instance_left'
  /** The instance answered with a status outside 200-599, which no caller can use (UpstreamError). */
  | 'invalid_status';

/** Outcome label of a whole call (`client_requests_total`, `client_request_duration_seconds`). */
export type RequestOutcome =
  | 'success'
  | 'http_error'
  | 'network_error'
  | 'timeout'
  | 'no_instances'
  | 'retries_exhausted'
  | 'aborted';

/** Outcome label of one attempt against one instance (`client_attempts_total`). */
export type AttemptMetricOutcome = 'success' | 'http_error' | 'network_error' | 'timeout';

// The 5xx rule is shared with the Consul client, so it lives below both; re-exported as part of
// this vocabulary.
export { isFailureStatus };

/** The attempt metric's label for an attempt that ended so; undefined: not counted (aborted). */
export function attemptMetricOutcome(
  kind: AttemptOutcomeKind,
  status: number | undefined,
): AttemptMetricOutcome | undefined {
  switch (kind) {
    case 'response':
      return status !== undefined && isFailureStatus(status) ? 'http_error' : 'success';
    case 'try_timeout':
    case 'deadline':
      return 'timeout';
    case 'aborted':
      return undefined;
    default:
      return 'network_error';
  }
}

/** The retries metric's `reason` label. */
export function retryLabel(cause: RetryCause, status: number | undefined): string {
  return cause === 'status' ? `status_${status}` : cause;
}

/** The request metric's outcome for a call that answered with `status`. */
export function answeredOutcome(status: number): RequestOutcome {
  return isFailureStatus(status) ? 'http_error' : 'success';
}

/** The request metric's outcome for a call that failed with `error`. */
export function failedOutcome(error: unknown): RequestOutcome {
  if (isNoHealthyInstancesError(error)) return 'no_instances';
  if (isRequestTimeoutError(error)) return 'timeout';
  if (isRetriesExhaustedError(error)) return 'retries_exhausted';
  if (isAbortedError(error)) return 'aborted';
  return 'network_error';
}
