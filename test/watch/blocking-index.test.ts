import { contentEqual, decideIndex, instanceEqual } from '../../src/watch/blocking-index';
import { toServiceInstances } from '../../src/watch/to-service-instance';
import { healthEntry } from './fake-health-source';

describe('decideIndex', () => {
  it('adopts a rising index', () => {
    expect(decideIndex(0, 7)).toEqual({ outcome: 'advanced', nextIndex: 7 });
    expect(decideIndex(7, 12)).toEqual({ outcome: 'advanced', nextIndex: 12 });
  });

  it('keeps an unchanged index and reports no change', () => {
    expect(decideIndex(7, 7)).toEqual({ outcome: 'unchanged', nextIndex: 7 });
  });

  it('resets to 0 (a non-blocking read) when the index goes backwards', () => {
    expect(decideIndex(100, 12)).toEqual({ outcome: 'backwards', nextIndex: 0 });
    expect(decideIndex(2, 1)).toEqual({ outcome: 'backwards', nextIndex: 0 });
  });

  it('waits from index 1 when the index is missing, 0, negative or unusable (never an error)', () => {
    for (const answered of [undefined, 0, -3, 0.5, 1.5, Number.NaN, 2 ** 60]) {
      expect(decideIndex(7, answered)).toEqual({ outcome: 'belowOne', nextIndex: 1 });
    }
  });

  it('waits from index 1 on an index below 1 even before the first answer', () => {
    expect(decideIndex(0, 0)).toEqual({ outcome: 'belowOne', nextIndex: 1 });
  });

  it('judges an answer after a wait from 1 like any other', () => {
    expect(decideIndex(1, 9)).toEqual({ outcome: 'advanced', nextIndex: 9 });
    expect(decideIndex(1, 1)).toEqual({ outcome: 'unchanged', nextIndex: 1 });
  });
});

describe('contentEqual', () => {
  const list = (...entries: Parameters<typeof healthEntry>[]) =>
    toServiceInstances(entries.map((args) => healthEntry(...args)));

  it('is true for separately built lists with the same content', () => {
    const a = list(['a', { tags: ['x', 'y'], meta: { v: '1' } }], ['b']);
    const b = list(['b'], ['a', { tags: ['x', 'y'], meta: { v: '1' } }]);
    expect(a).not.toBe(b);
    expect(contentEqual(a, b)).toBe(true);
    expect(contentEqual([], [])).toBe(true);
  });

  it('sees every visible difference', () => {
    const base = list(['a', { tags: ['x'], meta: { v: '1' }, port: 1 }]);
    const variants = [
      list(),
      list(['a', { tags: ['x'], meta: { v: '1' }, port: 1 }], ['b']),
      list(['a', { tags: ['x'], meta: { v: '1' }, port: 2 }]),
      list(['a', { tags: ['y'], meta: { v: '1' }, port: 1 }]),
      list(['a', { tags: ['x', 'y'], meta: { v: '1' }, port: 1 }]),
      list(['a', { tags: ['x'], meta: { v: '2' }, port: 1 }]),
      list(['a', { tags: ['x'], meta: { w: '1' }, port: 1 }]),
      list(['a', { tags: ['x'], meta: { v: '1', w: '1' }, port: 1 }]),
      list(['a', { tags: ['x'], meta: { v: '1' }, port: 1, address: '10.0.0.9' }]),
      list(['a', { tags: ['x'], meta: { v: '1' }, port: 1, checks: ['passing', 'warning'] }]),
      list(['a', { tags: ['x'], meta: { v: '1' }, port: 1, weights: { Passing: 5, Warning: 1 } }]),
      list(['a2', { tags: ['x'], meta: { v: '1' }, port: 1 }]),
    ];
    for (const variant of variants) {
      expect(contentEqual(base, variant)).toBe(false);
      expect(contentEqual(variant, base)).toBe(false);
    }
  });

  it('compares single instances field by field', () => {
    const [a] = list(['a']);
    const [b] = list(['a']);
    expect(instanceEqual(a!, b!)).toBe(true);
  });
});
