/**
 * Vose's alias method over `size` weights: O(n) `load`, O(1) `sample` from a single uniform draw.
 * The buffers are allocated once per size, so reloading new weights (slow-start ramp) allocates
 * nothing.
 */
export class AliasTable {
  /** Number of outcomes; `sample` returns an index in [0, size). */
  readonly size: number;
  /** Chance of keeping column i rather than taking its alias, in [0, 1]. */
  private readonly keep: Float64Array;
  private readonly alias: Int32Array;
  // Scratch space for load(): scaled weights and the two work stacks.
  private readonly scaled: Float64Array;
  private readonly small: Int32Array;
  private readonly large: Int32Array;

  constructor(size: number) {
    this.size = size;
    this.keep = new Float64Array(size);
    this.alias = new Int32Array(size);
    this.scaled = new Float64Array(size);
    this.small = new Int32Array(size);
    this.large = new Int32Array(size);
  }

  /**
   * Rebuilds the table for `weights` (length `size`, each finite and >= 0, at least one > 0).
   * Throws RangeError otherwise, since sampling a table without mass would be meaningless.
   */
  load(weights: ArrayLike<number>): void {
    const n = this.size;
    if (weights.length !== n) throw new RangeError(`expected ${n} weights, got ${weights.length}`);
    if (n === 0) return;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const weight = weights[i]!;
      if (!(weight >= 0 && weight < Infinity)) throw new RangeError(`bad weight ${weight}`);
      if (weight > max) max = weight;
    }
    if (max === 0) throw new RangeError('all weights are 0');
    // Dividing by the largest weight first keeps the sum finite even for huge weights.
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]! / max;
    const { keep, alias, scaled, small, large } = this;
    let smallCount = 0;
    let largeCount = 0;
    for (let i = 0; i < n; i++) {
      // Mean 1: a column with scaled < 1 needs topping up from some column with scaled > 1.
      const value = ((weights[i]! / max) * n) / total;
      scaled[i] = value;
      if (value < 1) small[smallCount++] = i;
      else large[largeCount++] = i;
    }
    while (smallCount > 0 && largeCount > 0) {
      const poor = small[--smallCount]!;
      const rich = large[--largeCount]!;
      keep[poor] = scaled[poor]!;
      alias[poor] = rich;
      const left = scaled[rich]! + scaled[poor]! - 1;
      scaled[rich] = left;
      if (left < 1) small[smallCount++] = rich;
      else large[largeCount++] = rich;
    }
    // Whatever remains is 1 up to rounding error, so it keeps its whole column.
    while (largeCount > 0) {
      const i = large[--largeCount]!;
      keep[i] = 1;
      alias[i] = i;
    }
    while (smallCount > 0) {
      const i = small[--smallCount]!;
      keep[i] = 1;
      alias[i] = i;
    }
  }

  /**
   * Index drawn with probability weight/total from one `uniform` in [0, 1): its integer part
   * (times size) picks the column and its fractional part decides keep-or-alias.
   */
  sample(uniform: number): number {
    const n = this.size;
    const scaled = uniform * n;
    let column = Math.floor(scaled);
    if (column >= n) column = n - 1;
    // `!(>= 0)` also catches NaN: a broken random source must not index outside the table.
    else if (!(column >= 0)) column = 0;
    return scaled - column < this.keep[column]! ? column : this.alias[column]!;
  }
}
