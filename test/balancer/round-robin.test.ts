import { RoundRobinBalancer } from '../../src/balancer/round-robin';
import { countPicks, cycle, instance, instances, mulberry32, pickIds } from './helpers';

describe('RoundRobinBalancer', () => {
  it('returns undefined before the first update and for an empty list', () => {
    const balancer = RoundRobinBalancer.from();
    expect(balancer.pick()).toBeUndefined();
    balancer.update([]);
    expect(balancer.pick()).toBeUndefined();
  });

  it('gives every instance exactly the same number of turns over N*k picks', () => {
    const balancer = RoundRobinBalancer.from({ random: mulberry32(7) });
    balancer.update(instances(7));
    const counts = countPicks(balancer, 7 * 1000);
    expect(counts.size).toBe(7);
    for (const count of counts.values()) expect(count).toBe(1000);
  });

  it('takes turns in id order whatever order the list came in', () => {
    const balancer = RoundRobinBalancer.from({ random: () => 0 });
    balancer.update([instance('c'), instance('a'), instance('d'), instance('b')]);
    expect(pickIds(balancer, 6)).toEqual(['a', 'b', 'c', 'd', 'a', 'b']);
  });

  it('starts the first rotation where `random` says, not always at the first id', () => {
    const balancer = RoundRobinBalancer.from({ random: () => 0.99 });
    balancer.update(instances(4));
    expect(pickIds(balancer, 3)).toEqual(['i3', 'i0', 'i1']);
  });

  it('draws where the rotation starts from the first non-empty list only', () => {
    // An empty list takes no draw: the first one (0.5) still picks the start among four.
    const balancer = RoundRobinBalancer.from({ random: cycle(0.5, 0) });
    balancer.update([]);
    balancer.update(instances(4));
    expect(pickIds(balancer, 2)).toEqual(['i2', 'i3']);
  });

  it('ignores weights other than 0 and never picks weight-0 or NaN-weight instances', () => {
    const balancer = RoundRobinBalancer.from({ random: () => 0 });
    balancer.update([
      instance('a', 10),
      instance('b', 1),
      instance('z', 0),
      instance('n', Number.NaN),
    ]);
    const counts = countPicks(balancer, 1000);
    expect([...counts.entries()].sort()).toEqual([
      ['a', 500],
      ['b', 500],
    ]);
  });

  describe('when the list changes', () => {
    it('continues with the instance that was next instead of restarting at the front', () => {
      const balancer = RoundRobinBalancer.from({ random: () => 0 });
      balancer.update(instances(5));
      expect(pickIds(balancer, 3)).toEqual(['i0', 'i1', 'i2']);
      balancer.update(instances(5).filter((i) => i.id !== 'i0'));
      expect(pickIds(balancer, 3)).toEqual(['i3', 'i4', 'i1']);
    });

    it('does not skip the next instance when one before it leaves', () => {
      const balancer = RoundRobinBalancer.from({ random: () => 0 });
      balancer.update(instances(5));
      pickIds(balancer, 2); // i0, i1; i2 is next
      // A plain index cursor (2) would now point at i3 and skip i2.
      balancer.update(instances(5).filter((i) => i.id !== 'i1'));
      expect(balancer.pick()?.id).toBe('i2');
    });

    it('hands the turn of a departed instance to its successor', () => {
      const balancer = RoundRobinBalancer.from({ random: () => 0 });
      balancer.update(instances(5));
      pickIds(balancer, 2); // i2 is next
      balancer.update(instances(5).filter((i) => i.id !== 'i2'));
      expect(pickIds(balancer, 2)).toEqual(['i3', 'i4']);
    });

    it('wraps to the front when the next instance was the last and it left', () => {
      const balancer = RoundRobinBalancer.from({ random: () => 0 });
      balancer.update(instances(3));
      pickIds(balancer, 2); // i2 is next
      balancer.update(instances(2));
      expect(balancer.pick()?.id).toBe('i0');
    });

    it('never gives the same instance two turns in a row across an add or a remove', () => {
      const random = mulberry32(99);
      const all = instances(10);
      for (let client = 0; client < 200; client++) {
        const balancer = RoundRobinBalancer.from({ random });
        balancer.update(all);
        const before = pickIds(balancer, 1 + Math.floor(random() * 20)).at(-1)!;
        const change =
          client % 2 === 0
            ? [...all, instance(`i${Math.floor(random() * 10)}x`)]
            : all.filter((i) => i.id !== `i${Math.floor(random() * 10)}` || i.id === before);
        balancer.update(change);
        expect(balancer.pick()?.id).not.toBe(before);
      }
    });

    it('keeps turns even after the list changes', () => {
      const balancer = RoundRobinBalancer.from({ random: mulberry32(3) });
      balancer.update(instances(4));
      pickIds(balancer, 5);
      balancer.update(instances(6));
      const counts = countPicks(balancer, 6 * 50);
      for (const count of counts.values()) expect(count).toBe(50);
    });
  });

  it('gives an excluded instance’s turn to the next allowed one and moves on from there', () => {
    const balancer = RoundRobinBalancer.from({ random: () => 0 });
    balancer.update(instances(4));
    expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i2');
    expect(balancer.pick()?.id).toBe('i3');
    expect(balancer.pick()?.id).toBe('i0');
  });
});
