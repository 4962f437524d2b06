/** One watched service as the slot planner sees it. */
export interface SlotCandidate {
  readonly key: string;
  /** Calls per second lately (an EWMA of the usage counter's growth). */
  readonly rate: number;
  /** Whether it holds a blocking slot now. */
  readonly slotted: boolean;
  /** When it last gained or lost a slot, in ms (any clock); undefined if never. */
  readonly movedAt: number | undefined;
}

/** Hysteresis of {@link planSlots}. */
export interface SlotPlanRules {
  /** Least time a service keeps a slot, or stays without one, before it may move, in ms. */
  readonly dwellMs: number;
  /** A service without a slot takes one from a slotted one only if its rate is this many times higher. */
  readonly ratio: number;
  /** ... and higher by at least this many calls per second. */
  readonly minGapPerSecond: number;
}

/** Default hysteresis: 30 s dwell, a 1.5x and +1/s better rate to take a slot. */
export const DEFAULT_SLOT_RULES: SlotPlanRules = Object.freeze({
  dwellMs: 30_000,
  ratio: 1.5,
  minGapPerSecond: 1,
});

/** The moves that {@link planSlots} decided. */
export interface SlotPlan {
  readonly promote: readonly string[];
  readonly demote: readonly string[];
}

function settled(candidate: SlotCandidate, now: number, dwellMs: number): boolean {
  return candidate.movedAt === undefined || now - candidate.movedAt >= dwellMs;
}

function byRate(a: SlotCandidate, b: SlotCandidate): number {
  return b.rate - a.rate || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Which services gain and lose blocking slots, so that the `capacity` slots go to the services
 * called most. Pure (`now` passed in). Free slots are filled at once (most called first); more
 * slotted services than capacity (the budget shrank) demote the least called at once; otherwise
 * a swap needs both services settled (dwell) and a clearly higher rate (ratio and gap), so that
 * two services of about the same use do not trade the slot back and forth.
 */
export function planSlots(
  candidates: readonly SlotCandidate[],
  capacity: number,
  now: number,
  rules: SlotPlanRules = DEFAULT_SLOT_RULES,
): SlotPlan {
  const slotted = candidates.filter((c) => c.slotted).sort(byRate);
  const waiting = candidates.filter((c) => !c.slotted).sort(byRate);
  const promote: string[] = [];
  const demote: string[] = [];
  const limit = Math.max(0, capacity);
  // Over capacity: the least called give their slot back, whatever their dwell.
  while (slotted.length > limit) demote.push(slotted.pop()!.key);
  // Free slots: the most called waiting services take them.
  while (slotted.length + promote.length < limit && waiting.length > 0) {
    promote.push(waiting.shift()!.key);
  }
  // Swaps, best waiting against worst slotted, while clearly better.
  let low = slotted.length - 1;
  for (const candidate of waiting) {
    if (!settled(candidate, now, rules.dwellMs)) continue;
    while (low >= 0 && !settled(slotted[low]!, now, rules.dwellMs)) low -= 1;
    if (low < 0) break;
    const incumbent = slotted[low]!;
    const better =
      candidate.rate >= incumbent.rate * rules.ratio &&
      candidate.rate - incumbent.rate >= rules.minGapPerSecond;
    if (!better) break;
    promote.push(candidate.key);
    demote.push(incumbent.key);
    low -= 1;
  }
  return { promote, demote };
}
