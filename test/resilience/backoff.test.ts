import { Backoff } from '../../src/resilience/backoff';
import { mulberry32 as seeded } from '../support/seeded-random';

describe('Backoff', () => {
  it('doubles the ceiling on every failure and jitters within [ceiling/2, ceiling]', () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1_000_000 }, seeded(42));
    for (let failure = 0; failure < 12; failure += 1) {
      const ceiling = 100 * 2 ** failure;
      const delay = backoff.nextDelayMs();
      expect(delay).toBeGreaterThanOrEqual(Math.round(ceiling / 2));
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('maps random 0 to half the ceiling and random 1 to the ceiling', () => {
    const low = new Backoff({ baseMs: 200, factor: 3 }, () => 0);
    expect([1, 2, 3, 4].map(() => low.nextDelayMs())).toEqual([100, 300, 900, 2700]);
    const high = new Backoff({ baseMs: 200, factor: 3 }, () => 1);
    expect([1, 2, 3, 4].map(() => high.nextDelayMs())).toEqual([200, 600, 1800, 5400]);
  });

  it('uses defaults of 200 ms base, factor 2 and 30 s cap', () => {
    const backoff = new Backoff({}, () => 1);
    const delays = Array.from({ length: 10 }, () => backoff.nextDelayMs());
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('is capped at maxMs however many failures occur', () => {
    const top = new Backoff({ baseMs: 100, maxMs: 5000 }, () => 1);
    const bottom = new Backoff({ baseMs: 100, maxMs: 5000 }, () => 0);
    for (let failure = 0; failure < 200; failure += 1) {
      top.nextDelayMs();
      bottom.nextDelayMs();
    }
    expect(top.nextDelayMs()).toBe(5000);
    expect(bottom.nextDelayMs()).toBe(2500);
    expect(Number.isFinite(top.nextDelayMs())).toBe(true);
  });

  it('counts failures in attempt and starts over from the base after reset()', () => {
    const backoff = new Backoff({ baseMs: 50 }, () => 1);
    expect(backoff.attempt).toBe(0);
    backoff.nextDelayMs();
    backoff.nextDelayMs();
    expect(backoff.nextDelayMs()).toBe(200);
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.nextDelayMs()).toBe(50);
    expect(backoff.attempt).toBe(1);
  });

  it('draws its jitter from the injected random function only', () => {
    const mathRandom = jest.spyOn(Math, 'random');
    try {
      const random = jest.fn(() => 0.5);
      const backoff = new Backoff({ baseMs: 1000 }, random);
      expect(backoff.nextDelayMs()).toBe(750);
      expect(backoff.nextDelayMs()).toBe(1500);
      expect(random).toHaveBeenCalledTimes(2);
      expect(mathRandom).not.toHaveBeenCalled();
    } finally {
      mathRandom.mockRestore();
    }
  });
});
