import { EMPTY_AFTER_RESET_GRACE_MS, ServiceWatcher } from '../../src/watch/service-watcher';
import type {
  ServiceChangeEvent,
  ServiceWatcherOptions,
  WatchErrorEvent,
} from '../../src/watch/service-watcher';
import { WatcherRegistry } from '../../src/watch/watcher-registry';
import {
  resolveServiceQuery,
  resolveWatcherRegistryOptions,
} from '../../src/watch/service-watcher-options';
import {
  AbortedError,
  ClosedError,
  ConfigError,
  ConsulResponseError,
  ConsulUnavailableError,
} from '../../src/errors';
import type { Logger } from '../../src/logger';
import { EventQueue, ScriptedHealthSource, healthEntry } from './fake-health-source';
import type { Step } from './fake-health-source';

const answer = (index: number | undefined, ...ids: string[]): Step => ({
  answer: ids.map((id) => healthEntry(id)),
  index,
});
const fail = (error: Error): Step => ({ fail: error });
const badRequest = (): Error =>
  new ConsulResponseError('GET /v1/health/service/web', 400, 'Failed to create boolexpr evaluator');
const serverError = (): Error =>
  new ConsulUnavailableError('GET /v1/health/service/web', 'answered 500 No cluster leader', {
    status: 500,
  });

const ids = (watcher: ServiceWatcher): string[] => watcher.instances().map((i) => i.serviceId);

/** A logger that keeps the objects of its warnings and drops everything else. */
function warningLogger(): { warnings: object[]; logger: Logger } {
  const warnings: object[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    error: () => {},
    warn: (obj) => warnings.push(obj),
  };
  return { warnings, logger };
}

/** Backoff without jitter (random() = 1 gives the ceiling) and no rate limit, for exact numbers. */
const fast: ServiceWatcherOptions = {
  backoff: { baseMs: 10, maxMs: 40 },
  minUpdateIntervalMs: 0,
  random: () => 1,
};

interface Harness {
  source: ScriptedHealthSource;
  watcher: ServiceWatcher;
  changes: EventQueue<ServiceChangeEvent>;
  errors: EventQueue<WatchErrorEvent>;
}

const open: ServiceWatcher[] = [];

function watch(
  steps: Step[],
  options: ServiceWatcherOptions = {},
  prepare?: (source: ScriptedHealthSource) => void,
): Harness {
  const source = new ScriptedHealthSource(steps);
  prepare?.(source);
  const watcher = new ServiceWatcher(source, 'web', { ...fast, ...options });
  open.push(watcher);
  const changes = new EventQueue<ServiceChangeEvent>();
  const errors = new EventQueue<WatchErrorEvent>();
  watcher.onChange(changes.push);
  watcher.onError(errors.push);
  watcher.start();
  return { source, watcher, changes, errors };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((watcher) => watcher.close()));
});

describe('ServiceWatcher: the blocking loop', () => {
  it('starts non-blocking, then blocks on the index of the last answer', async () => {
    const { source, watcher, changes } = watch([answer(5, 'b', 'a')], { waitMs: 30_000 });
    await watcher.ready();
    const first = await changes.next();
    expect(first.instances.map((i) => i.serviceId)).toEqual(['a', 'b']);
    expect(first.previous).toEqual([]);
    expect(first.index).toBe(5);
    expect(watcher.instances()).toBe(first.instances);
    expect(Object.isFrozen(watcher.instances())).toBe(true);

    const second = await source.waitForCalls(2);
    expect(source.calls[0]?.query).toMatchObject({ index: 0, passingOnly: true, stale: false });
    expect(second.query).toMatchObject({ index: 5, waitMs: 30_000, passingOnly: true });
    expect(second.service).toBe('web');
    expect(watcher.status()).toMatchObject({ ready: true, stale: false, index: 5, updates: 1 });
  });

  it('passes the query options through to Consul', async () => {
    const { source } = watch([], {
      passingOnly: false,
      tag: 'blue',
      datacenter: 'dc2',
      filter: 'Service.Meta.v == "2"',
      stale: true,
      cached: true,
    });
    const call = await source.waitForCalls(1);
    expect(call.query).toEqual({
      passingOnly: false,
      tag: 'blue',
      datacenter: 'dc2',
      filter: 'Service.Meta.v == "2"',
      stale: true,
      cached: true,
      index: 0,
      waitMs: 60_000,
    });
  });

  it('announces nothing when the index is unchanged', async () => {
    const { source, watcher, changes } = watch([answer(5, 'a'), answer(5, 'a', 'b')]);
    await changes.next();
    const third = await source.waitForCalls(3);
    expect(third.query.index).toBe(5);
    expect(changes.seen).toHaveLength(1);
    expect(ids(watcher)).toEqual(['a']);
  });

  it('announces nothing when the index rises but the content is the same', async () => {
    const { source, watcher, changes } = watch([answer(5, 'a'), answer(9, 'a')]);
    const first = await changes.next();
    const third = await source.waitForCalls(3);
    expect(third.query.index).toBe(9);
    expect(changes.seen).toHaveLength(1);
    expect(watcher.instances()).toBe(first.instances);
    expect(watcher.status()).toMatchObject({ index: 9, updates: 1 });
  });

  it('announces a rise with new content, with the previous list', async () => {
    const { watcher, changes } = watch([answer(5, 'a', 'b'), answer(9, 'a')]);
    const first = await changes.next();
    const second = await changes.next();
    expect(second.previous).toBe(first.instances);
    expect(second.instances.map((i) => i.serviceId)).toEqual(['a']);
    expect(second.index).toBe(9);
    expect(watcher.instances()).toBe(second.instances);
    expect(watcher.status().updates).toBe(2);
  });

  it('resets to 0 when the index goes backwards: the next query is non-blocking', async () => {
    const { source, watcher, changes, errors } = watch([
      answer(100, 'a'),
      answer(40, 'a', 'b'),
      answer(42, 'a', 'b'),
    ]);
    await changes.next();
    const afterReset = await source.waitForCalls(3);
    expect(afterReset.query.index).toBe(0);
    // The backwards answer is not trusted: only the fresh read after it is applied.
    const change = await changes.next();
    expect(change.instances.map((i) => i.serviceId)).toEqual(['a', 'b']);
    expect(change.index).toBe(42);
    const next = await source.waitForCalls(4);
    expect(next.query.index).toBe(42);
    expect(watcher.status()).toMatchObject({ indexResets: 1, index: 42, stale: false });
    expect(errors.seen).toHaveLength(0);
  });

  it('holds back an empty list right after a reset: a restarted agent lists nothing until services register again', async () => {
    const { warnings, logger } = warningLogger();
    const { changes, watcher } = watch(
      [answer(100, 'a', 'b'), answer(3), answer(4), answer(6, 'a')],
      {
        logger,
      },
    );
    await changes.next();
    // The restarted agent's empty answer (index 4) is not announced: the next change is the first
    // list with instances again, not an empty one in between.
    const change = await changes.next();
    expect(change.instances.map((i) => i.serviceId)).toEqual(['a']);
    expect(change.previous.map((i) => i.serviceId)).toEqual(['a', 'b']);
    expect(change.index).toBe(6);
    expect(ids(watcher)).toEqual(['a']);
    expect(warnings).toHaveLength(1);
  });

  it('applies the empty list once the grace after a reset has run out', async () => {
    let clock = 0;
    let release!: (step: Step) => void;
    const later = new Promise<Step>((resolve) => (release = resolve));
    const { source, watcher, changes } = watch(
      [answer(100, 'a'), answer(3), answer(4), { later }],
      { now: () => clock },
    );
    await changes.next();
    await source.waitForCalls(4);
    // Held back: the last list still routes while the agent is fresh.
    expect(ids(watcher)).toEqual(['a']);
    clock += EMPTY_AFTER_RESET_GRACE_MS;
    // The blocking query ends unchanged (index 4) after the grace: the empty list is current.
    release(answer(4));
    const change = await changes.next();
    expect(change.instances).toEqual([]);
    expect(ids(watcher)).toEqual([]);
  });

  it('applies an empty list at once when no reset came before it', async () => {
    const { watcher, changes } = watch([answer(100, 'a'), answer(101)]);
    await changes.next();
    const change = await changes.next();
    expect(change.instances).toEqual([]);
    expect(ids(watcher)).toEqual([]);
  });

  it('does not announce after a reset when the fresh read has the same content', async () => {
    const { source, watcher, changes } = watch([
      answer(100, 'a'),
      answer(40, 'a'),
      answer(41, 'a'),
    ]);
    await changes.next();
    expect((await source.waitForCalls(4)).query.index).toBe(41);
    expect(changes.seen).toHaveLength(1);
    expect(watcher.status()).toMatchObject({ indexResets: 1, index: 41 });
  });

  it('waits from index 1 when Consul sends an index of 0 or none: no error, no event for the same list', async () => {
    const { warnings, logger } = warningLogger();
    const { source, watcher, changes, errors } = watch(
      [answer(5, 'a'), answer(0, 'a'), answer(undefined, 'a'), answer(6, 'a', 'b')],
      { logger },
    );
    const first = await changes.next();
    const second = await changes.next();
    expect(second.previous).toBe(first.instances);
    expect(second.instances.map((i) => i.serviceId)).toEqual(['a', 'b']);
    expect(second.index).toBe(6);
    await source.waitForCalls(5);
    // Index 1 blocks like any index (index 0 would not): the loop cannot spin on Consul's bug.
    expect(source.calls.map((c) => c.query.index)).toEqual([0, 5, 1, 1, 6]);
    expect(changes.seen).toHaveLength(2);
    expect(errors.seen).toHaveLength(0);
    // Said once for the run of bad indexes, not once per answer.
    expect(warnings).toEqual([{ service: 'web', index: 0 }]);
    expect(watcher.status()).toMatchObject({ stale: false, consecutiveErrors: 0, index: 6 });
  });

  it('applies a new list that comes with an index below 1, then waits from 1', async () => {
    const { source, watcher, changes, errors } = watch([answer(5, 'a'), answer(0, 'a', 'b')]);
    await changes.next();
    const change = await changes.next();
    expect(change.instances.map((i) => i.serviceId)).toEqual(['a', 'b']);
    expect(change.index).toBe(1);
    expect((await source.waitForCalls(3)).query.index).toBe(1);
    expect(errors.seen).toHaveLength(0);
    expect(watcher.status()).toMatchObject({ index: 1, indexResets: 0 });
  });

  it('keeps the last list on 400 and 500 answers, marks it stale and retries with growing backoff', async () => {
    let clock = 1_000;
    const { source, watcher, errors, changes } = watch(
      [
        answer(5, 'a', 'b'),
        fail(badRequest()),
        fail(serverError()),
        fail(serverError()),
        fail(serverError()),
      ],
      { now: () => clock },
    );
    const before = (await changes.next()).instances;
    expect(watcher.status().lastSuccessAt).toBe(1_000);

    clock = 4_000;
    const events = [
      await errors.next(),
      await errors.next(),
      await errors.next(),
      await errors.next(),
    ];
    expect(events.map((e) => e.consecutiveErrors)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => e.retryInMs)).toEqual([10, 20, 40, 40]);
    expect(events[0]?.error).toBeInstanceOf(ConsulResponseError);
    expect(events[1]?.error).toBeInstanceOf(ConsulUnavailableError);

    // Each retry waited at least its backoff delay.
    const calls = source.calls;
    await source.waitForCalls(6);
    for (let i = 2; i <= 5; i++) {
      expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(events[i - 2]!.retryInMs - 2);
    }
    expect(watcher.instances()).toBe(before);
    expect(watcher.status()).toMatchObject({
      ready: true,
      stale: true,
      consecutiveErrors: 4,
      lastSuccessAt: 1_000,
      stalenessMs: 3_000,
      index: 5,
    });
    expect(watcher.status().lastError?.message).toMatch(/500/);
    clock = 4_500;
    expect(watcher.status().stalenessMs).toBe(3_500);
    expect(changes.seen).toHaveLength(1);
  });

  it('recovers after failures, resets the backoff and is no longer stale', async () => {
    const { source, watcher, errors, changes } = watch([
      answer(5, 'a'),
      fail(serverError()),
      fail(serverError()),
      answer(5, 'a'),
      fail(badRequest()),
    ]);
    await changes.next();
    expect((await errors.next()).retryInMs).toBe(10);
    expect((await errors.next()).retryInMs).toBe(20);
    const afterRecovery = await errors.next();
    expect(afterRecovery).toMatchObject({ consecutiveErrors: 1, retryInMs: 10 });
    // Failed queries are followed by non-blocking reads; the same index then changes nothing.
    expect(source.calls.map((c) => c.query.index)).toEqual([0, 5, 0, 0, 5]);
    expect(changes.seen).toHaveLength(1);
    expect(watcher.status()).toMatchObject({ stale: true, consecutiveErrors: 1 });
  });

  it('keeps retrying while Consul is down at first: ready stays pending, a signal bounds it', async () => {
    const failures = Array.from({ length: 20 }, () => fail(serverError()));
    const { watcher, errors } = watch(failures);
    const aborter = new AbortController();
    const ready = watcher.ready(aborter.signal);
    await errors.next();
    await errors.next();
    expect(watcher.status()).toMatchObject({ ready: false, stale: true, consecutiveErrors: 2 });
    aborter.abort();
    await expect(ready).rejects.toThrow(AbortedError);
    await expect(ready).rejects.toThrow(/last error: .*500/);
    expect(ids(watcher)).toEqual([]);
  });

  it('resolves ready() with an empty list and announces no change for it', async () => {
    const { watcher, changes, source } = watch([answer(3)]);
    await watcher.ready(AbortSignal.timeout(5_000));
    await source.waitForCalls(2);
    expect(watcher.status()).toMatchObject({ ready: true, updates: 0, index: 3 });
    expect(changes.seen).toHaveLength(0);
    await watcher.ready();
  });

  /**
   * A simulated clock: `delay` moves it forward at once instead of sleeping, and records each pause
   * the loop asked for; the source moves it to when each answer comes.
   */
  function simulatedTime(atAnswer: Record<number, (clock: number) => number> = {}) {
    const time = { clock: 0, pauses: [] as { at: number; ms: number }[], starts: [] as number[] };
    const options: ServiceWatcherOptions = {
      now: () => time.clock,
      delay: (ms) => {
        time.pauses.push({ at: time.clock, ms });
        time.clock += ms;
        return Promise.resolve();
      },
    };
    const attach = (source: ScriptedHealthSource): void => {
      source.beforeAnswer = (call) => {
        time.starts.push(time.clock);
        const move = atAnswer[call];
        if (move) time.clock = move(time.clock);
      };
    };
    return { time, options, attach };
  }

  it('rate limit, token bucket (burst 4): four changes back to back after a quiet period all go at once', async () => {
    // Call 6 is a blocking query that Consul answers 10 s later (a change after a quiet period);
    // calls 7 to 9 are answered 10 ms after they started (changes right behind the first).
    const { time, options, attach } = simulatedTime({
      6: () => 10_000,
      7: (t) => t + 10,
      8: (t) => t + 10,
      9: (t) => t + 10,
    });
    const steps = Array.from({ length: 9 }, (_, i) => answer(i + 5, `v${i}`));
    const { source, changes } = watch(steps, { ...options, minUpdateIntervalMs: 100 }, attach);
    for (let i = 0; i < 9; i++) await changes.next();
    await source.waitForCalls(10);
    // The bucket starts full (4 tokens): calls 1 to 4 go at once, then one token per 100 ms.
    // The 10 s of quiet refill it: the query after the change (7) and the three after the changes
    // right behind it (8 to 10) all start at once, where burst 2 held the third 80 ms.
    expect(time.starts).toEqual([0, 0, 0, 0, 100, 200, 10_000, 10_010, 10_020, 10_030]);
    expect(time.pauses).toEqual([
      { at: 0, ms: 100 },
      { at: 100, ms: 100 },
    ]);
  });

  it('rate limit: a burst is spaced, one query per interval, however fast Consul answers', async () => {
    const { time, options, attach } = simulatedTime();
    const steps = Array.from({ length: 8 }, (_, i) => answer(i + 1, `v${i}`));
    const { source, changes } = watch(steps, { ...options, minUpdateIntervalMs: 100 }, attach);
    for (let i = 0; i < 8; i++) await changes.next();
    await source.waitForCalls(9);
    // Only the first answers (the burst of 4, the first query included) let the next go at once.
    expect(time.starts).toEqual([0, 0, 0, 0, 100, 200, 300, 400, 500]);
    expect(time.pauses.every((pause) => pause.ms === 100)).toBe(true);
  });

  it('rate limit: the read after a failure, well after the last answer, is followed at once', async () => {
    const { time, options, attach } = simulatedTime();
    const { source, changes, errors } = watch(
      [answer(5, 'a'), fail(serverError()), answer(5, 'a'), answer(6, 'b')],
      { ...options, minUpdateIntervalMs: 100, backoff: { baseMs: 500, maxMs: 500 } },
      attach,
    );
    await errors.next();
    await changes.next();
    await changes.next();
    await source.waitForCalls(5);
    // Call 2 fails at 0 and backs off 500 ms (the backoff, not the bucket, paces failures); call 3
    // (non-blocking, index 0) answers at 500, by when the bucket has refilled: call 4 blocks on
    // index 5 at once and catches the change, and call 5 right behind it goes at once too.
    expect(source.calls.map((c) => c.query.index)).toEqual([0, 5, 0, 5, 6]);
    expect(time.starts).toEqual([0, 0, 500, 500, 500]);
  });

  it('rate limit 0 never pauses', async () => {
    const { time, options, attach } = simulatedTime();
    const { source, changes } = watch(
      [answer(1, 'a'), answer(2, 'b'), answer(3, 'c')],
      { ...options, minUpdateIntervalMs: 0 },
      attach,
    );
    for (let i = 0; i < 3; i++) await changes.next();
    await source.waitForCalls(4);
    expect(time.pauses).toEqual([]);
  });

  it('reports each failure to the logger, without giving up', async () => {
    const { warnings, logger } = warningLogger();
    const { errors } = watch([fail(badRequest()), fail(badRequest()), fail(badRequest())], {
      logger,
    });
    for (let i = 0; i < 3; i++) await errors.next();
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toMatchObject({
      service: 'web',
      consecutiveErrors: 3,
      code: 'EXPRESS_CONSUL_BAD_RESPONSE',
      status: 400,
    });
  });

  it('survives throwing listeners and stops calling disposed ones', async () => {
    const logged: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (_obj, msg) => logged.push(msg ?? ''),
    };
    const source = new ScriptedHealthSource([answer(1, 'a'), answer(2, 'b'), answer(3, 'c')]);
    const watcher = new ServiceWatcher(source, 'web', { ...fast, logger });
    open.push(watcher);
    watcher.onChange(() => {
      throw new Error('listener bug');
    });
    let disposedCalls = 0;
    const dispose = watcher.onChange(() => {
      disposedCalls += 1;
      dispose();
    });
    const changes = new EventQueue<ServiceChangeEvent>();
    watcher.onChange(changes.push);
    watcher.start();
    for (let i = 0; i < 3; i++) await changes.next();
    expect(disposedCalls).toBe(1);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatch(/listener/);
  });
});

describe('ServiceWatcher: lifecycle', () => {
  it('close() aborts the query in flight at once and ends the loop', async () => {
    const { source, watcher, errors } = watch([answer(5, 'a')], { waitMs: 600_000 });
    await watcher.ready();
    const blocking = await source.waitForCalls(2);
    expect(blocking.signal?.aborted).toBe(false);

    const started = performance.now();
    const closing = watcher.close();
    // Aborted synchronously, not at the next turn of the loop.
    expect(blocking.signal?.aborted).toBe(true);
    await closing;
    expect(performance.now() - started).toBeLessThan(200);
    expect(source.calls).toHaveLength(2);
    expect(errors.seen).toHaveLength(0);
    expect(ids(watcher)).toEqual(['a']);
    expect(watcher.status().closed).toBe(true);
  });

  it('close() also interrupts a backoff delay', async () => {
    const { watcher, errors, source } = watch([fail(serverError())], {
      backoff: { baseMs: 60_000, maxMs: 60_000 },
    });
    await errors.next();
    const started = performance.now();
    await watcher.close();
    expect(performance.now() - started).toBeLessThan(200);
    expect(source.calls).toHaveLength(1);
  });

  it('close() is idempotent, rejects a pending ready() and refuses reuse', async () => {
    const { watcher } = watch([]);
    const ready = watcher.ready();
    const first = watcher.close();
    expect(watcher.close()).toBe(first);
    await first;
    await expect(ready).rejects.toThrow(ClosedError);
    await expect(watcher.ready()).rejects.toThrow(ClosedError);
    expect(() => watcher.start()).toThrow(ClosedError);
    expect(() => watcher.onChange(() => {})).toThrow(ClosedError);
  });

  it('start() is idempotent and ready() starts the watch', async () => {
    const source = new ScriptedHealthSource([answer(1, 'a')]);
    const watcher = new ServiceWatcher(source, 'web', fast);
    open.push(watcher);
    await watcher.ready();
    watcher.start();
    watcher.start();
    await source.waitForCalls(2);
    expect(source.calls).toHaveLength(2);
  });

  it('supports await using', async () => {
    const source = new ScriptedHealthSource([answer(1, 'a')]);
    let signal: AbortSignal | undefined;
    {
      await using watcher = new ServiceWatcher(source, 'web', fast);
      await watcher.ready();
      signal = (await source.waitForCalls(2)).signal;
    }
    expect(signal?.aborted).toBe(true);
  });

  it('a watcher never started closes at once', async () => {
    const source = new ScriptedHealthSource();
    const watcher = new ServiceWatcher(source, 'web');
    await watcher.close();
    expect(source.calls).toHaveLength(0);
  });
});

describe('ServiceWatcher: options', () => {
  const source = new ScriptedHealthSource();
  const make = (options: ServiceWatcherOptions, service = 'web') =>
    new ServiceWatcher(source, service, options);

  it.each([
    [{ waitMs: 0 }, 'watch.waitMs'],
    [{ waitMs: -1 }, 'watch.waitMs'],
    [{ waitMs: 600_001 }, 'watch.waitMs'],
    [{ waitMs: Number.NaN }, 'watch.waitMs'],
    [{ backoff: { baseMs: 0 } }, 'watch.backoff.baseMs'],
    [{ backoff: { baseMs: 500, maxMs: 100 } }, 'watch.backoff.maxMs'],
    [{ minUpdateIntervalMs: -5 }, 'watch.minUpdateIntervalMs'],
    [{ tag: '' }, 'watch.tag'],
    [{ filter: '  ' }, 'watch.filter'],
    [{ stale: 'yes' as unknown as boolean }, 'watch.stale'],
  ])('rejects %o naming %s', (options, path) => {
    expect(() => make(options)).toThrow(ConfigError);
    expect(() => make(options)).toThrow(expect.objectContaining({ path }) as Error);
  });

  it('accepts the boundaries and rejects an empty service name', () => {
    expect(() => make({ waitMs: 600_000, minUpdateIntervalMs: 0 })).not.toThrow();
    expect(() => make({ backoff: { baseMs: 20_000 } })).not.toThrow();
    expect(() => make({}, '')).toThrow(expect.objectContaining({ path: 'service' }) as Error);
  });
});

describe('WatcherRegistry', () => {
  /** A query as the registry takes it: resolved, every default applied. */
  const query = resolveServiceQuery;

  it('shares one watcher per service and query options, reference counted', async () => {
    const source = new ScriptedHealthSource([answer(1, 'a')]);
    const registry = new WatcherRegistry(source, resolveWatcherRegistryOptions(fast));
    const one = registry.acquire('web', query({ tag: 'blue' }));
    const two = registry.acquire('web', query({ tag: 'blue', passingOnly: true }));
    const other = registry.acquire('web', query({ tag: 'green' }));
    expect(two.watcher).toBe(one.watcher);
    expect(other.watcher).not.toBe(one.watcher);
    expect(registry.size).toBe(2);
    await one.watcher.ready();

    await one.release();
    await one.release();
    expect(one.watcher.status().closed).toBe(false);
    await two.release();
    expect(one.watcher.status().closed).toBe(true);
    expect(registry.size).toBe(1);

    const again = registry.acquire('web', query({ tag: 'blue' }));
    expect(again.watcher).not.toBe(one.watcher);
    await registry.close();
    expect(again.watcher.status().closed).toBe(true);
    expect(other.watcher.status().closed).toBe(true);
    expect(() => registry.acquire('web')).toThrow(ClosedError);
    await again.release();
  });

  it('keys on query options only: behaviour options come from the registry', async () => {
    const source = new ScriptedHealthSource();
    const registry = new WatcherRegistry(
      source,
      resolveWatcherRegistryOptions({ ...fast, waitMs: 5_000 }),
    );
    const lease = registry.acquire('web', { ...query({}), waitMs: 1 });
    expect(registry.acquire('web').watcher).toBe(lease.watcher);
    expect((await source.waitForCalls(1)).query.waitMs).toBe(5_000);
    await registry.close();
    expect(() => resolveWatcherRegistryOptions({ waitMs: 0 })).toThrow(
      expect.objectContaining({ path: 'discovery.waitMs' }) as Error,
    );
  });
});
