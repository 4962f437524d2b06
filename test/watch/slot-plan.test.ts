import fc from 'fast-check';
import { planSlots } from '../../src/watch/slot-plan';
import type { SlotCandidate } from '../../src/watch/slot-plan';

const c = (key: string, rate: number, slotted: boolean, movedAt?: number): SlotCandidate => ({
  key,
  rate,
  slotted,
  movedAt,
});

describe('planSlots', () => {
  it('fills free slots with the most called services first', () => {
    const plan = planSlots([c('a', 1, false), c('b', 9, false), c('c', 5, false)], 2, 0);
    expect(plan).toEqual({ promote: ['b', 'c'], demote: [] });
  });

  it('a shrunk budget demotes the least called at once, dwell or not', () => {
    const plan = planSlots([c('a', 1, true, 0), c('b', 9, true, 0), c('c', 5, true, 0)], 1, 10);
    expect([...plan.demote].sort()).toEqual(['a', 'c']);
    expect(plan.promote).toEqual([]);
  });

  it('swaps a clearly busier service in once both have dwelt', () => {
    const candidates = [c('idle', 0.1, true, 0), c('busy', 50, false, 0)];
    expect(planSlots(candidates, 1, 10_000)).toEqual({ promote: [], demote: [] });
    expect(planSlots(candidates, 1, 30_000)).toEqual({ promote: ['busy'], demote: ['idle'] });
  });

  it('hysteresis: close rates never swap', () => {
    const candidates = [c('a', 10, true), c('b', 14, false)];
    expect(planSlots(candidates, 1, 60_000)).toEqual({ promote: [], demote: [] });
    // A high ratio but a tiny gap does not swap either.
    expect(planSlots([c('a', 0.1, true), c('b', 0.5, false)], 1, 60_000).promote).toEqual([]);
  });

  it('never plans more slots than capacity, nor moves a service twice', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            rate: fc.double({ min: 0, max: 1000, noNaN: true }),
            slotted: fc.boolean(),
            movedAt: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 40 }),
        (raw, capacity) => {
          const candidates = raw.map((r, i) => ({ key: `s${i}`, ...r }));
          const plan = planSlots(candidates, capacity, 100_000);
          const slotted = new Set(candidates.filter((x) => x.slotted).map((x) => x.key));
          for (const key of plan.demote) expect(slotted.delete(key)).toBe(true);
          for (const key of plan.promote) {
            expect(slotted.has(key)).toBe(false);
            slotted.add(key);
          }
          const startSlotted = candidates.filter((x) => x.slotted).length;
          expect(slotted.size).toBe(
            Math.max(Math.min(capacity, candidates.length), Math.min(startSlotted, capacity)),
          );
          expect(slotted.size).toBeLessThanOrEqual(capacity);
        },
      ),
      { numRuns: 300 },
    );
  });
});
