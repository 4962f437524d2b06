import { RandomBalancer } from '../../src/balancer/random';
import { countPicks, cycle, instance, instances, mulberry32, pickIds } from './helpers';

describe('RandomBalancer', () => {
  it('returns undefined for an empty list', () => {
    const balancer = RandomBalancer.from();
    expect(balancer.pick()).toBeUndefined();
    balancer.update([]);
    expect(balancer.pick()).toBeUndefined();
  });

  it('spreads picks uniformly (each of 4 within 3% of a quarter over 100k picks)', () => {
    const balancer = RandomBalancer.from({ random: mulberry32(42) });
    balancer.update(instances(4));
    const counts = countPicks(balancer, 100_000);
    expect(counts.size).toBe(4);
    for (const count of counts.values()) {
      expect(Math.abs(count - 25_000)).toBeLessThan(750);
    }
  });

  it('maps the same random draws to the same instances whatever the list order', () => {
    const a = RandomBalancer.from({ random: mulberry32(5) });
    const b = RandomBalancer.from({ random: mulberry32(5) });
    const list = instances(6);
    a.update(list);
    b.update([...list].reverse());
    expect(pickIds(b, 50)).toEqual(pickIds(a, 50));
  });

  it('stays in range when a custom source returns 1', () => {
    const balancer = RandomBalancer.from({ random: () => 1 });
    balancer.update(instances(3));
    expect(balancer.pick()?.id).toBe('i2');
  });

  it('never picks weight-0 instances and otherwise ignores weights', () => {
    const balancer = RandomBalancer.from({ random: mulberry32(1) });
    balancer.update([instance('heavy', 100), instance('light', 1), instance('off', 0)]);
    const counts = countPicks(balancer, 20_000);
    expect(counts.has('off')).toBe(false);
    expect(Math.abs(counts.get('heavy')! - 10_000)).toBeLessThan(400);
  });

  it('stays uniform over the allowed instances when some are excluded', () => {
    const balancer = RandomBalancer.from({ random: mulberry32(11) });
    balancer.update(instances(4));
    const counts = countPicks(balancer, 60_000, { exclude: new Set(['i0']) });
    expect(counts.has('i0')).toBe(false);
    for (const id of ['i1', 'i2', 'i3']) {
      expect(Math.abs(counts.get(id)! - 20_000)).toBeLessThan(600);
    }
  });

  it('falls back to a scan, uniform over the rest, when every retry hits an excluded id', () => {
    // 0 always draws i0; the scan then uses the 5th draw (0.9) to pick among i1..i3.
    const balancer = RandomBalancer.from({ random: cycle(0, 0, 0, 0, 0.9) });
    balancer.update(instances(4));
    expect(balancer.pick({ exclude: new Set(['i0']) })?.id).toBe('i3');
  });

  it('makes three extra draws, no more, before scanning', () => {
    // The first draw and 3 retries hit i0; the 5th draw, 0.4, goes to the scan over i1..i3
    // (index 1 of 3: i2), where a 4th retry would have drawn i1 among all four.
    const balancer = RandomBalancer.from({ random: cycle(0, 0, 0, 0, 0.4) });
    balancer.update(instances(4));
    expect(balancer.pick({ exclude: new Set(['i0']) })?.id).toBe('i2');
    // With the 4th draw allowed, the retry takes it as it is: i3 (a scan would give i2).
    const early = RandomBalancer.from({ random: cycle(0, 0, 0, 0.9) });
    early.update(instances(4));
    expect(early.pick({ exclude: new Set(['i0']) })?.id).toBe('i3');
  });
});
