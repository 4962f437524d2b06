import type { ChainSplit } from '../../src/traffic/discovery-chain';
import { chooseSplit, splitForKey } from '../../src/traffic/split';
import { mulberry32 } from '../support/seeded-random';

const split = (weight: number, nextNode: string): ChainSplit => ({
  weight,
  nextNode,
  service: undefined,
  serviceSubset: undefined,
  requestHeaders: undefined,
  responseHeaders: undefined,
});

const ninetyTen = [split(90, 'v1'), split(10, 'v2')];

describe('chooseSplit', () => {
  it('maps the random draw onto cumulative weights', () => {
    expect(chooseSplit(ninetyTen, () => 0)!.nextNode).toBe('v1');
    expect(chooseSplit(ninetyTen, () => 0.8999)!.nextNode).toBe('v1');
    expect(chooseSplit(ninetyTen, () => 0.9)!.nextNode).toBe('v2');
    expect(chooseSplit(ninetyTen, () => 0.99999)!.nextNode).toBe('v2');
  });

  it('follows the weights over many draws (90/10 within a percent over 100 000 seeded draws)', () => {
    const random = mulberry32(7);
    let v2 = 0;
    for (let i = 0; i < 100_000; i++) if (chooseSplit(ninetyTen, random)!.nextNode === 'v2') v2++;
    expect(v2 / 100_000).toBeGreaterThan(0.09);
    expect(v2 / 100_000).toBeLessThan(0.11);
  });

  it('never picks a zero-weight split, honours 0.01 % weights, and stays in range on a bad random', () => {
    const splits = [split(0, 'never'), split(99.99, 'most'), split(0.01, 'rare')];
    expect(chooseSplit(splits, () => 0)!.nextNode).toBe('most');
    expect(chooseSplit(splits, () => 0.9999)!.nextNode).toBe('rare');
    expect(chooseSplit(splits, () => 1)!.nextNode).toBe('rare');
    expect(chooseSplit(splits, () => Number.NaN)!.nextNode).toBe('most');
    expect(chooseSplit([split(0, 'a')], () => 0.5)).toBeUndefined();
  });
});

describe('splitForKey', () => {
  it('is deterministic per key and follows the weights across keys', () => {
    expect(splitForKey(ninetyTen, 'user-42')).toBe(splitForKey(ninetyTen, 'user-42'));
    let v2 = 0;
    for (let i = 0; i < 20_000; i++)
      if (splitForKey(ninetyTen, `user-${i}`)!.nextNode === 'v2') v2++;
    expect(v2 / 20_000).toBeGreaterThan(0.08);
    expect(v2 / 20_000).toBeLessThan(0.12);
  });

  it('moving weight between two splits moves only the keys in the moved share', () => {
    const after = [split(80, 'v1'), split(20, 'v2')];
    let moved = 0;
    for (let i = 0; i < 20_000; i++) {
      const before = splitForKey(ninetyTen, `k${i}`)!.nextNode;
      const now = splitForKey(after, `k${i}`)!.nextNode;
      if (before !== now) {
        expect([before, now]).toEqual(['v1', 'v2']);
        moved++;
      }
    }
    expect(moved / 20_000).toBeGreaterThan(0.08);
    expect(moved / 20_000).toBeLessThan(0.12);
  });
});
