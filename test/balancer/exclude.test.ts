import type { Balancer, BalancerName, PickContext } from '../../src/balancer/balancer';
import { BALANCER_NAMES, createBalancer } from '../../src/balancer/create-balancer';
import { instance, instances, mulberry32 } from './helpers';

// Every built-in balancer must honour the same contract for `exclude` and weight 0.
describe.each(BALANCER_NAMES.map((name) => [name]))('%s', (name: BalancerName) => {
  const make = (random: () => number = mulberry32(9)): Balancer => {
    const balancer = createBalancer(name, { random });
    balancer.update(instances(5));
    return balancer;
  };
  const contexts = (exclude: ReadonlySet<string>): PickContext[] =>
    Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? { exclude } : { exclude, key: `k${i}` }));

  it('returns the one allowed instance when all others are excluded', () => {
    const balancer = make();
    for (const context of contexts(new Set(['i0', 'i1', 'i3', 'i4']))) {
      expect(balancer.pick(context)?.id).toBe('i2');
    }
  });

  it('finds the allowed instance even when every random draw is the same', () => {
    for (const value of [0, 0.5, 0.999]) {
      const balancer = make(() => value);
      for (const allowed of ['i0', 'i2', 'i4']) {
        const exclude = new Set(['i0', 'i1', 'i2', 'i3', 'i4'].filter((id) => id !== allowed));
        for (const context of contexts(exclude).slice(0, 4)) {
          expect(balancer.pick(context)?.id).toBe(allowed);
        }
      }
    }
  });

  it('never returns an excluded instance', () => {
    const balancer = make();
    for (const context of contexts(new Set(['i1', 'i3']))) {
      const picked = balancer.pick(context)!.id;
      expect(['i0', 'i2', 'i4']).toContain(picked);
    }
  });

  it('returns undefined when everything is excluded', () => {
    const balancer = make();
    for (const context of contexts(new Set(['i0', 'i1', 'i2', 'i3', 'i4'])).slice(0, 4)) {
      expect(balancer.pick(context)).toBeUndefined();
    }
  });

  it('ignores excluded ids it does not know and an empty set', () => {
    const balancer = make();
    expect(balancer.pick({ exclude: new Set(['nobody']) })).toBeDefined();
    expect(balancer.pick({ exclude: new Set() })).toBeDefined();
  });

  it('never falls back to a weight-0 instance', () => {
    const balancer = createBalancer(name, { random: mulberry32(3) });
    balancer.update([instance('a'), instance('zero', 0), instance('b')]);
    for (let i = 0; i < 500; i++) {
      expect(balancer.pick({ key: `k${i}` })?.id).not.toBe('zero');
    }
    expect(balancer.pick({ exclude: new Set(['a', 'b']) })).toBeUndefined();
    expect(balancer.pick({ key: 'k', exclude: new Set(['a', 'b']) })).toBeUndefined();
  });

  it('returns undefined when every instance has weight 0', () => {
    const balancer = createBalancer(name);
    balancer.update([instance('a', 0), instance('b', 0)]);
    expect(balancer.pick()).toBeUndefined();
  });
});
