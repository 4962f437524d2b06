import { AliasTable } from '../../src/balancer/alias-table';

/** Samples at `draws` evenly spaced points of [0, 1): exact proportions up to one column each. */
function stratifiedCounts(table: AliasTable, draws: number): number[] {
  const counts = new Array<number>(table.size).fill(0);
  for (let k = 0; k < draws; k++) counts[table.sample((k + 0.5) / draws)]!++;
  return counts;
}

describe('AliasTable', () => {
  it.each([[[1, 2, 3, 4]], [[10, 10, 1]], [[1, 0, 5]], [[1e300, 1e300, 5e299]], [[7]]])(
    'samples each index in proportion to its weight: %j',
    (weights) => {
      const table = new AliasTable(weights.length);
      table.load(weights);
      const draws = 100_000;
      const counts = stratifiedCounts(table, draws);
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((weight, i) => {
        // Stratified draws leave at most about one draw of error per column.
        expect(Math.abs(counts[i]! - (draws * weight) / total)).toBeLessThanOrEqual(weights.length);
      });
    },
  );

  it('can be reloaded with new weights', () => {
    const table = new AliasTable(2);
    table.load([1, 0]);
    expect(stratifiedCounts(table, 100)).toEqual([100, 0]);
    table.load([0, 1]);
    expect(stratifiedCounts(table, 100)).toEqual([0, 100]);
  });

  it('keeps a draw of exactly 1 in range', () => {
    const table = new AliasTable(3);
    table.load([1, 1, 1]);
    expect(table.sample(1)).toBeLessThan(3);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5])(
    'keeps a broken draw (%p) in range',
    (draw) => {
      const table = new AliasTable(3);
      table.load([1, 2, 3]);
      const index = table.sample(draw);
      expect(Number.isInteger(index)).toBe(true);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(index).toBeLessThan(3);
    },
  );

  it('rejects weights it cannot sample from', () => {
    const table = new AliasTable(2);
    expect(() => table.load([0, 0])).toThrow(RangeError);
    expect(() => table.load([1, -1])).toThrow(RangeError);
    expect(() => table.load([1, Number.NaN])).toThrow(RangeError);
    expect(() => table.load([1])).toThrow(RangeError);
  });
});
