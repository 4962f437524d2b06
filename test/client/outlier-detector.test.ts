import {
  OutlierDetector,
  maxEjectable,
  resolveOutlierDetectorOptions,
  type OutlierDetectorOptions,
  type OutlierEjectEvent,
  type OutlierReturnEvent,
} from '../../src/client/outlier-detector';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

interface Harness {
  detector: OutlierDetector;
  advance: (ms: number) => void;
  ejects: OutlierEjectEvent[];
  returns: OutlierReturnEvent[];
}

/** A detector on a hand-driven clock, retaining `ids`, with its events collected. */
function setup(options: OutlierDetectorOptions = {}, ids = ['a', 'b', 'c']): Harness {
  let time = 1_000;
  const detector = new OutlierDetector(resolveOutlierDetectorOptions(options), () => time);
  detector.retain(ids);
  const ejects: OutlierEjectEvent[] = [];
  const returns: OutlierReturnEvent[] = [];
  detector.onEject((event) => ejects.push(event));
  detector.onReturn((event) => returns.push(event));
  return {
    detector,
    advance: (ms) => {
      time += ms;
    },
    ejects,
    returns,
  };
}

function fail(detector: OutlierDetector, id: string, times: number): boolean[] {
  return Array.from({ length: times }, () => detector.recordFailure(id));
}

const instances = (...ids: string[]): { id: string }[] => ids.map((id) => ({ id }));

describe('OutlierDetector', () => {
  describe('ejection', () => {
    it('ejects on exactly the 5th consecutive failure, not the 4th', () => {
      const { detector, ejects } = setup();
      expect(fail(detector, 'a', 4)).toEqual([false, false, false, false]);
      expect(detector.isEjected('a')).toBe(false);
      expect(detector.recordFailure('a')).toBe(true);
      expect(detector.isEjected('a')).toBe(true);
      expect(ejects).toEqual([
        { id: 'a', consecutiveFailures: 5, ejections: 1, durationMs: 30_000 },
      ]);
    });

    it('starts the streak over after a success', () => {
      const { detector } = setup();
      fail(detector, 'a', 4);
      detector.recordSuccess('a');
      expect(fail(detector, 'a', 4)).toEqual([false, false, false, false]);
      expect(detector.isEjected('a')).toBe(false);
      expect(detector.recordFailure('a')).toBe(true);
    });

    it('honours a custom threshold', () => {
      const { detector } = setup({ consecutiveFailures: 1 });
      expect(detector.recordFailure('b')).toBe(true);
    });

    it('keeps failures of different instances apart', () => {
      const { detector } = setup({ maxEjectionPercent: 100 });
      fail(detector, 'a', 4);
      fail(detector, 'b', 4);
      expect(detector.ejectedCount).toBe(0);
      expect(detector.status('a')).toEqual({
        consecutiveFailures: 4,
        ejections: 0,
        ejected: false,
        remainingMs: 0,
      });
    });

    it('ignores successes of instances it knows nothing about', () => {
      const { detector } = setup();
      detector.recordSuccess('a');
      expect(detector.status('a')).toBeUndefined();
    });
  });

  describe('return', () => {
    it('puts an instance back once its ejection time has passed, with an onReturn event', () => {
      const { detector, advance, returns } = setup();
      fail(detector, 'a', 5);
      advance(29_999);
      expect(detector.isEjected('a')).toBe(true);
      expect(detector.status('a')?.remainingMs).toBe(1);
      expect(returns).toEqual([]);
      advance(1);
      const all = instances('a', 'b', 'c');
      expect(detector.eligible(all)).toBe(all);
      expect(returns).toEqual([{ id: 'a', durationMs: 30_000 }]);
      expect(detector.isEjected('a')).toBe(false);
    });

    it('starts a fresh streak after the return', () => {
      const { detector, advance } = setup();
      fail(detector, 'a', 5);
      advance(30_000);
      expect(fail(detector, 'a', 4)).toEqual([false, false, false, false]);
      expect(detector.recordFailure('a')).toBe(true);
    });

    it('neither extends nor repeats an ejection on failures while ejected (panic traffic)', () => {
      const { detector, advance, ejects } = setup({ maxEjectionPercent: 100 });
      fail(detector, 'a', 5);
      advance(10_000);
      expect(fail(detector, 'a', 10).some(Boolean)).toBe(false);
      expect(ejects).toHaveLength(1);
      expect(detector.status('a')?.remainingMs).toBe(20_000);
    });

    it('does not end an ejection early on successes (replies to requests in flight)', () => {
      const { detector } = setup();
      fail(detector, 'a', 5);
      detector.recordSuccess('a');
      expect(detector.isEjected('a')).toBe(true);
    });
  });

  describe('ejection time', () => {
    it('grows with each ejection and is capped at maxEjectionMs', () => {
      const { detector, advance, ejects } = setup({ baseEjectionMs: 1000, maxEjectionMs: 3500 });
      for (let round = 0; round < 5; round += 1) {
        fail(detector, 'a', 5);
        const last = ejects.at(-1);
        expect(last?.id).toBe('a');
        advance(last?.durationMs ?? 0);
      }
      expect(ejects.map((event) => event.durationMs)).toEqual([1000, 2000, 3000, 3500, 3500]);
      expect(ejects.map((event) => event.ejections)).toEqual([1, 2, 3, 4, 4]);
    });

    it('forgives one ejection per whole baseEjectionMs spent back in rotation', () => {
      const { detector, advance, ejects } = setup();
      fail(detector, 'a', 5); // 30 s, multiplier 1
      advance(30_000);
      fail(detector, 'a', 5); // multiplier 2: 60 s
      advance(60_000);
      expect(detector.status('a')?.ejections).toBe(2);
      advance(29_999); // not yet a whole healthy interval
      expect(detector.status('a')?.ejections).toBe(2);
      advance(1);
      expect(detector.status('a')?.ejections).toBe(1);
      fail(detector, 'a', 5); // 1 + 1: 60 s again
      advance(60_000 + 2 * 30_000); // back for two whole intervals: fully forgiven
      expect(detector.status('a')?.ejections).toBe(0);
      fail(detector, 'a', 5);
      expect(ejects.map((event) => event.durationMs)).toEqual([30_000, 60_000, 60_000, 30_000]);
    });

    it('counts the healthy time from the scheduled return, not from the next look', () => {
      const { detector, advance, ejects } = setup();
      fail(detector, 'a', 5);
      advance(30_000 + 30_000); // nobody looked at the return, yet a whole interval has passed
      fail(detector, 'a', 5);
      expect(ejects.map((event) => event.durationMs)).toEqual([30_000, 30_000]);
    });
  });

  describe('max ejection share', () => {
    it.each([
      [0, 50, 0],
      [1, 50, 0],
      [1, 100, 0],
      [2, 50, 1],
      [2, 10, 1],
      [3, 50, 1],
      [3, 10, 1],
      [4, 50, 2],
      [10, 50, 5],
      [10, 10, 1],
      [10, 100, 9],
      [5, 0, 0],
    ])('allows %i instances at %i%% to lose %i', (pool, percent, expected) => {
      expect(maxEjectable(pool, percent)).toBe(expected);
    });

    it('ejects one of three at the default 50%, keeping the streak of a second one', () => {
      const { detector, advance } = setup();
      expect(fail(detector, 'a', 5).at(-1)).toBe(true);
      expect(fail(detector, 'b', 5)).toEqual([false, false, false, false, false]);
      expect(detector.ejectedCount).toBe(1);
      expect(detector.status('b')?.consecutiveFailures).toBe(5);
      advance(30_000); // 'a' returns: room for one ejection again
      expect(detector.recordFailure('b')).toBe(true);
    });

    it('never ejects every instance, even at 100%', () => {
      const { detector } = setup({ maxEjectionPercent: 100 });
      fail(detector, 'a', 5);
      fail(detector, 'b', 5);
      fail(detector, 'c', 5);
      expect(detector.ejectedCount).toBe(2);
      expect(detector.isEjected('c')).toBe(false);
    });

    it('never ejects a lone instance', () => {
      const { detector } = setup({}, ['only']);
      expect(fail(detector, 'only', 20).some(Boolean)).toBe(false);
    });

    it('ejects nothing at 0%', () => {
      const { detector } = setup({ maxEjectionPercent: 0 });
      expect(fail(detector, 'a', 20).some(Boolean)).toBe(false);
    });
  });

  describe('eligible', () => {
    it('returns the very same array when nothing is ejected', () => {
      const { detector } = setup();
      const all = instances('a', 'b', 'c');
      expect(detector.eligible(all)).toBe(all);
      fail(detector, 'a', 4);
      expect(detector.eligible(all)).toBe(all);
      expect(detector.inPanic).toBe(false);
    });

    it('leaves ejected instances out', () => {
      const { detector } = setup();
      fail(detector, 'b', 5);
      const all = instances('a', 'b', 'c');
      expect(detector.eligible(all).map((instance) => instance.id)).toEqual(['a', 'c']);
      expect(detector.inPanic).toBe(false);
    });

    it('returns the same array when the ejected instances are not among those asked about', () => {
      const { detector } = setup();
      fail(detector, 'b', 5);
      const subset = instances('a', 'c');
      expect(detector.eligible(subset)).toBe(subset);
    });

    it('keeps exactly panicThresholdPercent healthy out of panic', () => {
      const { detector } = setup({}, ['a', 'b', 'c', 'd']);
      fail(detector, 'a', 5);
      fail(detector, 'b', 5);
      expect(detector.eligible(instances('a', 'b', 'c', 'd')).map((i) => i.id)).toEqual(['c', 'd']);
      expect(detector.inPanic).toBe(false);
    });

    it('returns all instances in panic mode when too few healthy ones would remain', () => {
      const { detector } = setup({}, ['a', 'b', 'c', 'd']);
      fail(detector, 'a', 5);
      fail(detector, 'b', 5);
      // 'd' left Consul: 1 healthy of 3 is below 50%.
      detector.retain(['a', 'b', 'c']);
      const remaining = instances('a', 'b', 'c');
      expect(detector.eligible(remaining)).toBe(remaining);
      expect(detector.inPanic).toBe(true);
      // Panic is a property of the last call, not a sticky state.
      expect(detector.eligible(instances('a', 'c')).map((i) => i.id)).toEqual(['c']);
      expect(detector.inPanic).toBe(false);
    });

    it('returns all instances when none would remain, even with panic disabled', () => {
      const { detector } = setup({ panicThresholdPercent: 0 });
      fail(detector, 'a', 5);
      const onlyEjected = instances('a');
      expect(detector.eligible(onlyEjected)).toBe(onlyEjected);
      expect(detector.inPanic).toBe(true);
      expect(detector.eligible(instances('a', 'b')).map((i) => i.id)).toEqual(['b']);
    });

    it('enters panic earlier with a higher threshold', () => {
      const { detector } = setup({ panicThresholdPercent: 70 });
      fail(detector, 'a', 5);
      const all = instances('a', 'b', 'c');
      expect(detector.eligible(all)).toBe(all); // 2 of 3 (67%) is below 70%
      expect(detector.inPanic).toBe(true);
    });
  });

  describe('generation', () => {
    it('rises exactly when the ejected set changes, so callers can cache eligible()', () => {
      const { detector, advance } = setup({ consecutiveFailures: 2, baseEjectionMs: 1000 });
      const start = detector.generation;
      fail(detector, 'a', 1); // a streak, no ejection
      detector.recordSuccess('a');
      expect(detector.generation).toBe(start);
      fail(detector, 'a', 2); // ejected
      const ejected = detector.generation;
      expect(ejected).toBeGreaterThan(start);
      advance(999);
      expect(detector.generation).toBe(ejected); // still out
      advance(1);
      const returned = detector.generation; // the return is noticed when asked
      expect(returned).toBeGreaterThan(ejected);
      expect(detector.generation).toBe(returned);
      expect(detector.isEjected('a')).toBe(false);
    });

    it('rises when a departing instance takes its ejection with it, not for others', () => {
      const { detector } = setup({ consecutiveFailures: 1 }, ['a', 'b', 'c', 'd']);
      fail(detector, 'a', 1);
      fail(detector, 'b', 1); // a and b out: 2 of 4 is the 50 % cap
      const before = detector.generation;
      fail(detector, 'c', 1); // c would be a third: refused, nothing changes
      expect(detector.generation).toBe(before);
      detector.retain(['a', 'b', 'd']); // c was not ejected
      expect(detector.generation).toBe(before);
      detector.retain(['b', 'd']); // a was
      expect(detector.generation).toBeGreaterThan(before);
      expect(detector.ejectedCount).toBe(1);
    });
  });

  describe('retain', () => {
    it('forgets departed instances without an onReturn event', () => {
      const { detector, returns } = setup();
      fail(detector, 'a', 5);
      fail(detector, 'b', 3);
      detector.retain(['b', 'c']);
      expect(detector.isEjected('a')).toBe(false);
      expect(detector.status('a')).toBeUndefined();
      expect(detector.status('b')?.consecutiveFailures).toBe(3);
      expect(detector.ejectedCount).toBe(0);
      expect(returns).toEqual([]);
    });

    it('ignores reports about ids outside the retained set', () => {
      const { detector } = setup();
      expect(fail(detector, 'gone', 10).some(Boolean)).toBe(false);
      expect(detector.status('gone')).toBeUndefined();
    });

    it('starts a returning id from scratch', () => {
      const { detector } = setup();
      fail(detector, 'a', 4);
      detector.retain(['b', 'c']);
      detector.retain(['a', 'b', 'c']);
      expect(detector.recordFailure('a')).toBe(false);
      expect(detector.status('a')?.consecutiveFailures).toBe(1);
    });

    it('ejects nothing before the first retain()', () => {
      const detector = new OutlierDetector(
        resolveOutlierDetectorOptions({ consecutiveFailures: 1 }),
        () => 0,
      );
      expect(detector.recordFailure('a')).toBe(false);
      expect(detector.ejectedCount).toBe(0);
    });

    it('accepts any iterable of ids', () => {
      const detector = new OutlierDetector(
        resolveOutlierDetectorOptions({ consecutiveFailures: 1 }),
        () => 0,
      );
      detector.retain(
        new Map([
          ['a', 1],
          ['b', 2],
        ]).keys(),
      );
      expect(detector.recordFailure('a')).toBe(true);
    });
  });

  describe('listeners', () => {
    it('stop being called once disposed, and disposing twice is harmless', () => {
      const { detector, advance } = setup({ consecutiveFailures: 1 });
      const ejected: string[] = [];
      const returned: string[] = [];
      const stopEject = detector.onEject((event) => ejected.push(event.id));
      const stopReturn = detector.onReturn((event) => returned.push(event.id));
      detector.recordFailure('a');
      advance(30_000);
      expect(detector.isEjected('a')).toBe(false);
      stopEject();
      stopEject();
      stopReturn();
      detector.recordFailure('b');
      advance(60_000);
      expect(detector.ejectedCount).toBe(0);
      expect(ejected).toEqual(['a']);
      expect(returned).toEqual(['a']);
    });

    it('subscribing the same function twice gives two independent subscriptions', () => {
      const { detector } = setup({ consecutiveFailures: 1, maxEjectionPercent: 100 });
      const listener = jest.fn();
      const first = detector.onEject(listener);
      detector.onEject(listener);
      detector.recordFailure('a');
      expect(listener).toHaveBeenCalledTimes(2);
      first();
      detector.recordFailure('b');
      expect(listener).toHaveBeenCalledTimes(3);
    });

    it("runs every listener and never rethrows a listener's error; the state change is complete", () => {
      const { detector, ejects } = setup({ consecutiveFailures: 1 });
      detector.onEject(() => {
        throw new Error('listener bug');
      });
      const later = jest.fn();
      detector.onEject(later);
      expect(() => detector.recordFailure('a')).not.toThrow();
      expect(ejects).toHaveLength(1);
      expect(later).toHaveBeenCalledTimes(1);
      expect(detector.isEjected('a')).toBe(true);
    });

    it('reports every simultaneous return even when a listener throws', () => {
      const { detector, advance, returns } = setup({
        consecutiveFailures: 1,
        maxEjectionPercent: 100,
      });
      detector.recordFailure('a');
      detector.recordFailure('b');
      detector.onReturn(() => {
        throw new Error('listener bug');
      });
      advance(30_000);
      expect(() => detector.ejectedCount).not.toThrow();
      expect(returns.map((event) => event.id).sort()).toEqual(['a', 'b']);
      expect(detector.ejectedCount).toBe(0);
    });
  });

  describe('options', () => {
    it('applies defaults', () => {
      expect(resolveOutlierDetectorOptions()).toEqual({
        consecutiveFailures: 5,
        baseEjectionMs: 30_000,
        maxEjectionMs: 300_000,
        maxEjectionPercent: 50,
        panicThresholdPercent: 50,
      });
    });

    it.each<[OutlierDetectorOptions, string]>([
      [{ consecutiveFailures: 0 }, 'outlierDetection.consecutiveFailures'],
      [{ consecutiveFailures: 2.5 }, 'outlierDetection.consecutiveFailures'],
      [{ baseEjectionMs: 0 }, 'outlierDetection.baseEjectionMs'],
      [{ baseEjectionMs: Number.NaN }, 'outlierDetection.baseEjectionMs'],
      [{ maxEjectionMs: 29_999 }, 'outlierDetection.maxEjectionMs'],
      [{ baseEjectionMs: 1000, maxEjectionMs: 999 }, 'outlierDetection.maxEjectionMs'],
      [{ maxEjectionPercent: -1 }, 'outlierDetection.maxEjectionPercent'],
      [{ maxEjectionPercent: 101 }, 'outlierDetection.maxEjectionPercent'],
      [{ panicThresholdPercent: 100.5 }, 'outlierDetection.panicThresholdPercent'],
    ])('rejects %p with a ConfigError on %s', (options, path) => {
      const attempt = (): unknown => resolveOutlierDetectorOptions(options);
      const error = thrownBy(attempt);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ path, code: 'EXPRESS_CONSUL_INVALID_OPTION' });
    });

    it('names fields under the given path', () => {
      expect(
        thrownBy(() =>
          resolveOutlierDetectorOptions({ consecutiveFailures: 0 }, 'clients.x.outliers'),
        ),
      ).toMatchObject({ path: 'clients.x.outliers.consecutiveFailures' });
    });

    it('defaults to the monotonic clock: a wall-clock jump does not end an ejection', () => {
      const realNow = Date.now;
      const wallClock = jest.spyOn(Date, 'now');
      try {
        const detector = new OutlierDetector(
          resolveOutlierDetectorOptions({ consecutiveFailures: 1 }),
        );
        detector.retain(['a', 'b']);
        expect(detector.recordFailure('a')).toBe(true);
        // The wall clock jumps 3 hours ahead: a Date.now detector would return 'a' at once.
        wallClock.mockImplementation(() => realNow() + 3 * 3_600_000);
        expect(detector.isEjected('a')).toBe(true);
        expect(detector.status('a')?.remainingMs).toBeGreaterThan(29_000);
        expect(detector.eligible([{ id: 'a' }, { id: 'b' }])).toEqual([{ id: 'b' }]);
      } finally {
        wallClock.mockRestore();
      }
    });
  });
});
