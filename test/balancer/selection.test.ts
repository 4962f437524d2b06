import {
  nextAllowedIndex,
  randomAllowedIndex,
  randomIndex,
  weightedAllowedIndex,
} from '../../src/balancer/selection';
import { instances, mulberry32 } from './helpers';

const list = instances(5); // i0..i4

describe('randomIndex', () => {
  it.each<[number, number]>([
    [0, 0],
    [0.19, 0],
    [0.2, 1],
    [0.59, 2],
    [0.99, 4],
  ])('maps the draw %d to index %i of 5', (draw, index) => {
    expect(randomIndex(() => draw, 5)).toBe(index);
  });

  it.each<[string, number, number]>([
    ['exactly 1', 1, 4],
    ['above 1', 1.7, 4],
    ['negative', -0.3, 0],
    ['NaN', Number.NaN, 0],
  ])('stays in range for a custom source returning %s', (_label, draw, index) => {
    expect(randomIndex(() => draw, 5)).toBe(index);
  });
});

describe('nextAllowedIndex', () => {
  it('takes the first allowed index at or after the start, wrapping around', () => {
    const exclude = new Set(['i1', 'i2']);
    expect(nextAllowedIndex(list, 0, exclude)).toBe(0);
    expect(nextAllowedIndex(list, 1, exclude)).toBe(3);
    expect(nextAllowedIndex(list, 4, new Set(['i4']))).toBe(0);
    expect(nextAllowedIndex(list, 3, new Set(['i3', 'i4', 'i0']))).toBe(1);
  });

  it('is -1 when every instance is excluded, and for an empty list', () => {
    expect(nextAllowedIndex(list, 2, new Set(list.map((i) => i.id)))).toBe(-1);
    expect(nextAllowedIndex([], 0, new Set())).toBe(-1);
  });
});

describe('randomAllowedIndex', () => {
  it('maps the draws in turn onto the allowed instances only', () => {
    const exclude = new Set(['i0', 'i2']); // allowed: i1, i3, i4
    expect(randomAllowedIndex(list, exclude, () => 0)).toBe(1);
    expect(randomAllowedIndex(list, exclude, () => 0.34)).toBe(3);
    expect(randomAllowedIndex(list, exclude, () => 0.99)).toBe(4);
    expect(randomAllowedIndex(list, exclude, () => 1)).toBe(4);
  });

  it('is uniform over the allowed instances', () => {
    const random = mulberry32(21);
    const exclude = new Set(['i1', 'i3']);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[randomAllowedIndex(list, exclude, random)]!++;
    expect(counts[1]).toBe(0);
    expect(counts[3]).toBe(0);
    for (const index of [0, 2, 4]) expect(Math.abs(counts[index]! - 10_000)).toBeLessThan(400);
  });

  it('is -1 when nothing is allowed', () => {
    expect(randomAllowedIndex(list, new Set(list.map((i) => i.id)), () => 0.5)).toBe(-1);
  });
});

describe('weightedAllowedIndex', () => {
  const weights = [1, 2, 0, 3, 4];

  it('draws in proportion to the weights of the allowed instances', () => {
    const random = mulberry32(8);
    const exclude = new Set(['i4']); // allowed weights 1, 2, 0, 3: total 6
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) {
      counts[weightedAllowedIndex(list, weights, exclude, random)]!++;
    }
    expect(counts[2]).toBe(0);
    expect(counts[4]).toBe(0);
    expect(Math.abs(counts[0]! - 10_000)).toBeLessThan(500);
    expect(Math.abs(counts[1]! - 20_000)).toBeLessThan(600);
    expect(Math.abs(counts[3]! - 30_000)).toBeLessThan(600);
  });

  it('maps the draw onto cumulative weights, skipping excluded ones', () => {
    const exclude = new Set(['i1']); // allowed weights 1, 0, 3, 4: total 8
    expect(weightedAllowedIndex(list, weights, exclude, () => 0)).toBe(0);
    expect(weightedAllowedIndex(list, weights, exclude, () => 0.124)).toBe(0);
    expect(weightedAllowedIndex(list, weights, exclude, () => 0.125)).toBe(3);
    expect(weightedAllowedIndex(list, weights, exclude, () => 0.49)).toBe(3);
    expect(weightedAllowedIndex(list, weights, exclude, () => 0.5)).toBe(4);
  });

  it('gives a draw at the very top to the last allowed instance with a weight', () => {
    const exclude = new Set(['i4']);
    expect(weightedAllowedIndex(list, weights, exclude, () => 1)).toBe(3);
    expect(weightedAllowedIndex(list, [1, 1, 1, 1, 0], new Set(), () => 1)).toBe(3);
  });

  it('is -1 when no allowed instance has a weight', () => {
    expect(weightedAllowedIndex(list, weights, new Set(['i0', 'i1', 'i3', 'i4']), () => 0)).toBe(
      -1,
    );
    expect(weightedAllowedIndex(list, [0, 0, 0, 0, 0], new Set(), () => 0)).toBe(-1);
    expect(weightedAllowedIndex(list, weights, new Set(list.map((i) => i.id)), () => 0)).toBe(-1);
  });
});
