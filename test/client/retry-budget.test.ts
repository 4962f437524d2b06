import {
  RetryBudget,
  resolveRetryBudgetOptions,
  type RetryBudgetOptions,
} from '../../src/client/retry-budget';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

/** A hand-driven clock: tests move time instead of sleeping. */
function clock(start = 0): {
  now: () => number;
  advance: (ms: number) => void;
  set: (ms: number) => void;
} {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    set: (ms) => {
      time = ms;
    },
  };
}

function withdrawAll(budget: RetryBudget, attempts: number): number {
  let granted = 0;
  for (let i = 0; i < attempts; i += 1) if (budget.tryAcquire()) granted += 1;
  return granted;
}

describe('RetryBudget', () => {
  it('grants the floor (minRetriesPerSecond * window seconds) with no traffic at all', () => {
    const time = clock();
    const budget = new RetryBudget(resolveRetryBudgetOptions({}), time.now);
    expect(budget.available).toBe(100);
    expect(withdrawAll(budget, 150)).toBe(100);
    expect(budget.retries).toBe(100);
    expect(budget.exhausted).toBe(50);
    expect(budget.available).toBe(0);
  });

  it('grants nothing without traffic when the floor is 0', () => {
    const budget = new RetryBudget(
      resolveRetryBudgetOptions({ minRetriesPerSecond: 0 }),
      clock().now,
    );
    expect(budget.tryAcquire()).toBe(false);
    expect(budget.exhausted).toBe(1);
  });

  it('caps retries at ratio (default 20%) of the requests plus the floor under load', () => {
    const time = clock();
    const budget = new RetryBudget(resolveRetryBudgetOptions({}), time.now);
    for (let i = 0; i < 1000; i += 1) {
      budget.recordRequest();
      time.advance(5); // 1000 requests spread over 5 s, all inside the 10 s window
    }
    expect(budget.requests).toBe(1000);
    expect(budget.available).toBe(300);
    expect(withdrawAll(budget, 1000)).toBe(300);
    expect(budget.exhausted).toBe(700);
  });

  it('earns retries in proportion to requests, and retries do not earn any', () => {
    const budget = new RetryBudget(
      resolveRetryBudgetOptions({ ratio: 0.1, minRetriesPerSecond: 0 }),
      clock().now,
    );
    for (let i = 0; i < 3; i += 1) budget.recordRequest();
    expect(budget.tryAcquire()).toBe(false); // 0.3 of a retry is not a retry
    for (let i = 0; i < 27; i += 1) budget.recordRequest();
    expect(withdrawAll(budget, 10)).toBe(3);
    expect(budget.requests).toBe(30);
    expect(budget.retries).toBe(3);
  });

  it('is not cheated of a retry by floating-point rounding', () => {
    const budget = new RetryBudget(
      resolveRetryBudgetOptions({ ratio: 0.29, minRetriesPerSecond: 0 }),
      clock().now,
    );
    for (let i = 0; i < 100; i += 1) budget.recordRequest();
    // 0.29 * 100 is 28.999999999999996 in floating point: still 29 retries, not 28.
    expect(budget.available).toBe(29);
    expect(withdrawAll(budget, 50)).toBe(29);
  });

  it('forgets requests and retries once they leave the sliding window', () => {
    const time = clock(1_000_000);
    const budget = new RetryBudget(resolveRetryBudgetOptions({ minRetriesPerSecond: 0 }), time.now);
    for (let i = 0; i < 500; i += 1) budget.recordRequest();
    expect(withdrawAll(budget, 200)).toBe(100);
    time.advance(5000);
    for (let i = 0; i < 500; i += 1) budget.recordRequest();
    expect(budget.requests).toBe(1000);
    expect(withdrawAll(budget, 200)).toBe(100);

    time.advance(4999); // 9.999 s after the first batch: still inside the window
    expect(budget.requests).toBe(1000);
    expect(budget.retries).toBe(200);
    time.advance(1); // 10 s after the first batch: it has expired, the second has not
    expect(budget.requests).toBe(500);
    expect(budget.retries).toBe(100);
    expect(budget.available).toBe(0);
    time.advance(5000);
    expect(budget.requests).toBe(0);
    expect(budget.retries).toBe(0);
    expect(budget.exhausted).toBe(200);
  });

  it('expires counts in steps of a tenth of the window, never later than windowMs', () => {
    const time = clock(0);
    const budget = new RetryBudget(
      resolveRetryBudgetOptions({ windowMs: 1000, minRetriesPerSecond: 0 }),
      time.now,
    );
    time.set(150); // in the bucket [100, 200)
    budget.recordRequest();
    time.set(1099);
    expect(budget.requests).toBe(1); // 949 ms old
    time.set(1100);
    expect(budget.requests).toBe(0); // the bucket left: 950 ms old, within (900, 1000]
  });

  it('clears everything after an idle period longer than the window', () => {
    const time = clock();
    const budget = new RetryBudget(resolveRetryBudgetOptions({}), time.now);
    for (let i = 0; i < 50; i += 1) budget.recordRequest();
    withdrawAll(budget, 20);
    time.advance(10 * 60_000);
    expect(budget.requests).toBe(0);
    expect(budget.retries).toBe(0);
    expect(budget.available).toBe(100);
  });

  it('tolerates a clock that steps back without reviving or losing counts', () => {
    const time = clock(50_000);
    const budget = new RetryBudget(resolveRetryBudgetOptions({ minRetriesPerSecond: 0 }), time.now);
    for (let i = 0; i < 10; i += 1) budget.recordRequest();
    time.set(47_500); // 2.5 s back: counted in the newest bucket
    budget.recordRequest();
    expect(budget.requests).toBe(11);
    expect(withdrawAll(budget, 5)).toBe(2);
    time.set(50_500); // forward again: nothing may expire early
    expect(budget.requests).toBe(11);
    time.set(59_999);
    expect(budget.requests).toBe(11);
    time.set(60_000);
    expect(budget.requests).toBe(0);
  });

  it('works with a negative clock origin', () => {
    const time = clock(-25_000);
    const budget = new RetryBudget(resolveRetryBudgetOptions({ minRetriesPerSecond: 0 }), time.now);
    for (let i = 0; i < 10; i += 1) budget.recordRequest();
    time.advance(9000);
    expect(budget.requests).toBe(10);
    time.advance(1000);
    expect(budget.requests).toBe(0);
  });

  it('defaults to the monotonic clock: a wall-clock jump does not expire the window', () => {
    const realNow = Date.now;
    const wallClock = jest.spyOn(Date, 'now');
    try {
      const budget = new RetryBudget(resolveRetryBudgetOptions({ minRetriesPerSecond: 0 }));
      for (let i = 0; i < 10; i += 1) budget.recordRequest();
      // NTP or an operator moves the wall clock 3 hours ahead: a Date.now window would be empty.
      wallClock.mockImplementation(() => realNow() + 3 * 3_600_000);
      expect(budget.requests).toBe(10);
      expect(budget.available).toBe(2);
    } finally {
      wallClock.mockRestore();
    }
  });

  describe('options', () => {
    it('applies defaults', () => {
      expect(resolveRetryBudgetOptions()).toEqual({
        ratio: 0.2,
        windowMs: 10_000,
        minRetriesPerSecond: 10,
      });
    });

    it.each<[RetryBudgetOptions, string]>([
      [{ ratio: -0.1 }, 'retry.budget.ratio'],
      [{ ratio: 1.5 }, 'retry.budget.ratio'],
      [{ ratio: Number.NaN }, 'retry.budget.ratio'],
      [{ windowMs: 999 }, 'retry.budget.windowMs'],
      [{ windowMs: 1500.5 }, 'retry.budget.windowMs'],
      [{ windowMs: 3_600_001 }, 'retry.budget.windowMs'],
      [{ minRetriesPerSecond: -1 }, 'retry.budget.minRetriesPerSecond'],
      [{ minRetriesPerSecond: Number.POSITIVE_INFINITY }, 'retry.budget.minRetriesPerSecond'],
    ])('rejects %p with a ConfigError on %s', (options, path) => {
      const attempt = (): unknown => resolveRetryBudgetOptions(options);
      const error = thrownBy(attempt);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ path, code: 'EXPRESS_CONSUL_INVALID_OPTION' });
    });

    it('names fields under the given path', () => {
      expect(
        thrownBy(() => resolveRetryBudgetOptions({ ratio: 2 }, 'clients.billing.retryBudget')),
      ).toMatchObject({ path: 'clients.billing.retryBudget.ratio' });
    });

    it('accepts the edges of each range', () => {
      expect(() =>
        resolveRetryBudgetOptions({ ratio: 0, windowMs: 1000, minRetriesPerSecond: 0 }),
      ).not.toThrow();
      expect(() => resolveRetryBudgetOptions({ ratio: 1, windowMs: 3_600_000 })).not.toThrow();
    });
  });
});
