import { ConfigError } from '../../src/errors';
import { SlowStart } from '../../src/balancer/slow-start';
import { instance } from './helpers';

describe('SlowStart', () => {
  it('treats the first instances it sees as warm', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([instance('a')], 0);
    expect(slowStart.factor('a', 0)).toBe(1);
    expect(slowStart.isRamping(0)).toBe(false);
  });

  it('ramps a later instance linearly from the floor to 1 over the window', () => {
    const slowStart = SlowStart.from({ windowMs: 1000, floor: 0.2 });
    slowStart.observe([instance('a')], 0);
    slowStart.observe([instance('a'), instance('b')], 5000);
    expect(slowStart.factor('b', 5000)).toBeCloseTo(0.2, 12);
    expect(slowStart.factor('b', 5250)).toBeCloseTo(0.4, 12);
    expect(slowStart.factor('b', 5500)).toBeCloseTo(0.6, 12);
    expect(slowStart.factor('b', 5999)).toBeLessThan(1);
    expect(slowStart.factor('b', 6000)).toBe(1);
    expect(slowStart.isRamping(5999)).toBe(true);
    expect(slowStart.isRamping(6000)).toBe(false);
  });

  it('keeps the first-seen time across updates', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([instance('a')], 0);
    slowStart.observe([instance('a'), instance('b')], 100);
    slowStart.observe([instance('b'), instance('a'), instance('c')], 600);
    expect(slowStart.factor('b', 600)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(slowStart.factor('c', 600)).toBeCloseTo(0.1, 12);
  });

  it('ramps again an instance that left and came back', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([instance('a'), instance('b')], 0);
    slowStart.observe([instance('a')], 10);
    slowStart.observe([instance('a'), instance('b')], 20);
    expect(slowStart.factor('b', 20)).toBeCloseTo(0.1, 12);
    expect(slowStart.factor('a', 20)).toBe(1);
  });

  it('counts the first non-empty set as warm even after empty updates', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([], 0);
    slowStart.observe([instance('a')], 100);
    expect(slowStart.factor('a', 100)).toBe(1);
    slowStart.observe([instance('a'), instance('b')], 200);
    expect(slowStart.factor('b', 200)).toBeCloseTo(0.1, 12);
  });

  it('answers 1 for an id it does not know', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    expect(slowStart.factor('ghost', 0)).toBe(1);
  });

  it('keeps ramping until the last newcomer’s window ends', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([instance('a')], 0);
    slowStart.observe([instance('a'), instance('b')], 5000);
    slowStart.observe([instance('a'), instance('b'), instance('c')], 5500);
    expect(slowStart.isRamping(6200)).toBe(true); // b is done, c is not
    expect(slowStart.factor('b', 6200)).toBe(1);
    expect(slowStart.factor('c', 6200)).toBeLessThan(1);
    expect(slowStart.isRamping(6500)).toBe(false);
  });

  it('is not ramping with only warm instances, nor once every newcomer has left', () => {
    const slowStart = SlowStart.from({ windowMs: 1000 });
    slowStart.observe([instance('a')], 0);
    expect(slowStart.isRamping(0)).toBe(false);
    slowStart.observe([instance('a'), instance('b')], 100);
    expect(slowStart.isRamping(100)).toBe(true);
    slowStart.observe([instance('a')], 200);
    expect(slowStart.isRamping(200)).toBe(false);
  });

  it('names the missing or bad option, under `slowStart` unless told otherwise', () => {
    const fail = (run: () => unknown): ConfigError => {
      try {
        run();
      } catch (error) {
        if (error instanceof ConfigError) return error;
      }
      throw new Error('expected a ConfigError');
    };
    const missing = fail(() => SlowStart.from({} as never));
    expect([missing.path, missing.rule]).toEqual(['slowStart.windowMs', 'a duration in ms > 0']);
    expect(fail(() => SlowStart.from({ windowMs: 10, floor: 0 }, 'ramp')).path).toBe('ramp.floor');
  });

  it.each([
    [{ windowMs: 0 }],
    [{ windowMs: Number.NaN }],
    [{ windowMs: 10, floor: 0 }],
    [{ windowMs: 10, floor: 1.5 }],
  ])('rejects %j', (options) => {
    expect(() => SlowStart.from(options)).toThrow(ConfigError);
  });
});
