import fc from 'fast-check';
import { TokenBucket } from '../../src/watch/token-bucket';

describe('TokenBucket', () => {
  it('grants a burst at once, then one event per refill interval', () => {
    const bucket = new TokenBucket(2, 100);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(100);
    // The third event waited until 100, where it used the token earned back.
    expect(bucket.take(100)).toBe(100);
  });

  it('refills while quiet, never beyond the burst', () => {
    const bucket = new TokenBucket(2, 100);
    bucket.take(0);
    bucket.take(0);
    expect(bucket.take(10_000)).toBe(0);
    expect(bucket.take(10_010)).toBe(0);
    expect(bucket.take(10_020)).toBe(80);
  });

  it('refill 0 disables the limit', () => {
    const bucket = new TokenBucket(2, 0);
    for (let i = 0; i < 10; i++) expect(bucket.take(0)).toBe(0);
  });

  it('never lets more than burst + elapsed / refill events through, whatever the timing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
        (burst, refillMs, gaps) => {
          const bucket = new TokenBucket(burst, refillMs);
          // Each event arrives `gap` after the previous one started, and starts after its wait.
          let clock = 0;
          const starts: number[] = [];
          for (const gap of gaps) {
            clock += gap;
            clock += bucket.take(clock);
            starts.push(clock);
          }
          for (let i = 0; i < starts.length; i++) {
            for (let j = i; j < starts.length; j++) {
              const window = starts[j]! - starts[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor(window / refillMs) + 1);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
