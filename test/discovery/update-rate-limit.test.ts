import { UpdateRateLimit } from '../../src/discovery/update-rate-limit';

describe('UpdateRateLimit', () => {
  it('lets the first answer ever, and the first after a quiet period, go on at once', () => {
    const limit = new UpdateRateLimit(100);
    expect(limit.pauseAfterAnswer(0, 5)).toBe(0);
    // A blocking query answered 60 s later: a lone change.
    expect(limit.pauseAfterAnswer(5, 60_005)).toBe(0);
    // Exactly one interval after the last answer still counts as quiet.
    expect(limit.pauseAfterAnswer(60_005, 60_105)).toBe(0);
  });

  it('spaces a burst: the query after a quick answer starts one interval after the previous start', () => {
    const limit = new UpdateRateLimit(100);
    expect(limit.pauseAfterAnswer(0, 0)).toBe(0);
    expect(limit.pauseAfterAnswer(0, 30)).toBe(70);
    expect(limit.pauseAfterAnswer(100, 101)).toBe(99);
    // The held query's own answer, even when it comes a full interval after the answer before it,
    // is judged from the held start: still a burst.
    expect(limit.pauseAfterAnswer(200, 250)).toBe(50);
  });

  it('keeps a sustained burst to one query per interval', () => {
    const limit = new UpdateRateLimit(100);
    let clock = 0;
    const starts: number[] = [];
    for (let i = 0; i < 20; i++) {
      starts.push(clock);
      const answeredAt = clock + 1;
      clock = answeredAt + limit.pauseAfterAnswer(clock, answeredAt);
    }
    // The opening answer lets one extra query through; after that one per 100 ms.
    expect(starts.slice(0, 4)).toEqual([0, 1, 101, 201]);
    expect(starts.filter((start) => start < 1_000)).toHaveLength(11);
  });

  it('ends a burst once an answer comes a full interval after the held query started', () => {
    const limit = new UpdateRateLimit(100);
    limit.pauseAfterAnswer(0, 0);
    expect(limit.pauseAfterAnswer(0, 10)).toBe(90);
    // The held query started at 100 and blocked until 250: quiet again.
    expect(limit.pauseAfterAnswer(100, 250)).toBe(0);
  });

  it('never pauses with an interval of 0', () => {
    const limit = new UpdateRateLimit(0);
    for (let i = 0; i < 5; i++) expect(limit.pauseAfterAnswer(i, i)).toBe(0);
  });
});
