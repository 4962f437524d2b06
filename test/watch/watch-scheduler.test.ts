import { ConsulUnavailableError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import { WatchScheduler } from '../../src/watch/watch-scheduler';
import type { CheckStateSource, WatchLane } from '../../src/watch/watch-scheduler';
import { delay } from '../../src/resilience/delay';

/** A check watch that never answers until aborted. */
const silentChecks: CheckStateSource = {
  healthStateAny: (_query, options = {}) =>
    new Promise((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(new Error('aborted')), {
        once: true,
      });
    }),
};

function scheduler(
  now: () => number,
  warnings: unknown[],
  lane?: () => WatchLane,
  checks: CheckStateSource = silentChecks,
): WatchScheduler {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    error: () => {},
    warn: (_obj, message) => warnings.push(message),
  };
  return new WatchScheduler(checks, {
    connections: 28,
    ...(lane && { lane }),
    pollRatePerSecond: 200,
    pollRefreshMs: 30_000,
    waitMs: 60_000,
    minUpdateIntervalMs: 100,
    backoff: { baseMs: 250, maxMs: 10_000 },
    now,
    random: () => 0.5,
    delay,
    logger,
  });
}

describe('WatchScheduler', () => {
  it('slots within the budget, and a 429 halves it at once with exactly one log line', async () => {
    let clock = 0;
    const warnings: unknown[] = [];
    const s = scheduler(() => clock, warnings);
    try {
      for (let i = 0; i < 40; i++)
        s.register(
          `svc-${i}`,
          '',
          () => 0,
          () => 0,
        );
      // 28 watch connections: 1 check watch, 2 reads, 25 slots.
      expect(s.status()).toMatchObject({ connections: 28, slotted: 25, polled: 15 });
      const refused = new ConsulUnavailableError('GET /v1/health/service/x', 'answered 429', {
        status: 429,
      });
      s.noteFailure(refused);
      expect(s.status()).toMatchObject({ connections: 14, slotted: 11, polled: 29, throttled: 1 });
      // A burst of refusals shrinks it once, and is logged once.
      clock += 500;
      s.noteFailure(refused);
      s.noteFailure(refused);
      expect(s.status()).toMatchObject({ connections: 14, throttled: 3 });
      clock += 5_000;
      s.noteFailure(refused);
      expect(s.status().connections).toBe(7);
      expect(warnings.filter((w) => /http_max_conns_per_client/.test(String(w)))).toHaveLength(1);
      // Other failures do not touch the budget.
      s.noteFailure(new ConsulUnavailableError('GET /x', 'answered 500', { status: 500 }));
      expect(s.status().connections).toBe(7);
    } finally {
      await s.close();
    }
  });

  it('over h2 (4 x 250 streams, reads on them too) 1,000 services all block and no check watch runs; the 1,001st keeps streams for it and the reads', async () => {
    const h2: WatchLane = { connections: 4, pollConnections: 0, streamsPerConnection: 250 };
    let checkWatches = 0;
    const counting: CheckStateSource = {
      healthStateAny: (query, options) => {
        checkWatches += 1;
        return silentChecks.healthStateAny(query, options);
      },
    };
    const s = scheduler(
      () => 0,
      [],
      () => h2,
      counting,
    );
    try {
      for (let i = 0; i < 1_000; i++)
        s.register(
          `svc-${i}`,
          '',
          () => 0,
          () => 0,
        );
      expect(s.status()).toMatchObject({ slotted: 1_000, polled: 0 });
      expect(checkWatches).toBe(0);
      s.register(
        'svc-1000',
        '',
        () => 0,
        () => 0,
      );
      expect(checkWatches).toBe(1);
      // At once, not at the next re-plan: every stream is taken, so the new service's first read
      // would wait on the client. One stream for the check watch, 16 for reads (POLL_CONCURRENCY).
      expect(s.status()).toMatchObject({ slotted: 1_000 - 17, polled: 18 });
    } finally {
      await s.close();
    }
  });
  it("a read that failed leaves its service due: the next turn comes after the watcher's backoff, not at the refresh period", async () => {
    // Before: the failed read had already cleared the service's "due" mark, so with a quiet check
    // watch its next read waited for pollRefreshMs (30 s): services refused by a 429 while the
    // agent was full became ready half a minute after the agent had room again.
    const s = scheduler(() => 0, []);
    const controller = new AbortController();
    try {
      for (let i = 0; i < 30; i++)
        s.register(
          `svc-${i}`,
          '',
          () => 0,
          () => 0,
        );
      const polled = s.register(
        'svc-polled',
        '',
        () => 0,
        () => 0,
      );
      const first = await polled.nextTurn(controller.signal);
      expect(first.blocking).toBe(false);
      first.done('failed');
      const second = await Promise.race([
        polled.nextTurn(controller.signal),
        delay(2_000).then(() => 'no turn within 2 s' as const),
      ]);
      expect(second).not.toBe('no turn within 2 s');
      (second as { done: (result?: 'read' | 'failed') => void }).done();
      // A read that succeeded leaves the service alone until its checks change or it is due.
      const third = await Promise.race([
        polled.nextTurn(controller.signal),
        delay(300).then(() => 'quiet' as const),
      ]);
      expect(third).toBe('quiet');
    } finally {
      controller.abort();
      await s.close();
    }
  });
});
