import { checkAborted } from './suite';

/** Garbage left by one entrant is collected before the next one's round, not during it. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Runs `round` for every entrant: one discarded warm-up each, then `rounds` measured rounds in
 * which the entrants alternate in an order rotated every round, so none always runs on a hotter
 * or colder machine. Returns the measured results by entrant id (median them).
 */
export async function alternatingRounds<E extends { readonly id: string }, R>(
  entrants: readonly E[],
  rounds: number,
  round: (entrant: E, warmup: boolean) => Promise<R>,
  signal: AbortSignal,
  onRound?: (index: number, results: ReadonlyMap<string, R>) => void,
): Promise<Map<string, R[]>> {
  for (const entrant of entrants) {
    collectGarbage();
    await round(entrant, true);
    checkAborted(signal);
  }
  const measured = new Map<string, R[]>(entrants.map((e) => [e.id, []]));
  for (let r = 0; r < rounds; r++) {
    const order = entrants.map((_, i) => entrants[(i + r) % entrants.length]!);
    const these = new Map<string, R>();
    for (const entrant of order) {
      collectGarbage();
      const result = await round(entrant, false);
      checkAborted(signal);
      measured.get(entrant.id)!.push(result);
      these.set(entrant.id, result);
    }
    onRound?.(r, these);
  }
  return measured;
}
