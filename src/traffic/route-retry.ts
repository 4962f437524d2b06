// A service-router route's retry policy, read as Consul 1.16.3 hands it to Envoy
// (agent/xds/routes.go): a destination "has retry features" when it sets NumRetries > 0,
// RetryOnConnectFailure, RetryOnStatusCodes or RetryOn; it then gets a policy whose conditions
// are its RetryOn list, plus `connect-failure` for RetryOnConnectFailure and
// `retriable-status-codes` for RetryOnStatusCodes, and whose retry count is NumRetries, or
// Envoy's default of 1 when NumRetries is not set. What the conditions retry, in our outcomes
// (src/client/request-outcome.ts), follows Envoy's router filter (x-envoy-retry-on):
// - `5xx`: any 5xx status, a failed connection, a reset, a per-try timeout;
// - `gateway-error`: 502, 503, 504, a failed connection, a reset, a per-try timeout;
// - `reset`: a reset, a failed connection, a per-try timeout (no answer at all);
// - `connect-failure`: a failed connection;
// - `retriable-4xx`: 409;
// - `retriable-status-codes`: the statuses of RetryOnStatusCodes.
// Not supported, ignored (we cannot tell them apart without Envoy or gRPC parsing):
// `refused-stream`, `envoy-ratelimited`, and the gRPC ones (`cancelled`, `deadline-exceeded`,
// `internal`, `resource-exhausted`, `unavailable`).
//
// Consul's JSON leaves out zero values: `NumRetries: 0` and `RetryOnConnectFailure: false`
// never reach the chain (checked on 1.16.3), so they read as unset; a destination with no retry
// feature keeps the client's own retry rule.
/** RetryOn conditions we map onto our outcomes. */
export const SUPPORTED_RETRY_ON = Object.freeze([
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'retriable-status-codes',
] as const);

/** RetryOn conditions Consul 1.16.3 accepts that we cannot tell apart: ignored. */
export const UNSUPPORTED_RETRY_ON = Object.freeze([
  'refused-stream',
  'envoy-ratelimited',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const);

/**
 * Attempt outcomes other than a response that a condition may retry, spelled as the request
 * path's vocabulary (src/client/request-outcome.ts); traffic does not depend on the client.
 */
export type NoAnswerOutcome = 'connect_failure' | 'reset' | 'try_timeout';
type NoAnswer = NoAnswerOutcome;

/** What a route retries, in place of the client's own rule. */
export interface RouteRetryPolicy {
  /** Attempts a call may make: 1 + NumRetries (1 + 1 when NumRetries is not set). */
  readonly maxAttempts: number;
  /** The outcomes without an answer that the route retries. */
  readonly outcomes: ReadonlySet<NoAnswer>;
  /** Whether the route retries a response with `status`. */
  retriesStatus(status: number): boolean;
  /** The conditions of RetryOn left out because we cannot tell them apart. */
  readonly ignored: readonly string[];
}

/** What a route destination says about retries (the parsed chain's fields). */
export interface RetryFields {
  readonly numRetries: number;
  readonly retryOnConnectFailure: boolean;
  readonly retryOn: readonly string[];
  readonly retryOnStatusCodes: readonly number[];
}

const NO_ANSWER: readonly NoAnswer[] = ['connect_failure', 'reset', 'try_timeout'];

/** The route's policy, or undefined when it has no retry feature (the client's rule applies). */
export function routeRetryPolicy(fields: RetryFields): RouteRetryPolicy | undefined {
  const { numRetries, retryOnConnectFailure, retryOn, retryOnStatusCodes } = fields;
  if (
    numRetries === 0 &&
    !retryOnConnectFailure &&
    retryOn.length === 0 &&
    retryOnStatusCodes.length === 0
  ) {
    return undefined;
  }
  const conditions = new Set(retryOn);
  if (retryOnConnectFailure) conditions.add('connect-failure');
  if (retryOnStatusCodes.length > 0) conditions.add('retriable-status-codes');
  const outcomes = new Set<NoAnswer>();
  const any5xx = conditions.has('5xx');
  const gateway = conditions.has('gateway-error');
  if (any5xx || gateway || conditions.has('reset')) for (const o of NO_ANSWER) outcomes.add(o);
  if (conditions.has('connect-failure')) outcomes.add('connect_failure');
  const statuses = new Set<number>(
    conditions.has('retriable-status-codes') ? retryOnStatusCodes : [],
  );
  if (gateway) for (const s of [502, 503, 504]) statuses.add(s);
  if (conditions.has('retriable-4xx')) statuses.add(409);
  const ignored = retryOn.filter((c) => (UNSUPPORTED_RETRY_ON as readonly string[]).includes(c));
  return Object.freeze({
    maxAttempts: 1 + (numRetries > 0 ? numRetries : 1),
    outcomes,
    retriesStatus: (status: number) =>
      (any5xx && status >= 500 && status <= 599) || statuses.has(status),
    ignored: Object.freeze(ignored),
  });
}
