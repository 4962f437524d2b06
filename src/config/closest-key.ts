/**
 * Edit distance between `a` and `b` where inserting, deleting or replacing a character, or
 * swapping two adjacent ones, each costs 1 (optimal string alignment): `nmae` is 1 from `name`.
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: distance between the first i characters of a and the first j of b.
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known key a misspelt `key` most likely meant, or undefined when none is close. Rule:
 * compared ignoring case, the smallest {@link editDistance} wins (the first listed on a tie), and
 * it may be at most `floor((n + 1) / 4)` where n is the length of the longer of the two: one edit
 * for 3 to 6 characters, two for 7 to 10, and so on; 1-2 character keys match only ignoring case.
 * So `nmae` → `name`, `timeotMs` → `timeoutMs`, `drainTimeotMs` → `drainTimeoutMs`, but `ip` does
 * not suggest `id`.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    const allowed = Math.floor((Math.max(key.length, candidate.length) + 1) / 4);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
