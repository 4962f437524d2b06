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
    checkWatchIntervalMs: 0,
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
  it('a read in flight when the first check answer comes is judged by the index it brings back, not read twice', async () => {
    // Before: every service whose first read was under way when the check watch's first answer
    // came (index 0 there, its answer not applied yet) was marked due and read a second time; at
    // 200 reads per second that was 49-71 of 979 services per worker (issue #12's scale test),
    // all read again at the moment every worker became ready.
    let answer:
      ((value: Awaited<ReturnType<CheckStateSource['healthStateAny']>>) => void) | undefined;
    let asked = 0;
    const firstAnswer: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        asked += 1;
        if (asked > 1) return silentChecks.healthStateAny(query, options);
        return new Promise((resolve) => (answer = resolve));
      },
    };
    const s = scheduler(() => 0, [], undefined, firstAnswer);
    const controller = new AbortController();
    try {
      for (let i = 0; i < 30; i++)
        s.register(
          `svc-${i}`,
          '',
          () => 0,
          () => 0,
        );
      const indexes = { fresh: 0, stale: 0 };
      const fresh = s.register(
        'fresh',
        '',
        () => 0,
        () => indexes.fresh,
      );
      const stale = s.register(
        'stale',
        '',
        () => 0,
        () => indexes.stale,
      );
      const freshTurn = await fresh.nextTurn(controller.signal);
      const staleTurn = await stale.nextTurn(controller.signal);
      expect([freshTurn.blocking, staleTurn.blocking]).toEqual([false, false]);
      // Both reads are under way when the check watch first answers: each service's check at 40.
      const check = (service: string) => ({
        Node: 'n1',
        CheckID: `c-${service}`,
        Name: 'c',
        Status: 'passing' as const,
        ServiceID: `${service}-1`,
        ServiceName: service,
        ModifyIndex: 40,
      });
      answer!({
        data: [check('fresh'), check('stale')],
        meta: { index: 40, knownLeader: true, lastContactMs: 0, cache: undefined },
      });
      await waitUntil(() => asked === 2);
      // One read brings back index 40 (it saw that check), the other 39 (it was answered before).
      indexes.fresh = 40;
      indexes.stale = 39;
      freshTurn.done();
      staleTurn.done();
      const next = (ticket: typeof fresh) =>
        Promise.race([
          ticket.nextTurn(controller.signal).then(() => 'read again' as const),
          delay(300).then(() => 'quiet' as const),
        ]);
      expect(await next(stale)).toBe('read again');
      expect(await next(fresh)).toBe('quiet');
    } finally {
      controller.abort();
      await s.close();
    }
  });
  it('paces the check watch: in a churning datacenter its full answer comes at most once per checkWatchIntervalMs, the first change after a quiet time at once', async () => {
    // Consul answers the check watch on any check change in the datacenter with every check of it
    // (a few hundred KB for 1,000 services, per process): a churn of 20 changes a second cost each
    // worker 20 such answers a second, and on the agent's host they delayed the blocking answers of
    // the slotted services (issue #12: slotted change p99 116 ms against 100).
    let clock = 0;
    let index = 10;
    const asked: number[] = [];
    const churning: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        asked.push(clock);
        if (asked.length > 12) return silentChecks.healthStateAny(query, options);
        index += 1;
        const check = {
          Node: 'n1',
          CheckID: 'c',
          Name: 'c',
          Status: 'passing' as const,
          ServiceID: 'a-1',
          ServiceName: 'a',
          ModifyIndex: index,
        };
        return Promise.resolve({
          data: [check],
          meta: { index, knownLeader: true, lastContactMs: 0, cache: undefined },
        });
      },
    };
    const paused: number[] = [];
    const s = new WatchScheduler(churning, {
      connections: 3,
      lane: () => ({ connections: 3, pollConnections: 2, streamsPerConnection: 1 }),
      pollRatePerSecond: 200,
      pollRefreshMs: 30_000,
      waitMs: 60_000,
      minUpdateIntervalMs: 50,
      checkWatchIntervalMs: 500,
      backoff: { baseMs: 250, maxMs: 10_000 },
      now: () => clock,
      random: () => 0.5,
      // Simulated time: each pause moves the clock, so 12 answers take no real time.
      delay: (ms) => {
        paused.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    try {
      // No slot is left (3 connections: the check watch and 2 reads): 'a' is followed by it.
      s.register(
        'a',
        '',
        () => 0,
        () => 0,
      );
      await waitUntil(() => asked.length === 13);
      // The first two queries back to back (the start, then the first change after a quiet time),
      // then one per interval, each with at most a quarter of it as jitter so that the workers
      // of one host do not all ask at the same moment.
      expect(asked.slice(0, 2)).toEqual([0, 0]);
      const gaps = asked.slice(2).map((at, i) => at - asked[i + 1]!);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(500);
        expect(gap).toBeLessThanOrEqual(625);
      }
      expect(paused.filter((ms) => ms > 0)).toHaveLength(11);
    } finally {
      await s.close();
    }
  });
});

/** Turns of the event loop until `done` holds (the scheduler's loops run on promises). */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !done(); turn++) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error('condition not reached in 10,000 turns');
}
