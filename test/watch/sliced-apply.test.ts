import {
  runAtOnce,
  runSliced,
  TimeSlicer,
  SLICED_APPLY_MIN_ENTRIES,
} from '../../src/consul/time-slicer';
import { contentEqual } from '../../src/watch/blocking-index';
import { ServiceWatcher } from '../../src/watch/service-watcher';
import type { ServiceChangeEvent } from '../../src/watch/service-watcher';
import { shareUnchangedInSteps } from '../../src/watch/share-unchanged';
import { sortInSteps } from '../../src/watch/sliced-sort';
import { parseAnswerInSteps, parseServiceInstances } from '../../src/watch/to-service-instance';
import { ClosedError } from '../../src/errors';
import { mulberry32 as seededRandom } from '../support/seeded-random';
import { EventQueue, ScriptedHealthSource, healthEntry } from './fake-health-source';

/** A slicer on a clock that moves 1 ms per read: every `due()` after a few reads is true. */
function tickingSlicer(signal?: AbortSignal): TimeSlicer {
  let now = 0;
  return new TimeSlicer({ signal, sliceMs: 4, now: () => (now += 1) });
}

const entries = (count: number, port = 8080): ReturnType<typeof healthEntry>[] =>
  Array.from({ length: count }, (_, i) =>
    healthEntry(`web-${String(i).padStart(6, '0')}`, { port }),
  );

describe('sortInSteps', () => {
  it('sorts like Array.prototype.sort, stably, whatever the length', () => {
    const random = seededRandom(7);
    for (const length of [0, 1, 2, 511, 512, 513, 1500, 5000]) {
      const items = Array.from({ length }, (_, i) => ({ key: Math.floor(random() * 50), i }));
      const expected = [...items].sort((a, b) => a.key - b.key);
      runAtOnce(sortInSteps(items, (a, b) => a.key - b.key));
      expect(items).toEqual(expected);
    }
  });

  it('yields between pieces of work on a long list, and not at all on a sorted short one', () => {
    const long = Array.from({ length: 5000 }, (_, i) => 5000 - i);
    expect([...sortInSteps(long, (a, b) => a - b)].length).toBeGreaterThan(10);
    expect([...sortInSteps([1, 2, 3], (a, b) => a - b)]).toHaveLength(0);
  });
});

describe('shareUnchangedInSteps', () => {
  it('gives unchanged instances the previous object and says whether anything changed', () => {
    const previous = parseServiceInstances(entries(100)).instances;
    const next = [...parseServiceInstances(entries(100)).instances];
    next[50] = parseServiceInstances([
      healthEntry(next[50]!.serviceId, { port: 9090 }),
    ]).instances[0]!;
    const changed = runAtOnce(shareUnchangedInSteps(next, previous));
    expect(changed).toBe(true);
    expect(next.filter((instance, i) => instance === previous[i])).toHaveLength(99);
    expect(next[50]?.port).toBe(9090);

    const same = [...parseServiceInstances(entries(100)).instances];
    expect(runAtOnce(shareUnchangedInSteps(same, previous))).toBe(false);
    expect(same.every((instance, i) => instance === previous[i])).toBe(true);
  });

  it('agrees with contentEqual on removals, additions and replacements', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 200; round++) {
      const pick = (): ReturnType<typeof healthEntry>[] =>
        entries(20)
          .filter(() => random() < 0.8)
          .map((entry) => (random() < 0.1 ? healthEntry(entry.Service.ID, { port: 9000 }) : entry));
      const previous = parseServiceInstances(pick()).instances;
      const next = [...parseServiceInstances(pick()).instances];
      const equal = contentEqual(previous, next);
      expect(runAtOnce(shareUnchangedInSteps(next, previous))).toBe(!equal);
    }
  });
});

describe('parseAnswerInSteps in slices', () => {
  it('gives the same list and rejections as parseServiceInstances, yielding in between', async () => {
    const answer = [...entries(3000), healthEntry('bad', { port: 0 }), healthEntry('web-000001')];
    const slicer = tickingSlicer();
    const sliced = await runSliced(parseAnswerInSteps(answer, []), slicer);
    const atOnce = parseServiceInstances(answer);
    expect(sliced.instances).toEqual(atOnce.instances);
    expect(sliced.rejected).toEqual(atOnce.rejected);
    expect(Object.isFrozen(sliced.instances)).toBe(true);
    expect(slicer.yields).toBeGreaterThan(10);
  });

  it('stops with the signal reason once the signal fired', async () => {
    const abort = new AbortController();
    const reason = new ClosedError('test');
    const slicer = new TimeSlicer({
      signal: abort.signal,
      sliceMs: 0,
      yieldNow: () => {
        abort.abort(reason);
        return Promise.resolve();
      },
    });
    await expect(runSliced(parseAnswerInSteps(entries(1000), []), slicer)).rejects.toBe(reason);
  });
});

describe('ServiceWatcher with a large answer', () => {
  const open: ServiceWatcher[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((watcher) => watcher.close()));
  });

  function start(source: ScriptedHealthSource): {
    watcher: ServiceWatcher;
    changes: EventQueue<ServiceChangeEvent>;
  } {
    const watcher = new ServiceWatcher(source, 'web', { minUpdateIntervalMs: 0 });
    open.push(watcher);
    const changes = new EventQueue<ServiceChangeEvent>();
    watcher.onChange((event) => changes.push(event));
    watcher.start();
    return { watcher, changes };
  }

  it('publishes a small answer in the tick it arrives (no turn of the event loop)', async () => {
    let answered!: (step: { answer: ReturnType<typeof healthEntry>[]; index: number }) => void;
    const source = new ScriptedHealthSource([
      { later: new Promise((resolve) => (answered = resolve)) },
    ]);
    const { watcher } = start(source);
    await source.waitForCalls(1);
    let seenInImmediate = -1;
    answered({ answer: entries(SLICED_APPLY_MIN_ENTRIES - 1), index: 5 });
    // Microtasks (the answer's promise chain) run before this immediate: the list is there.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        seenInImmediate = watcher.instances().length;
        resolve();
      }),
    );
    expect(seenInImmediate).toBe(SLICED_APPLY_MIN_ENTRIES - 1);
  });

  it('applies a large answer in slices and never publishes part of it', async () => {
    const big = entries(20_000);
    const source = new ScriptedHealthSource([{ answer: big, index: 5 }]);
    const { watcher, changes } = start(source);
    const sizes = new Set<number>();
    let turns = 0;
    // Sampled between slices: the list is either the old one (empty) or the whole new one.
    const sampler = setInterval(() => {
      turns++;
      sizes.add(watcher.instances().length);
    }, 0);
    const event = await changes.next();
    clearInterval(sampler);
    expect(event.instances).toHaveLength(20_000);
    expect([...sizes].every((size) => size === 0 || size === 20_000)).toBe(true);
    expect(turns).toBeGreaterThan(0);
  });

  it('keeps the objects of unchanged instances from one answer to the next', async () => {
    const changedOne = entries(2000);
    changedOne[7] = healthEntry(changedOne[7]!.Service.ID, { port: 9999 });
    const source = new ScriptedHealthSource([
      { answer: entries(2000), index: 5 },
      { answer: changedOne, index: 6 },
    ]);
    const { changes } = start(source);
    const first = await changes.next();
    const second = await changes.next();
    expect(second.previous).toBe(first.instances);
    const shared = second.instances.filter((instance, i) => instance === first.instances[i]);
    expect(shared).toHaveLength(1999);
    expect(second.instances[7]!.port).toBe(9999);
  });

  it('drops a large answer when closed while applying it', async () => {
    const source = new ScriptedHealthSource([{ answer: entries(50_000), index: 5 }]);
    const { watcher } = start(source);
    await source.waitForCalls(1);
    // One turn: the answer is being applied (its first slice ran), not finished.
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.close();
    expect(watcher.instances()).toHaveLength(0);
    expect(watcher.status().updates).toBe(0);
  });
});
