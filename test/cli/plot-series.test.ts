// The plot's downsampling (M4): what a pixel column shows is kept, whatever the series.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXACT_POINTS, type SeriesPoint, SeriesSampler } from '../../src/cli/plot-series.ts';

const COLUMNS = 50;

/** The pixel column of `t` on an axis ending at `endT`. */
const columnOf = (t: number, endT: number) => Math.min(COLUMNS - 1, Math.floor((t / endT) * COLUMNS));

const sample = (points: readonly SeriesPoint[], endT: number) => {
  const sampler = new SeriesSampler('s', points.length, endT, COLUMNS);
  for (const p of points) sampler.add(p.t, p.value);
  return sampler.series();
};

/** Increasing times from gaps, values with some failed reads. */
const seriesArbitrary = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 50 }),
      value: fc.option(fc.integer({ min: 0, max: 1000 }), { freq: 8, nil: undefined }),
    }),
    { minLength: EXACT_POINTS + 1, maxLength: EXACT_POINTS * 3 },
  )
  .map((rows) => {
    let t = 0;
    return rows.map(({ gap, value }) => {
      const point = { t, value };
      t += gap;
      return point;
    });
  });

describe('SeriesSampler', () => {
  it('keeps a series of up to EXACT_POINTS points as it is', () => {
    const points = Array.from({ length: EXACT_POINTS }, (_, i) => ({
      t: i,
      value: i % 7 === 0 ? undefined : i % 13,
    }));
    const series = sample(points, EXACT_POINTS);
    expect(series.points).toEqual(points);
    expect(series.sampledFrom).toBeUndefined();
    expect(series.max).toBe(12);
  });

  it('per pixel column keeps the first, last, lowest and highest value and the failed reads that matter, in order', () => {
    fc.assert(
      fc.property(seriesArbitrary, (points) => {
        const endT = Math.max(points.at(-1)?.t ?? 1, 1);
        const series = sample(points, endT);
        expect(series.sampledFrom).toBe(points.length);
        expect(series.points.length).toBeLessThanOrEqual(6 * COLUMNS);
        // a subsequence of what was fed
        let at = 0;
        for (const p of series.points) {
          while (at < points.length && (points[at]?.t !== p.t || points[at]?.value !== p.value)) at++;
          expect(at).toBeLessThan(points.length);
          at++;
        }
        for (let column = 0; column < COLUMNS; column++) {
          const fed = points.filter((p) => columnOf(p.t, endT) === column);
          const kept = series.points.filter((p) => columnOf(p.t, endT) === column);
          const values = fed.flatMap((p) => (p.value === undefined ? [] : [p.value]));
          const keptValues = kept.flatMap((p) => (p.value === undefined ? [] : [p.value]));
          if (values.length > 0) {
            expect(Math.min(...keptValues)).toBe(Math.min(...values));
            expect(Math.max(...keptValues)).toBe(Math.max(...values));
            expect(keptValues[0]).toBe(values[0]);
            expect(keptValues.at(-1)).toBe(values.at(-1));
          }
          // a failed read in the column is drawn; one that ends the column still ends it
          expect(kept.some((p) => p.value === undefined)).toBe(fed.some((p) => p.value === undefined));
          expect(kept.at(-1)).toEqual(fed.at(-1));
        }
        const all = points.flatMap((p) => (p.value === undefined ? [] : [p.value]));
        expect(series.max).toBe(Math.max(0, ...all));
      }),
      { numRuns: 60 },
    );
  });

  it('shows a one-point burst in a million points to its full height', () => {
    const sampler = new SeriesSampler('s', 1_000_000, 999_999, 900);
    for (let t = 0; t < 1_000_000; t++) sampler.add(t, t === 654_321 ? 900 : 5);
    const series = sampler.series();
    expect(series.points.filter((p) => p.value === 900)).toEqual([{ t: 654_321, value: 900 }]);
    expect(series.points.length).toBeLessThanOrEqual(4 * 900);
  });
});
