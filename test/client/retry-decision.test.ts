import type { AttemptOutcomeKind } from '../../src/client/request-outcome';
import { decideRetry, type RetryInput } from '../../src/client/retry-decision';

/** A GET that failed its first of 3 attempts with plenty of time and budget left. */
const base: RetryInput = {
  outcome: 'reset',
  method: 'GET',
  bodyReplayable: true,
  attempts: 1,
  maxAttempts: 3,
  remainingMs: 1_000,
  backoffMs: 20,
  tryAcquireRetry: () => true,
};
const decide = (input: Partial<RetryInput>) => decideRetry({ ...base, ...input });

describe('decideRetry: outcome × method × idempotency key', () => {
  const failures: [AttemptOutcomeKind, number | undefined][] = [
    ['response', 503],
    ['response', 502],
    ['response', 504],
    ['response', 429],
    ['connect_failure', undefined],
    ['reset', undefined],
    ['try_timeout', undefined],
  ];
  const cases: [string, Partial<RetryInput>, boolean][] = [
    ['GET', { method: 'GET' }, true],
    ['HEAD', { method: 'HEAD' }, true],
    ['PUT', { method: 'PUT' }, true],
    ['DELETE', { method: 'DELETE' }, true],
    ['POST', { method: 'POST' }, false],
    ['PATCH', { method: 'PATCH' }, false],
    ['POST with an idempotency key', { method: 'POST', idempotencyKey: 'k1' }, true],
    ['POST with an empty idempotency key', { method: 'POST', idempotencyKey: '' }, false],
    ['POST marked retryable', { method: 'POST', retryableByCaller: true }, true],
  ];
  for (const [outcome, status] of failures) {
    for (const [label, input, safe] of cases) {
      // No server saw a request whose connection failed: any method may go elsewhere.
      const retried = safe || outcome === 'connect_failure';
      const what = status === undefined ? outcome : `status ${status}`;
      it(`${label}, ${what}: ${retried ? 'retry' : 'no retry'}`, () => {
        const decision = decide({ ...input, outcome, status });
        if (retried) {
          expect(decision).toMatchObject({ action: 'retry' });
        } else if (outcome === 'response') {
          // A status that may not be repeated is still an answer for the caller.
          expect(decision).toEqual({ action: 'return' });
        } else {
          expect(decision).toEqual({ action: 'fail', reason: 'not_idempotent' });
        }
      });
    }
  }

  it.each([200, 204, 301, 400, 404, 409, 500, 501])('status %i is returned as it is', (status) => {
    expect(decide({ outcome: 'response', status })).toEqual({ action: 'return' });
  });

  it('names the cause of each retry', () => {
    expect(decide({ outcome: 'response', status: 503 })).toMatchObject({ cause: 'status' });
    expect(decide({ outcome: 'connect_failure' })).toMatchObject({ cause: 'connect_failure' });
    expect(decide({ outcome: 'reset' })).toMatchObject({ cause: 'reset' });
    expect(decide({ outcome: 'try_timeout' })).toMatchObject({ cause: 'try_timeout' });
  });

  it('never retries an abort, a deadline or an unknown error', () => {
    expect(decide({ outcome: 'aborted' })).toEqual({ action: 'fail', reason: 'aborted' });
    expect(decide({ outcome: 'deadline' })).toEqual({ action: 'fail', reason: 'deadline' });
    expect(decide({ outcome: 'transport_error' })).toEqual({
      action: 'fail',
      reason: 'not_retryable',
    });
  });

  it('retryable: false forbids every retry, even of a connect failure', () => {
    expect(decide({ outcome: 'connect_failure', retryableByCaller: false })).toEqual({
      action: 'fail',
      reason: 'disabled_by_caller',
    });
    expect(decide({ outcome: 'response', status: 503, retryableByCaller: false })).toEqual({
      action: 'return',
    });
  });

  it('never sends a stream body twice', () => {
    expect(decide({ outcome: 'connect_failure', bodyReplayable: false })).toEqual({
      action: 'fail',
      reason: 'body_not_replayable',
    });
  });
});

describe('decideRetry: limits (attempts, deadline, Retry-After, budget)', () => {
  it('stops at maxAttempts', () => {
    expect(decide({ attempts: 3 })).toEqual({ action: 'fail', reason: 'max_attempts' });
    expect(decide({ attempts: 2 })).toMatchObject({ action: 'retry' });
  });

  it('waits the backoff, or the Retry-After when longer', () => {
    expect(decide({ backoffMs: 20 })).toEqual({ action: 'retry', cause: 'reset', delayMs: 20 });
    expect(decide({ outcome: 'response', status: 429, retryAfterMs: 300 })).toEqual({
      action: 'retry',
      cause: 'status',
      delayMs: 300,
    });
    expect(decide({ outcome: 'response', status: 503, retryAfterMs: 5 })).toMatchObject({
      delayMs: 20,
    });
  });

  it('fails at once when Retry-After reaches beyond the deadline', () => {
    expect(decide({ outcome: 'response', status: 503, retryAfterMs: 1_000 })).toEqual({
      action: 'fail',
      reason: 'retry_after_beyond_deadline',
    });
  });

  it('fails with the deadline when the backoff does not fit before it', () => {
    expect(decide({ remainingMs: 20 })).toEqual({ action: 'fail', reason: 'deadline' });
    expect(decide({ remainingMs: 21 })).toMatchObject({ action: 'retry' });
  });

  it('asks the budget last, so a retry that could not happen spends nothing', () => {
    expect(decide({ tryAcquireRetry: () => false })).toEqual({
      action: 'fail',
      reason: 'budget_exhausted',
    });
    expect(decide({ tryAcquireRetry: () => false, attempts: 3 })).toEqual({
      action: 'fail',
      reason: 'max_attempts',
    });
    expect(decide({ tryAcquireRetry: () => false, method: 'POST' })).toEqual({
      action: 'fail',
      reason: 'not_idempotent',
    });
  });

  it('takes from the budget exactly once for a retry and never for a refusal', () => {
    let asked = 0;
    const tryAcquireRetry = (): boolean => {
      asked += 1;
      return true;
    };
    expect(decide({ tryAcquireRetry })).toMatchObject({ action: 'retry' });
    expect(asked).toBe(1);
    for (const refused of [{ attempts: 3 }, { method: 'POST' }, { remainingMs: 1 }] as const) {
      expect(decide({ ...refused, tryAcquireRetry })).toMatchObject({ action: 'fail' });
    }
    expect(decide({ outcome: 'response', status: 200, tryAcquireRetry })).toEqual({
      action: 'return',
    });
    expect(asked).toBe(1);
  });
});
