/**
 * Leading-edge spacing of a watch's queries, so that a churning service cannot turn the blocking
 * loop into a busy poll while a lone change is still seen at once.
 *
 * A blocking query that Consul answers quickly is what costs: each quick answer is followed by
 * another query that is likely to return quickly too. The first answer after a quiet period (no
 * answer for `intervalMs`) is followed by the next query at once, so the next change is caught
 * without delay; an answer that comes within `intervalMs` of the previous one is part of a burst,
 * and the query after it starts `intervalMs` after the previous query started. A sustained burst
 * therefore costs one query per interval, plus the one that opened it.
 *
 * Pure: the caller passes the times (ms, any clock), so it needs no timers to test.
 */
export class UpdateRateLimit {
  /**
   * Start of the quiet period that the next answer is judged against: the last answer, or, when
   * that answer was part of a burst, the start of the held query that follows it (so an answer
   * from a held query is not mistaken for the end of a quiet period).
   */
  private quietSince = Number.NEGATIVE_INFINITY;

  /** `intervalMs`: least time between two queries in a burst, in ms; 0 disables the limit. */
  constructor(private readonly intervalMs: number) {}

  /**
   * Records an answer that came at `answeredAt` to the query started at `startedAt`, and returns
   * how long to wait before the next query, in ms (0: at once).
   */
  pauseAfterAnswer(startedAt: number, answeredAt: number): number {
    if (this.intervalMs <= 0) return 0;
    if (answeredAt - this.quietSince >= this.intervalMs) {
      this.quietSince = answeredAt;
      return 0;
    }
    const nextStart = Math.max(answeredAt, startedAt + this.intervalMs);
    this.quietSince = nextStart;
    return nextStart - answeredAt;
  }
}
