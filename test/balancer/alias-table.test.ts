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
    expect(() => table.load([0, 0])).toThrow(new RangeError('all weights are 0'));
    expect(() => table.load([1, -1])).toThrow(new RangeError('bad weight -1'));
    expect(() => table.load([1, Number.NaN])).toThrow(new RangeError('bad weight NaN'));
    expect(() => table.load([1, Infinity])).toThrow(new RangeError('bad weight Infinity'));
    expect(() => table.load([1])).toThrow(new RangeError('expected 2 weights, got 1'));
    expect(() => table.load([1, 1, 1])).toThrow(new RangeError('expected 2 weights, got 3'));
  });

  it('accepts an empty weight list for a table of size 0', () => {
    const table = new AliasTable(0);
    expect(() => table.load([])).not.toThrow();
  });

  it('maps each draw to half-open intervals of [0, 1) sized by the weights', () => {
    // Weights 1 and 3: draws in [0, 0.25) take index 0 and draws in [0.25, 1) index 1.
    const table = new AliasTable(2);
    table.load([1, 3]);
    expect([0, 0.1, 0.2499].map((u) => table.sample(u))).toEqual([0, 0, 0]);
    expect([0.25, 0.5, 0.75, 0.999].map((u) => table.sample(u))).toEqual([1, 1, 1, 1]);
  });

  it('clamps a draw outside [0, 1) to the first or last column', () => {
    const table = new AliasTable(3);
    table.load([1, 1, 1]);
    expect(table.sample(1)).toBe(2);
    expect(table.sample(1.5)).toBe(2);
    expect(table.sample(-0.2)).toBe(0);
  });
});
