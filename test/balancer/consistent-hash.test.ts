import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash';
import type { ServiceInstance } from '../../src/watch/service-instance';
import { ConfigError } from '../../src/errors';
import { hashString } from '../../src/balancer/hash';
import { countPicks, cycle, instance, instances, mulberry32, pickIds } from './helpers';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function assignments(balancer: ConsistentHashBalancer, keys = KEYS): Map<string, string> {
  return new Map(keys.map((key) => [key, balancer.pick({ key })!.id]));
}

function ring(list: readonly ServiceInstance[], virtualNodes?: number): ConsistentHashBalancer {
  const balancer = ConsistentHashBalancer.from(virtualNodes === undefined ? {} : { virtualNodes });
  balancer.update(list);
  return balancer;
}

describe('ConsistentHashBalancer', () => {
  it('returns undefined for an empty list', () => {
    expect(ring([]).pick({ key: 'k' })).toBeUndefined();
    expect(ConsistentHashBalancer.from().pick({ key: 'k' })).toBeUndefined();
  });

  it('maps a key to the same instance in every process, whatever the list order', () => {
    const list = instances(5);
    const a = assignments(ring(list));
    const b = assignments(ring([...list].reverse()));
    expect(b).toEqual(a);
  });

  it('spreads keys roughly evenly (each of 5 owns 20% ± 6%)', () => {
    const counts = new Map<string, number>();
    for (const id of assignments(ring(instances(5))).values()) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(5);
    for (const count of counts.values())
      expect(Math.abs(count / KEYS.length - 0.2)).toBeLessThan(0.06);
  });

  it('moves only the departed instance’s keys when one of 5 leaves', () => {
    const before = assignments(ring(instances(5)));
    const after = assignments(ring(instances(5).filter((i) => i.id !== 'i2')));
    const receivers = new Set<string>();
    let orphaned = 0;
    for (const [key, owner] of before) {
      if (owner === 'i2') {
        orphaned++;
        receivers.add(after.get(key)!);
      } else {
        expect(after.get(key)).toBe(owner);
      }
    }
    expect(orphaned).toBeGreaterThan(0);
    // Virtual nodes spread the orphans over the survivors instead of dumping them on one.
    expect(receivers.size).toBe(4);
  });

  it('moves about 1/n of the keys, all to the newcomer, when a sixth joins', () => {
    const before = assignments(ring(instances(5)));
    const after = assignments(ring([...instances(5), instance('i5')]));
    let moved = 0;
    for (const [key, owner] of before) {
      const now = after.get(key)!;
      if (now !== owner) {
        moved++;
        expect(now).toBe('i5');
      }
    }
    expect(moved / KEYS.length).toBeGreaterThan(1 / 6 - 0.06);
    expect(moved / KEYS.length).toBeLessThan(1 / 6 + 0.06);
  });

  it('sends an excluded owner’s keys elsewhere and leaves other keys alone', () => {
    const balancer = ring(instances(5));
    const exclude = new Set(['i0']);
    for (const [key, owner] of assignments(balancer, KEYS.slice(0, 2000))) {
      const picked = balancer.pick({ key, exclude })!.id;
      if (owner === 'i0') expect(picked).not.toBe('i0');
      else expect(picked).toBe(owner);
    }
  });

  it('falls back to the next owner on the ring, the same in every process', () => {
    const a = ring(instances(5));
    const b = ring([...instances(5)].reverse());
    const exclude = new Set(['i0', 'i1', 'i2']);
    for (const key of KEYS.slice(0, 500)) {
      expect(b.pick({ key, exclude })?.id).toBe(a.pick({ key, exclude })?.id);
    }
  });

  it('scans past a long run of excluded points on a big ring', () => {
    const list = instances(50);
    const balancer = ring(list, 1000);
    const exclude = new Set(list.slice(1).map((i) => i.id));
    for (const key of KEYS.slice(0, 200)) expect(balancer.pick({ key, exclude })?.id).toBe('i0');
  });

  it('never puts weight-0 instances on the ring', () => {
    const balancer = ring([instance('a'), instance('off', 0), instance('b')]);
    expect([...assignments(balancer).values()]).not.toContain('off');
    expect(balancer.ringSizes().has('off')).toBe(false);
  });

  it('takes turns like round robin when there is no key', () => {
    const balancer = ConsistentHashBalancer.from({ random: mulberry32(1) });
    balancer.update(instances(3));
    const counts = countPicks(balancer, 300);
    expect([...counts.values()]).toEqual([100, 100, 100]);
    expect(countPicks(balancer, 200, { exclude: new Set(['i1']) }).has('i1')).toBe(false);
  });

  it('with scaleByWeight gives a heavier instance proportionally more keys', () => {
    const balancer = ConsistentHashBalancer.from({ scaleByWeight: true, virtualNodes: 100 });
    balancer.update([instance('big', 3), instance('small', 1)]);
    expect(balancer.ringSizes()).toEqual(
      new Map([
        ['big', 300],
        ['small', 100],
      ]),
    );
    const big = [...assignments(balancer).values()].filter((id) => id === 'big').length;
    expect(Math.abs(big / KEYS.length - 0.75)).toBeLessThan(0.06);
  });

  it('maps keys exactly as the documented ring does, so other implementations can agree', () => {
    // The contract: instance `id` owns the points hash(`${id}#${r}`) for r < virtualNodes, and a
    // key goes to the owner of the first point at or after hash(key), wrapping past the last.
    const ids = ['alpha', 'beta', 'gamma', 'delta'];
    const virtualNodes = 7;
    const points = ids
      .flatMap((id) =>
        Array.from({ length: virtualNodes }, (_, r) => [hashString(`${id}#${r}`), id]),
      )
      .sort((a, b) => (a[0] as number) - (b[0] as number)) as [number, string][];
    const expectedOwner = (key: string): string => {
      const hash = hashString(key);
      return (points.find(([point]) => point >= hash) ?? points[0]!)[1];
    };
    const balancer = ring(
      ids.map((id) => instance(id)),
      virtualNodes,
    );
    const keys = [...KEYS.slice(0, 3000), 'a', '', 'zzzz'];
    let wrapped = 0;
    for (const key of keys) {
      if (hashString(key) > points.at(-1)![0]) wrapped++;
      expect(balancer.pick({ key })?.id).toBe(expectedOwner(key));
    }
    expect(wrapped).toBeGreaterThan(0); // some keys hash past the last point
  });

  it('sends an excluded owner’s keys where they would go if it had left the ring', () => {
    const list = instances(6);
    const full = ring(list);
    for (const excluded of [['i0'], ['i3'], ['i1', 'i4'], ['i0', 'i2', 'i5']]) {
      const without = ring(list.filter((i) => !excluded.includes(i.id)));
      const exclude = new Set(excluded);
      for (const key of KEYS.slice(0, 1500)) {
        expect(full.pick({ key, exclude })?.id).toBe(without.pick({ key })?.id);
      }
    }
  });

  it('walks a small ring all the way round to the one allowed owner', () => {
    const balancer = ring(instances(4), 1); // 4 points in all
    const exclude = new Set(['i0', 'i1', 'i3']);
    for (const key of KEYS.slice(0, 100)) expect(balancer.pick({ key, exclude })?.id).toBe('i2');
    expect(balancer.pick({ key: 'k', exclude: new Set(['i0', 'i1', 'i2', 'i3']) })).toBeUndefined();
  });

  it('starts the key-less rotation where `random` says, once, and keeps it across updates', () => {
    const balancer = ConsistentHashBalancer.from({ random: () => 0.5 });
    balancer.update(instances(4));
    expect(pickIds(balancer, 3)).toEqual(['i2', 'i3', 'i0']);
    balancer.update(instances(5)); // not a fresh start: the rotation goes on
    expect(pickIds(balancer, 4)).toEqual(['i1', 'i2', 'i3', 'i4']);
    balancer.update(instances(2)); // the cursor is past the end: back to the front
    expect(pickIds(balancer, 2)).toEqual(['i0', 'i1']);
  });

  it('gives a key-less turn of an excluded instance to the next allowed one', () => {
    const balancer = ConsistentHashBalancer.from({ random: () => 0 });
    balancer.update(instances(4));
    expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i2');
    expect(balancer.pick()?.id).toBe('i3');
    expect(balancer.pick({ exclude: new Set(['i0', 'i1', 'i2', 'i3']) })).toBeUndefined();
  });

  it('with scaleByWeight gives at least 1 point and at most 100 × virtualNodes', () => {
    const balancer = ConsistentHashBalancer.from({ scaleByWeight: true, virtualNodes: 10 });
    balancer.update([instance('tiny', 0.001), instance('huge', 1e6), instance('half', 0.25)]);
    expect(balancer.ringSizes()).toEqual(
      new Map([
        ['half', 3],
        ['huge', 1000],
        ['tiny', 1],
      ]),
    );
    const plain = ring([instance('heavy', 5), instance('light', 1)], 10);
    expect(plain.ringSizes()).toEqual(
      new Map([
        ['heavy', 10],
        ['light', 10],
      ]),
    );
  });

  it.each<[object, string]>([
    [{ virtualNodes: 0 }, 'balancerOptions.virtualNodes'],
    [{ virtualNodes: 10_001 }, 'balancerOptions.virtualNodes'],
    [{ virtualNodes: 1.5 }, 'balancerOptions.virtualNodes'],
    [{ scaleByWeight: 'yes' }, 'balancerOptions.scaleByWeight'],
  ])('rejects %j naming %s', (options, path) => {
    expect(() => ConsistentHashBalancer.from(options as never)).toThrow(ConfigError);
    expect(() => ConsistentHashBalancer.from(options as never)).toThrow(path);
  });

  it('accepts the bounds of virtualNodes', () => {
    expect(ring(instances(2), 1).ringSizes().get('i0')).toBe(1);
    expect(ring(instances(2), 10_000).ringSizes().get('i0')).toBe(10_000);
    expect(ring(instances(2)).ringSizes().get('i0')).toBe(100);
  });

  it('gives two instances with the same service id on different nodes their own ring points', () => {
    const balancer = ring([
      instance('n1/web', 1, { node: 'n1', serviceId: 'web' }),
      instance('n2/web', 1, { node: 'n2', serviceId: 'web' }),
    ]);
    const nodes = new Set(KEYS.slice(0, 1000).map((key) => balancer.pick({ key })!.node));
    expect(nodes).toEqual(new Set(['n1', 'n2']));
  });

  it('gives a key that hashes exactly onto a ring point to that point’s owner', () => {
    // The key `${id}#${r}` hashes to the very spot of point r of `id`: "at or after" is "at".
    const list = instances(8);
    const balancer = ring(list, 20);
    for (const { id } of list) {
      for (let r = 0; r < 20; r++) expect(balancer.pick({ key: `${id}#${r}` })?.id).toBe(id);
    }
  });

  it('gives up the ring walk after 256 points and takes the next allowed id after the owner', () => {
    // 10 excluded instances own 100 points each and the two allowed ones 1 point each, so many
    // walks pass 256 excluded points without meeting an allowed one.
    const allowed = new Set(['i3', 'i7']);
    const list = instances(12).map((i) => (allowed.has(i.id) ? { ...i, weight: 0.01 } : i));
    const balancer = ConsistentHashBalancer.from({ scaleByWeight: true });
    balancer.update(list);
    const ids = list.map((i) => i.id).sort();
    const points = ids
      .flatMap((id) => {
        const count = allowed.has(id) ? 1 : 100;
        return Array.from({ length: count }, (_, r) => ({ hash: hashString(`${id}#${r}`), id }));
      })
      .sort((a, b) => a.hash - b.hash || ids.indexOf(a.id) - ids.indexOf(b.id));
    const exclude = new Set(ids.filter((id) => !allowed.has(id)));
    let gaveUp = 0;
    let ringNextDiffers = 0;
    for (const key of KEYS.slice(0, 2000)) {
      const hash = hashString(key);
      const start = Math.max(
        points.findIndex((point) => point.hash >= hash),
        0,
      );
      const walk = Array.from(
        { length: 256 },
        (_, step) => points[(start + step) % points.length]!,
      );
      const onRing = walk.find((point) => allowed.has(point.id));
      let expected: string;
      if (onRing !== undefined) {
        expected = onRing.id;
      } else {
        gaveUp++;
        const owner = ids.indexOf(walk[0]!.id);
        expected = [...ids.slice(owner + 1), ...ids].find((id) => allowed.has(id))!;
        const ringNext = points
          .slice(start)
          .concat(points)
          .find((p) => allowed.has(p.id))!;
        if (ringNext.id !== expected) ringNextDiffers++;
      }
      expect(balancer.pick({ key, exclude })?.id).toBe(expected);
    }
    expect(gaveUp).toBeGreaterThan(100);
    expect(ringNextDiffers).toBeGreaterThan(10);
  });

  it('rejects more instances than a ring entry can number (2^21)', () => {
    const balancer = ConsistentHashBalancer.from({ virtualNodes: 1 });
    const many = new Array<ServiceInstance>(2 ** 21).fill(instance('same'));
    expect(() => balancer.update(many)).toThrow(new RangeError('too many instances: 2097152'));
  });

  it('draws where the key-less rotation starts from the first non-empty list only', () => {
    // An empty list takes no draw: the first one (0.5) still picks the start among four.
    const balancer = ConsistentHashBalancer.from({ random: cycle(0.5, 0) });
    balancer.update([]);
    balancer.update(instances(4));
    expect(pickIds(balancer, 2)).toEqual(['i2', 'i3']);
  });
});
