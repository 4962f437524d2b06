import type { Logger } from '../../src/logger';
import { WatchScheduler } from '../../src/watch/watch-scheduler';
import type { CheckStateSource, WatchLane } from '../../src/watch/watch-scheduler';
import { delay } from '../../src/resilience/delay';
import type { HealthCheck } from '../../src/consul/consul-types';
import { TokenBucket, UPDATE_BURST } from '../../src/watch/token-bucket';
import { waitFor } from '../../harness/wait-for';

// The watch scheduler against hostile load (issue #12): many services, churn, odd check answers.

/** A check watch that never answers until aborted. */
const silentChecks: CheckStateSource = {
  healthStateAny: (_query, options = {}) =>
    new Promise((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(new Error('aborted')), {
        once: true,
      });
    }),
};

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The h2 plan's watch lane: 4 connections of 250 streams, the reads on them too. */
const h2Lane = (): WatchLane => ({ connections: 4, pollConnections: 0, streamsPerConnection: 250 });

function scheduler(
  checks: CheckStateSource = silentChecks,
  lane: () => WatchLane = h2Lane,
  pollRatePerSecond = 200,
  now: () => number = () => performance.now(),
): WatchScheduler {
  return new WatchScheduler(checks, {
    connections: 28,
    lane,
    pollRatePerSecond,
    pollRefreshMs: 30_000,
    checkWatchIntervalMs: 0,
    waitMs: 60_000,
    minUpdateIntervalMs: 50,
    backoff: { baseMs: 250, maxMs: 10_000 },
    now,
    random: () => 0.5,
    delay,
    logger: quiet,
  });
}

describe('WatchScheduler under hostile load', () => {
  it('20,000 services registered in a burst: linear, not quadratic (no event-loop stall)', async () => {
    const watches = scheduler();
    try {
      const startedAt = performance.now();
      for (let i = 0; i < 20_000; i++)
        watches.register(
          `svc-${i}`,
          '',
          () => 0,
          () => 0,
        );
      const tookMs = performance.now() - startedAt;
      // 4 x 250 streams less the check watch's and the reads' (16): 983 slotted.
      expect(watches.status()).toMatchObject({ slotted: 983, polled: 19_017 });
      // Counting the slotted services on every registration made this 3.3 s (20,000^2 / 2 steps).
      expect(tookMs).toBeLessThan(300);
    } finally {
      await watches.close();
    }
  });

  it('idle release racing slot moves (429 shrink, re-plan): no slot leaks, the freed slots go to new services', async () => {
    const watches = scheduler();
    try {
      const tickets = Array.from({ length: 2_000 }, (_, i) =>
        watches.register(
          `svc-${i}`,
          '',
          () => i,
          () => 0,
        ),
      );
      // Released while slots move: every third one, a 429 halving the budget in between.
      for (let i = 0; i < tickets.length; i += 3) tickets[i]!.release();
      watches.noteFailure(Object.assign(new Error('429'), { status: 429 }));
      watches.replan();
      for (let i = 1; i < tickets.length; i += 3) tickets[i]!.release();
      watches.replan();
      for (const ticket of tickets) ticket.release();
      expect(watches.status()).toMatchObject({ slotted: 0, polled: 0 });
      // 2 of 4 connections left by the 429: 500 streams less 17 for the check watch and reads.
      const fresh = Array.from({ length: 600 }, (_, i) =>
        watches.register(
          `new-${i}`,
          '',
          () => 0,
          () => 0,
        ),
      );
      expect(watches.status().slotted).toBe(483);
      for (const ticket of fresh) ticket.release();
    } finally {
      await watches.close();
    }
  });

  it('a node check flapping on every answer, an agent ignoring the blocking wait: check reads and service reads stay at their rates', async () => {
    let modifyIndex = 10;
    // Answers at once (no blocking), the node's serfHealth flipping each time, duplicated,
    // with a service named in two cases and a check without ModifyIndex.
    const flapping: CheckStateSource = {
      healthStateAny: () => {
        modifyIndex += 1;
        const serf: HealthCheck = {
          Node: 'n1',
          CheckID: 'serfHealth',
          Name: 'Serf',
          Status: modifyIndex % 2 === 0 ? 'passing' : 'critical',
          ServiceID: '',
          ServiceName: '',
          ModifyIndex: modifyIndex,
        };
        const pay = { Node: 'n1', CheckID: 'c', Name: 'c', Status: 'passing' as const };
        const data: HealthCheck[] = [
          serf,
          serf,
          { ...pay, ServiceID: 'p1', ServiceName: 'Pay', ModifyIndex: 3 },
          { ...pay, ServiceID: 'p2', ServiceName: 'pay' },
        ];
        const meta = { index: modifyIndex, knownLeader: true, lastContactMs: 0, cache: undefined };
        return Promise.resolve({ data, meta });
      },
    };
    // No slot for anyone: 3 connections, 2 of them for reads, the third for the check watch.
    const h1Lane = (): WatchLane => ({
      connections: 3,
      pollConnections: 2,
      streamsPerConnection: 1,
    });
    const readsPerSecond = 50;
    const watches = scheduler(flapping, h1Lane, readsPerSecond);
    const stop = new AbortController();
    const readers: Promise<void>[] = [];
    try {
      const startedAt = performance.now();
      for (let i = 0; i < 300; i++) {
        const ticket = watches.register(
          i === 0 ? 'PAY' : `svc-${i}`,
          '',
          () => 0,
          () => 20,
        );
        readers.push(
          (async () => {
            while (!stop.signal.aborted) {
              const turn = await ticket.nextTurn(stop.signal).catch(() => undefined);
              if (!turn) return;
              await new Promise((resolve) => setImmediate(resolve));
              turn.done();
            }
          })(),
        );
      }
      expect(watches.status().slotted).toBe(0);
      await waitFor('40 check-watch answers', () =>
        watches.status().checkWatchAnswers >= 40 ? true : undefined,
      );
      const elapsedS = (performance.now() - startedAt) / 1_000;
      const { checkWatchAnswers, polledReads } = watches.status();
      // minUpdateIntervalMs 50 with a burst of UPDATE_BURST; reads at 50/s with a burst of 50.
      expect(checkWatchAnswers).toBeLessThanOrEqual(UPDATE_BURST + Math.ceil(elapsedS * 20) + 1);
      expect(polledReads).toBeLessThanOrEqual(
        readsPerSecond + Math.ceil(elapsedS * readsPerSecond) + 1,
      );
      // ... and the flapping is followed: reads keep going at about that rate.
      expect(polledReads).toBeGreaterThan(readsPerSecond);
    } finally {
      stop.abort();
      await watches.close();
      await Promise.all(readers);
    }
  });

  it('a check-watch answer of 600,000 checks is summarized in slices: the event loop keeps turning', async () => {
    const checks: HealthCheck[] = Array.from({ length: 600_000 }, (_, i) => ({
      Node: `node-${i % 1_000}`,
      CheckID: `service:svc-${i}`,
      Name: 'c',
      Status: 'passing',
      ServiceID: `svc-${i}`,
      ServiceName: `svc-${i % 5_000}`,
      ModifyIndex: 10 + i,
    }));
    let answers = 0;
    const huge: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        answers += 1;
        // Two answers, then the wait of a quiet cluster.
        if (answers > 2) return silentChecks.healthStateAny(query, options);
        const meta = { index: 10 + answers, knownLeader: true, lastContactMs: 0, cache: undefined };
        return Promise.resolve({ data: checks, meta });
      },
    };
    const h1Lane = (): WatchLane => ({
      connections: 3,
      pollConnections: 2,
      streamsPerConnection: 1,
    });
    // The longest time between two turns of the event loop (a timer's), in ms.
    let longestGapMs = 0;
    let last = performance.now();
    const beat = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 2);
    const watches = scheduler(huge, h1Lane);
    try {
      // A service without a slot starts the check watch.
      watches.register(
        'svc-1',
        '',
        () => 0,
        () => 0,
      );
      const beats = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
      await waitFor('both answers summarized', async () => {
        await beats();
        return watches.status().checkWatchAnswers >= 2 && answers > 2 ? true : undefined;
      });
      await beats();
      // Slices of 8 ms (APPLY_SLICE_MS) and a turn between: 25-65 ms on a loaded 2-core host
      // (scheduling and collector pauses included); summarized at once, 260-510 ms.
      expect(longestGapMs).toBeLessThan(100);
    } finally {
      clearInterval(beat);
      await watches.close();
    }
  });

  it('the wall clock stepping back an hour (NTP, a resumed VM) does not stop the reads for that hour', async () => {
    // Date.now is the watches' default clock; it can go backwards.
    let offsetMs = 1_000_000_000;
    const wallClock = (): number => performance.now() + offsetMs;
    const h1Lane = (): WatchLane => ({
      connections: 3,
      pollConnections: 2,
      streamsPerConnection: 1,
    });
    const watches = scheduler(silentChecks, h1Lane, 10, wallClock);
    const stop = new AbortController();
    let reads = 0;
    const tickets = Array.from({ length: 30 }, (_, i) =>
      watches.register(
        `svc-${i}`,
        '',
        () => 0,
        () => 0,
      ),
    );
    try {
      expect(watches.status().slotted).toBe(0);
      // Each service's first read: 10 at once (the burst), then 10 per second.
      const readers = tickets.map(async (ticket) => {
        const turn = await ticket.nextTurn(stop.signal).catch(() => undefined);
        if (!turn) return;
        reads += 1;
        turn.done();
      });
      await waitFor('the burst of reads', () => (reads >= 10 ? true : undefined));
      offsetMs -= 3_600_000;
      // 20 more at 10/s: 2 s; with the bucket waiting for the clock to come back, an hour.
      await waitFor('every service read once', () => (reads === 30 ? true : undefined), {
        timeoutMs: 8_000,
      });
      await Promise.all(readers);
    } finally {
      stop.abort();
      for (const ticket of tickets) ticket.release();
      await watches.close();
    }
  });

  it('a token bucket whose clock steps back keeps its rate from there', () => {
    const bucket = new TokenBucket(2, 100);
    expect([bucket.take(10_000), bucket.take(10_000)]).toEqual([0, 0]);
    // Back by an hour: no time passed, and time counts from the new reading.
    expect(bucket.take(10_000 - 3_600_000)).toBe(100);
    expect(bucket.take(10_000 - 3_600_000 + 100)).toBe(100);
    expect(bucket.take(10_000 - 3_600_000 + 1_000)).toBe(0);
  });

  it('the wall clock stepping back an hour while the check watch blocks does not pause it for that hour', async () => {
    // The pause after an answer is checkWatchIntervalMs from when its query was sent: measured on
    // a clock that stepped back meanwhile (Date.now after an NTP step), it was the step as well.
    let clock = 1_000_000_000;
    let index = 10;
    let asked = 0;
    const paused: number[] = [];
    const stepping: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        asked += 1;
        if (asked > 3) return silentChecks.healthStateAny(query, options);
        // The second query (the first blocking one) is answered after the clock went back an hour.
        if (asked === 2) clock -= 3_600_000;
        index += 1;
        const check: HealthCheck = {
          Node: 'n1',
          CheckID: 'c',
          Name: 'c',
          Status: 'passing',
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
    const watches = new WatchScheduler(stepping, {
      connections: 3,
      lane: () => ({ connections: 3, pollConnections: 2, streamsPerConnection: 1 }),
      pollRatePerSecond: 200,
      pollRefreshMs: 30_000,
      checkWatchIntervalMs: 500,
      waitMs: 60_000,
      minUpdateIntervalMs: 50,
      backoff: { baseMs: 250, maxMs: 10_000 },
      now: () => clock,
      random: () => 0.5,
      delay: (ms) => {
        paused.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      logger: quiet,
    });
    try {
      watches.register(
        'a',
        '',
        () => 0,
        () => 0,
      );
      await waitFor('the third query', () => (asked >= 4 ? true : undefined));
      // At most an interval and its jitter (500 + 25%), not an hour and a quarter.
      expect(Math.max(...paused)).toBeLessThanOrEqual(625);
    } finally {
      await watches.close();
    }
  });

  it('an X-Consul-Index beyond 2^53 on the check watch is not sent back (Consul refuses it): it waits from 1, as a service watch does', async () => {
    // Number('18446744073709551615') is 18446744073709552000: sent back, it is no uint64 and
    // Consul answers 400, so the check watch failed forever and, each time, read every service.
    const asked: unknown[] = [];
    const huge: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        asked.push(query?.index);
        if (asked.length > 3) return silentChecks.healthStateAny(query, options);
        const check: HealthCheck = {
          Node: 'n1',
          CheckID: 'c',
          Name: 'c',
          Status: 'passing',
          ServiceID: 'a-1',
          ServiceName: 'a',
          ModifyIndex: 5,
        };
        return Promise.resolve({
          data: [check],
          meta: { index: 2 ** 64, knownLeader: true, lastContactMs: 0, cache: undefined },
        });
      },
    };
    const h1Lane = (): WatchLane => ({
      connections: 3,
      pollConnections: 2,
      streamsPerConnection: 1,
    });
    const watches = scheduler(huge, h1Lane);
    try {
      watches.register(
        'a',
        '',
        () => 0,
        () => 0,
      );
      await waitFor('four queries', () => (asked.length >= 4 ? true : undefined));
      expect(asked.slice(0, 4)).toEqual([0, 1, 1, 1]);
    } finally {
      await watches.close();
    }
  });

  it('check watches of datacenters nobody follows any more are stopped (a chain naming 50 datacenters)', async () => {
    // Blocking check watches open on the agent now, by datacenter ('' the agent's own).
    const open = new Map<string, number>();
    const counting: CheckStateSource = {
      healthStateAny: (query, options = {}) => {
        const dc = query?.datacenter ?? '';
        open.set(dc, (open.get(dc) ?? 0) + 1);
        return new Promise((_resolve, reject) => {
          options.signal?.addEventListener(
            'abort',
            () => {
              open.set(dc, open.get(dc)! - 1);
              reject(new Error('aborted'));
            },
            { once: true },
          );
        });
      },
    };
    const openWatches = (): number => [...open.values()].reduce((a, b) => a + b, 0);
    // No slot for anyone: every service is followed by its datacenter's check watch.
    const h1Lane = (): WatchLane => ({
      connections: 3,
      pollConnections: 2,
      streamsPerConnection: 1,
    });
    const watches = scheduler(counting, h1Lane);
    try {
      const home = watches.register(
        'web',
        '',
        () => 0,
        () => 0,
      );
      const far = Array.from({ length: 50 }, (_, i) =>
        watches.register(
          'web',
          `dc-${i}`,
          () => 0,
          () => 0,
        ),
      );
      await waitFor('51 check watches', () => (openWatches() === 51 ? true : undefined));
      // Failover over (or the hostile chain gone): their watchers are released.
      for (const ticket of far) ticket.release();
      await waitFor('only the home check watch left', () =>
        openWatches() === 1 && open.get('') === 1 ? true : undefined,
      );
      // A datacenter followed again gets its check watch back.
      const back = watches.register(
        'web',
        'dc-7',
        () => 0,
        () => 0,
      );
      await waitFor('dc-7 followed again', () => (open.get('dc-7') === 1 ? true : undefined));
      back.release();
      home.release();
    } finally {
      await watches.close();
    }
  });
});
