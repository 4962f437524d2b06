import { eligibleSorted, isEligible, lowerBound } from '../../src/balancer/candidates';
import { RoundRobinBalancer } from '../../src/balancer/round-robin';
import type { ServiceInstance } from '../../src/watch/service-instance';
import { instance, pickIds } from './helpers';

/** The identity a rotation visits: id, node, address and port. */
const identity = (i: ServiceInstance): string => `${i.id}@${i.node}/${i.address}:${i.port}`;

/** Every permutation of `list` (small lists only). */
function permutations<T>(list: readonly T[]): T[][] {
  if (list.length <= 1) return [[...list]];
  return list.flatMap((head, i) =>
    permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [head, ...rest]),
  );
}

describe('the candidate order every client shares', () => {
  // Same service id registered on several agents: ids are unique per agent only, so node, then
  // address, then port decide the order, and every client must decide it the same way.
  const twins = [
    instance('web', 1, { node: 'n2', address: '10.0.0.1', port: 80 }),
    instance('web', 1, { node: 'n1', address: '10.0.0.2', port: 80 }),
    instance('web', 1, { node: 'n1', address: '10.0.0.1', port: 81 }),
    instance('web', 1, { node: 'n1', address: '10.0.0.1', port: 80 }),
    instance('api', 1, { node: 'n3', address: '10.0.0.9', port: 99 }),
  ];
  const expected = [
    'api@n3/10.0.0.9:99',
    'web@n1/10.0.0.1:80',
    'web@n1/10.0.0.1:81',
    'web@n1/10.0.0.2:80',
    'web@n2/10.0.0.1:80',
  ];

  it('sorts by id, then node, address and port, whatever order Consul listed them in', () => {
    for (const order of permutations(twins)) {
      expect(eligibleSorted(order).map(identity)).toEqual(expected);
    }
  });

  it('makes two round-robin clients fed different orders take the same turns', () => {
    const a = RoundRobinBalancer.from({ random: () => 0 });
    const b = RoundRobinBalancer.from({ random: () => 0 });
    a.update(twins);
    b.update([...twins].reverse());
    const turns = (balancer: RoundRobinBalancer): string[] =>
      Array.from({ length: 10 }, () => identity(balancer.pick()!));
    expect(turns(a)).toEqual([...expected, ...expected]);
    expect(turns(b)).toEqual([...expected, ...expected]);
  });

  it('orders ids by code unit, not by locale (upper case before lower case)', () => {
    const list = [instance('b'), instance('a'), instance('B'), instance('A')];
    expect(eligibleSorted(list).map((i) => i.id)).toEqual(['A', 'B', 'a', 'b']);
  });

  it('returns an already sorted list unchanged and leaves the caller’s array alone', () => {
    const sorted = [instance('a'), instance('b'), instance('c')];
    expect(eligibleSorted(sorted).map((i) => i.id)).toEqual(['a', 'b', 'c']);
    const unsorted = [instance('c'), instance('a'), instance('b')];
    expect(eligibleSorted(unsorted).map((i) => i.id)).toEqual(['a', 'b', 'c']);
    expect(unsorted.map((i) => i.id)).toEqual(['c', 'a', 'b']);
  });

  it('sorts a list whose only misplaced pair is at the end', () => {
    const list = [instance('a'), instance('b'), instance('d'), instance('c')];
    expect(eligibleSorted(list).map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('which instances may receive traffic', () => {
  it.each<[string, number, boolean]>([
    ['weight 1', 1, true],
    ['a fractional weight', 0.01, true],
    ['a large weight', 1e9, true],
    ['weight 0 (Consul: send nothing)', 0, false],
    ['a negative weight', -1, false],
    ['a NaN weight', Number.NaN, false],
    ['an infinite weight', Infinity, false],
  ])('%s: %p', (_label, weight, eligible) => {
    expect(isEligible(instance('x', weight))).toBe(eligible);
  });

  it('leaves ineligible instances out of the rotation', () => {
    const balancer = RoundRobinBalancer.from({ random: () => 0 });
    balancer.update([
      instance('a'),
      instance('inf', Infinity),
      instance('neg', -5),
      instance('b', 2),
    ]);
    expect(pickIds(balancer, 4)).toEqual(['a', 'b', 'a', 'b']);
  });
});

describe('lowerBound (where a rotation resumes after a change)', () => {
  const list = eligibleSorted(['b', 'd', 'f', 'h', 'j'].map((id) => instance(id)));

  it.each<[string, number]>([
    ['a', 0],
    ['b', 0],
    ['c', 1],
    ['d', 1],
    ['e', 2],
    ['h', 3],
    ['i', 4],
    ['j', 4],
    ['k', 5],
  ])('%s resumes at index %i', (id, index) => {
    expect(lowerBound(list, instance(id))).toBe(index);
  });

  it('is 0 on an empty list', () => {
    expect(lowerBound([], instance('a'))).toBe(0);
  });
});
