// A route's retry fields as Consul 1.16.3 gives them to Envoy, mapped onto our outcomes, and the
// retry rule under such a policy.
import { decideRetry } from '../../src/client/retry-decision';
import type { RetryInput } from '../../src/client/retry-decision';
import { routeRetryPolicy } from '../../src/traffic/route-retry';
import type { RetryFields } from '../../src/traffic/route-retry';

const fields = (extra: Partial<RetryFields>): RetryFields => ({
  numRetries: 0,
  retryOnConnectFailure: false,
  retryOn: [],
  retryOnStatusCodes: [],
  ...extra,
});

function retried(policyFields: Partial<RetryFields>, input: Partial<RetryInput>): boolean {
  const routeRetry = routeRetryPolicy(fields(policyFields));
  const decision = decideRetry({
    outcome: 'response',
    method: 'GET',
    bodyReplayable: true,
    attempts: 1,
    maxAttempts: routeRetry?.maxAttempts ?? 3,
    remainingMs: 10_000,
    backoffMs: 0,
    tryAcquireRetry: () => true,
    routeRetry,
    ...input,
  });
  return decision.action === 'retry';
}

describe('routeRetryPolicy', () => {
  it('is undefined without a retry feature: the client keeps its own rule', () => {
    expect(routeRetryPolicy(fields({}))).toBeUndefined();
    // The client's rule: 503 and a connect failure are retried, 500 is not.
    expect(retried({}, { status: 503 })).toBe(true);
    expect(retried({}, { outcome: 'connect_failure' })).toBe(true);
    expect(retried({}, { status: 500 })).toBe(false);
  });

  it('retries 1 + NumRetries times, or twice (Envoy default of 1 retry) when NumRetries is unset', () => {
    expect(routeRetryPolicy(fields({ numRetries: 3 }))!.maxAttempts).toBe(4);
    expect(routeRetryPolicy(fields({ retryOn: ['5xx'] }))!.maxAttempts).toBe(2);
    expect(routeRetryPolicy(fields({ retryOnStatusCodes: [500] }))!.maxAttempts).toBe(2);
  });

  it.each<[string, Partial<RetryFields>, Partial<RetryInput>, boolean]>([
    ['5xx retries a 500', { retryOn: ['5xx'] }, { status: 500 }, true],
    ['5xx retries a reset', { retryOn: ['5xx'] }, { outcome: 'reset' }, true],
    ['5xx retries a per-try timeout', { retryOn: ['5xx'] }, { outcome: 'try_timeout' }, true],
    ['5xx does not retry a 429', { retryOn: ['5xx'] }, { status: 429 }, false],
    ['gateway-error retries a 503', { retryOn: ['gateway-error'] }, { status: 503 }, true],
    ['gateway-error does not retry a 500', { retryOn: ['gateway-error'] }, { status: 500 }, false],
    [
      'gateway-error retries a connect failure',
      { retryOn: ['gateway-error'] },
      { outcome: 'connect_failure' },
      true,
    ],
    ['reset retries a reset', { retryOn: ['reset'] }, { outcome: 'reset' }, true],
    ['reset does not retry a 503', { retryOn: ['reset'] }, { status: 503 }, false],
    [
      'connect-failure retries a connect failure',
      { retryOn: ['connect-failure'] },
      { outcome: 'connect_failure' },
      true,
    ],
    [
      'connect-failure does not retry a reset',
      { retryOn: ['connect-failure'] },
      { outcome: 'reset' },
      false,
    ],
    ['retriable-4xx retries a 409', { retryOn: ['retriable-4xx'] }, { status: 409 }, true],
    [
      'RetryOnConnectFailure retries a connect failure',
      { retryOnConnectFailure: true },
      { outcome: 'connect_failure' },
      true,
    ],
    [
      'a status-only policy does not retry a connect failure (RetryOnConnectFailure not set)',
      { numRetries: 2, retryOnStatusCodes: [500] },
      { outcome: 'connect_failure' },
      false,
    ],
    [
      'a status-only policy retries its status',
      { numRetries: 2, retryOnStatusCodes: [500] },
      { status: 500 },
      true,
    ],
    [
      'a status-only policy does not retry a 503 the client alone would',
      { numRetries: 2, retryOnStatusCodes: [500] },
      { status: 503 },
      false,
    ],
    [
      'a gRPC condition is ignored, not a retry of everything',
      { retryOn: ['unavailable'] },
      { status: 503 },
      false,
    ],
  ])('%s', (_name, policy, input, expected) => {
    expect(retried(policy, input)).toBe(expected);
  });

  it('keeps the safety rules: a route policy never repeats a POST without a key after a reset', () => {
    expect(retried({ retryOn: ['5xx'] }, { outcome: 'reset', method: 'POST' })).toBe(false);
    expect(retried({ retryOn: ['5xx'] }, { outcome: 'connect_failure', method: 'POST' })).toBe(
      true,
    );
  });

  it('names the conditions it ignores', () => {
    expect(
      routeRetryPolicy(fields({ retryOn: ['5xx', 'refused-stream', 'cancelled'] }))!.ignored,
    ).toEqual(['refused-stream', 'cancelled']);
  });
});
