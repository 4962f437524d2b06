import { WeightedBalancer } from '../../src/balancer/weighted';
import { countPicks, cycle, instance, mulberry32 } from './helpers';

function share(counts: Map<string, number>, id: string, total: number): number {
  return (counts.get(id) ?? 0) / total;
}

describe('WeightedBalancer', () => {
  it('returns undefined for an empty list', () => {
    const balancer = WeightedBalancer.from();
    expect(balancer.pick()).toBeUndefined();
    balancer.update([instance('off', 0)]);
    expect(balancer.pick()).toBeUndefined();
  });

  it('sends traffic in proportion to weight (10:10:1 within 3% of each share)', () => {
    const balancer = WeightedBalancer.from({ random: mulberry32(2024) });
    balancer.update([instance('a', 10), instance('b', 10), instance('c', 1)]);
    const picks = 210_000;
    const counts = countPicks(balancer, picks);
    expect(share(counts, 'a', picks)).toBeCloseTo(10 / 21, 2);
    expect(Math.abs(counts.get('a')! / 100_000 - 1)).toBeLessThan(0.03);
    expect(Math.abs(counts.get('b')! / 100_000 - 1)).toBeLessThan(0.03);
    expect(Math.abs(counts.get('c')! / 10_000 - 1)).toBeLessThan(0.03);
  });

  it('lets a warning instance (Warning=1 vs Passing=10) drain to a tenth, not vanish', () => {
    const balancer = WeightedBalancer.from({ random: mulberry32(8) });
    balancer.update([
      instance('ok', 10),
      instance('sick', 1, { status: 'warning' }),
      instance('ok2', 10),
    ]);
    const counts = countPicks(balancer, 105_000);
    const sick = counts.get('sick') ?? 0;
    expect(sick).toBeGreaterThan(0);
    expect(sick / counts.get('ok')!).toBeGreaterThan(0.09);
    expect(sick / counts.get('ok')!).toBeLessThan(0.11);
  });

  it('never picks a weight-0 instance', () => {
    const balancer = WeightedBalancer.from({ random: mulberry32(3) });
    balancer.update([instance('a', 1), instance('zero', 0), instance('b', 3)]);
    expect(countPicks(balancer, 50_000).has('zero')).toBe(false);
  });

  it('keeps the remaining instances proportional when the heaviest is excluded', () => {
    const balancer = WeightedBalancer.from({ random: mulberry32(4) });
    balancer.update([instance('big', 100), instance('a', 3), instance('b', 1)]);
    const counts = countPicks(balancer, 40_000, { exclude: new Set(['big']) });
    expect(counts.has('big')).toBe(false);
    expect(Math.abs(counts.get('a')! / counts.get('b')! - 3)).toBeLessThan(0.2);
  });

  it('finds the allowed instance by scanning when every retry lands on excluded ones', () => {
    // Draws below ~0.99 all land on `big`; the scan then draws 0.5 over the rest.
    const balancer = WeightedBalancer.from({ random: cycle(0.1, 0.2, 0.3, 0.4, 0.5) });
    balancer.update([instance('big', 1000), instance('small', 1)]);
    expect(balancer.pick({ exclude: new Set(['big']) })?.id).toBe('small');
  });

  describe('slow start', () => {
    it('ramps a newly seen instance linearly from the floor to its full weight', () => {
      let now = 0;
      const balancer = WeightedBalancer.from({ now: () => now, slowStartMs: 10_000 });
      balancer.update([instance('old', 10)]);
      now = 1000;
      balancer.update([instance('old', 10), instance('new', 10)]);
      expect(balancer.effectiveWeights().get('old')).toBe(10);
      expect(balancer.effectiveWeights().get('new')).toBeCloseTo(1, 9);
      now = 6000; // half way: 0.1 + 0.9 * 0.5
      balancer.pick();
      expect(balancer.effectiveWeights().get('new')).toBeCloseTo(5.5, 9);
      now = 11_000;
      balancer.pick();
      expect(balancer.effectiveWeights().get('new')).toBe(10);
    });

    it('sends a newcomer about floor × its share at first', () => {
      const balancer = WeightedBalancer.from({
        now: () => 500,
        random: mulberry32(6),
        slowStartMs: 60_000,
      });
      balancer.update([instance('old', 1)]);
      balancer.update([instance('old', 1), instance('new', 1)]);
      const counts = countPicks(balancer, 110_000);
      expect(Math.abs(counts.get('new')! / 10_000 - 1)).toBeLessThan(0.05);
    });

    it('rebuilds at most every windowMs / 20 and stops reading the clock when done', () => {
      let now = 0;
      let reads = 0;
      const balancer = WeightedBalancer.from({
        now: () => {
          reads++;
          return now;
        },
        slowStartMs: 2000,
      });
      balancer.update([instance('old')]);
      balancer.update([instance('old'), instance('new')]);
      now = 50; // less than one 100 ms step
      balancer.pick();
      expect(balancer.effectiveWeights().get('new')).toBeCloseTo(0.1, 9);
      now = 100; // one step: 0.1 + 0.9 × 100 / 2000
      balancer.pick();
      expect(balancer.effectiveWeights().get('new')).toBeCloseTo(0.145, 9);
      now = 2000;
      balancer.pick();
      expect(balancer.effectiveWeights().get('new')).toBe(1);
      const readsAfterRamp = reads;
      balancer.pick();
      balancer.pick();
      expect(reads).toBe(readsAfterRamp);
    });

    it('reads performance.now() when no clock is given', () => {
      const clock = jest.spyOn(performance, 'now').mockReturnValue(1000);
      try {
        const balancer = WeightedBalancer.from({ slowStartMs: 10_000 });
        balancer.update([instance('old')]);
        balancer.update([instance('old'), instance('new')]);
        expect(balancer.effectiveWeights().get('new')).toBeCloseTo(0.1, 9);
        clock.mockReturnValue(6000);
        balancer.pick();
        expect(balancer.effectiveWeights().get('new')).toBeCloseTo(0.55, 9);
      } finally {
        clock.mockRestore();
      }
    });
  });

  it('shows the ramp share in inspect() only with slow start', () => {
    let now = 0;
    const plain = WeightedBalancer.from({ now: () => now });
    plain.update([instance('a')]);
    expect(plain.inspect('a')).toEqual({});
    const ramped = WeightedBalancer.from({ now: () => now, slowStartMs: 1000 });
    ramped.update([instance('old')]);
    ramped.update([instance('old'), instance('new')]);
    now = 500;
    expect(ramped.inspect('old')).toEqual({ share: 1 });
    expect(ramped.inspect('new')).toEqual({ share: 0.55 });
  });

  it('makes three extra draws, no more, before scanning', () => {
    // Sorted: a (1), b (1), big (1000). The alias table gives `big` nearly all of [0, 1), `b`
    // only a sliver just above 1/3. 0.9 lands on `big` four times (the first draw and three
    // retries); the scan then spends 0.3335 on a and b: 0.3335 × 2 < 1, so `a`.
    const balancer = WeightedBalancer.from({ random: cycle(0.9, 0.9, 0.9, 0.9, 0.3335) });
    balancer.update([instance('big', 1000), instance('a', 1), instance('b', 1)]);
    expect(balancer.pick({ exclude: new Set(['big']) })?.id).toBe('a');
    // 0.3335 as a fourth retry would have landed on b:
    const sampler = WeightedBalancer.from({ random: () => 0.3335 });
    sampler.update([instance('big', 1000), instance('a', 1), instance('b', 1)]);
    expect(sampler.pick()?.id).toBe('b');
  });
});
