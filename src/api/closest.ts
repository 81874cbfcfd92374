// "Did you mean": the known word closest to a misspelt one, by Damerau-Levenshtein distance
// (optimal string alignment: insert, delete, substitute, or swap two neighbours, each costing 1),
// compared case-insensitively so `LagThreshold` finds `lagThreshold`.

/**
 * d(i, j) = min(d(i-1, j) + 1, d(i, j-1) + 1, d(i-1, j-1) + [a_i != b_j],
 *               d(i-2, j-2) + 1 when a_i = b_(j-1) and a_(i-1) = b_j)
 */
export const editDistance = (a: string, b: string): number => {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
};

/**
 * The known word closest to `word`, when it is close enough to be a typo: at most a third of
 * the word's length away (at least 1, at most 3 edits). Ties go to the earlier known word.
 */
export const closestWord = (word: string, known: readonly string[]): string | undefined => {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
};

/** ` (did you mean "lagThreshold"?)`, or nothing when no known word is close. */
export const didYouMean = (word: string, known: readonly string[]): string => {
  const close = closestWord(word, known);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
};
