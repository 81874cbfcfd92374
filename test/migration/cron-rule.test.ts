// KEDA's cron rule (a port of robfig/cron + cron_scaler.go) against ebb's, and the search for an
// instant where they disagree: the examples, robfig's DST behaviour, and properties over
// random realistic windows, time zones and instants (sampled, and minute by minute).
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { disagreement } from '../../scalers/cron/disagreement.ts';
import { type CronWindowSpec, kedaCronActive, kedaCronWindow } from '../../scalers/cron/keda-rule.ts';
import { kedaNext, parseKedaSchedule } from '../../scalers/cron/keda-schedule.ts';
import { cronWindow } from '../../scalers/cron/metric.ts';
import { ZoneClock } from '../../scalers/cron/zone.ts';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const DAY = 86_400_000;

const ebbActive = (spec: CronWindowSpec, t: number): boolean =>
  cronWindow({ ...spec, desiredReplicas: 1 }, new Date(t)).active;
const kedaActive = (spec: CronWindowSpec, t: number): boolean => {
  const window = kedaCronWindow(spec);
  if (!window.ok) throw new Error(window.error.message);
  return kedaCronActive(window.value, t);
};
const found = (spec: CronWindowSpec, from: number, horizon?: number) => {
  const result = disagreement(spec, from, horizon);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

describe("the issue's windows", () => {
  const from = at('2026-06-01T00:00:00Z'); // a Monday

  it('every minute until New Year: always active in ebb, never in KEDA', () => {
    const spec = { timezone: 'Etc/UTC', start: '* * * * *', end: '0 0 1 1 *' };
    expect(found(spec, from)).toEqual({ kind: 'differ', at: from, ebbActive: true, kedaActive: false });
    for (const t of [from, at('2026-09-09T12:34:56Z'), at('2026-12-31T23:58:30Z')]) {
      expect([ebbActive(spec, t), kedaActive(spec, t)]).toEqual([true, false]);
    }
  });

  it('weekday starts with daily ends: KEDA is active on Saturday noon, ebb is not', () => {
    const spec = { timezone: 'Europe/Berlin', start: '0 8 * * 1-5', end: '0 17 * * *' };
    const saturdayNoon = at('2026-06-06T10:00:00Z');
    expect([ebbActive(spec, saturdayNoon), kedaActive(spec, saturdayNoon)]).toEqual([false, true]);
    // The first such instant: Friday 17:00 in Berlin, when KEDA's next start (Monday) is after
    // its next end (Saturday 17:00).
    expect(found(spec, from)).toEqual({
      kind: 'differ',
      at: at('2026-06-05T15:00:00Z'),
      ebbActive: false,
      kedaActive: true,
    });
  });

  it('08:00–17:00 daily, and a window over midnight: no disagreement all year, DST included', () => {
    expect(found({ timezone: 'Europe/Berlin', start: '0 8 * * *', end: '0 17 * * *' }, from)).toEqual({
      kind: 'agree',
    });
    expect(found({ timezone: 'America/New_York', start: '0 22 * * *', end: '0 6 * * *' }, from)).toEqual({
      kind: 'agree',
    });
  });

  it('ties: ebb lets the end win, KEDA reads a start at its next end as active', () => {
    // At 08:00 on Monday both fire. ebb: closed (the end wins). KEDA, just before: its next start
    // and next end are both 08:00, so it is already active; at 08:00 itself the next start
    // (Tuesday 08:00) is before the next end (a week later): closed.
    const spec = { timezone: 'Etc/UTC', start: '0 8 * * *', end: '0 8 * * 1' };
    const monday = at('2026-06-08T08:00:00Z');
    expect([ebbActive(spec, monday), kedaActive(spec, monday)]).toEqual([false, false]);
    expect(found(spec, monday, 2 * DAY)).toMatchObject({ at: monday + DAY, ebbActive: true }); // Tuesday 08:00
    expect(found(spec, monday - 60_000, 60_000)).toEqual({ kind: 'agree' });
  });

  it('a window that KEDA cannot parse is named, not searched', () => {
    expect(disagreement({ timezone: 'Etc/UTC', start: '0 8 * * 7', end: '0 9 * * *' }, from)).toEqual({
      ok: false,
      error: { field: 'start', message: 'end of range (7) above maximum (6): 7' },
    });
  });
});

describe("KEDA's schedules (robfig/cron v3)", () => {
  const next = (spec: string, timeZone: string, after: string): string | undefined => {
    const schedule = parseKedaSchedule(spec);
    if (!schedule.ok) throw new Error(schedule.error);
    const t = kedaNext(schedule.value, new ZoneClock(timeZone), at(after));
    return t === undefined ? undefined : iso(t);
  };

  it('is strictly after the instant, on whole minutes', () => {
    expect(next('0 8 * * *', 'Etc/UTC', '2026-06-01T08:00:00Z')).toBe('2026-06-02T08:00:00.000Z');
    expect(next('0 8 * * *', 'Etc/UTC', '2026-06-01T07:59:59.500Z')).toBe('2026-06-01T08:00:00.000Z');
    expect(next('*/15 * * * *', 'Asia/Kolkata', '2026-06-01T00:07:00Z')).toBe('2026-06-01T00:15:00.000Z');
  });

  it('skips a wall time the zone skips, and fires twice in a repeated hour', () => {
    // Berlin springs forward at 02:00 on 2026-03-29: 02:30 does not exist that day.
    expect(next('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z')).toBe('2026-03-30T00:30:00.000Z');
    // and falls back at 03:00 on 2026-10-25: 02:30 CEST, then 02:30 CET.
    expect(next('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    expect(next('30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z')).toBe('2026-10-25T01:30:00.000Z');
  });

  it("ORs day fields only when neither is a star; '*/2' is not a star", () => {
    // 1st of the month OR a Monday: 2026-06-01 is a Monday, the next match Monday the 8th.
    expect(next('0 0 1 * 1', 'Etc/UTC', '2026-06-01T12:00:00Z')).toBe('2026-06-08T00:00:00.000Z');
    // `*/2` days (odd days) OR a Monday.
    expect(next('0 0 */2 * 1', 'Etc/UTC', '2026-06-01T12:00:00Z')).toBe('2026-06-03T00:00:00.000Z');
    // `*` days AND Mondays.
    expect(next('0 0 * * 1', 'Etc/UTC', '2026-06-01T12:00:00Z')).toBe('2026-06-08T00:00:00.000Z');
  });

  it('refuses what robfig refuses, with its message', () => {
    expect(parseKedaSchedule('@daily')).toEqual({
      ok: false,
      error: 'parser does not accept descriptors: @daily',
    });
    expect(parseKedaSchedule('0 8 * *')).toEqual({
      ok: false,
      error: 'expected exactly 5 fields, found 4: [0 8 * *]',
    });
    expect(parseKedaSchedule('0 8-1 * * *')).toEqual({
      ok: false,
      error: 'beginning of range (8) beyond end of range (1): 8-1',
    });
    expect(parseKedaSchedule('0 8 * JAN-mar MON-fri').ok).toBe(true);
  });

  it('agrees with cron-parser away from DST on realistic expressions', () => {
    fc.assert(
      fc.property(
        expression,
        fc.integer({ min: 0, max: 365 * 4 }),
        fc.integer({ min: 0, max: 1439 }),
        (spec, d, m) => {
          const after = at('2025-01-01T00:00:00Z') + d * DAY + m * 60_000;
          const schedule = parseKedaSchedule(spec);
          if (!schedule.ok) throw new Error(schedule.error);
          const theirs = CronExpressionParser.parse(spec, {
            currentDate: new Date(after),
            tz: 'Etc/UTC',
          }).next();
          expect(kedaNext(schedule.value, new ZoneClock('Etc/UTC'), after)).toBe(theirs.getTime());
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---- realistic windows: fields people write, zones with and without DST ----

const minute = fc.constantFrom('0', '30', '*/15', '*', '0,30', '5-10', '45');
const hour = fc.constantFrom('*', '0', '2', '6', '8', '9-17', '17', '22', '*/6', '1-3');
const dom = fc.constantFrom('*', '*', '*', '1', '15', '1-7', '*/2');
const month = fc.constantFrom('*', '*', '*', '1', '3', '10', '*/3', '3-10');
const dow = fc.constantFrom('*', '*', '1-5', '0,6', '6', 'MON-FRI', '1');
// Day-of-month with day-of-week: cron-parser and robfig read `*/2` days differently (robfig
// ORs it with the weekday as a restriction), which is a disagreement in its own right; the
// expression generator that must agree with cron-parser keeps one of them a star.
const expression = fc
  .tuple(minute, hour, dom, month, dow)
  .map(([mi, h, d, mo, w]) => `${mi} ${h} ${d === '*/2' && w !== '*' ? '*' : d} ${mo} ${w}`);
const timezone = fc.constantFrom(
  'Etc/UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Sydney',
);
// Windows whose starts and ends often fall on the same minute, where the tie rules decide
// (ebb: the end wins; KEDA: a start at its next end reads as active).
const coinciding = fc
  .tuple(
    fc.constantFrom('0', '*/30'),
    fc.constantFrom('*', '8', '*/2', '8-10'),
    fc.constantFrom('*', '1-5', '1'),
  )
  .map(([mi, h, w]) => `${mi} ${h} * * ${w}`);
const window = fc
  .oneof(
    fc.record({ timezone, start: expression, end: expression }),
    fc.record({ timezone, start: coinciding, end: coinciding }),
  )
  .filter((w) => w.start.trim() !== w.end.trim());
// Instants from 2025 to 2030, often within a day of a DST change in Europe or the US.
const DST_DAYS = ['2026-03-08', '2026-03-29', '2026-10-25', '2026-11-01', '2026-04-05', '2026-10-04'].map(at);
const instant = fc.oneof(
  fc.integer({ min: at('2025-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }),
  fc.tuple(fc.constantFrom(...DST_DAYS), fc.integer({ min: -DAY, max: 2 * DAY })).map(([d, o]) => d + o),
);

describe('disagreement()', () => {
  it('names an instant iff the two rules differ at some sampled instant, and the named one differs', () => {
    fc.assert(
      fc.property(
        window,
        instant,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (spec, from, samples) => {
          const horizon = 21 * DAY;
          const result = found(spec, from, horizon);
          if (result.kind === 'undecided') throw new Error(`undecided for ${JSON.stringify(spec)}`);
          const firstDisagreeing = samples
            .map((s) => from + Math.floor(s * horizon))
            .filter((t) => ebbActive(spec, t) !== kedaActive(spec, t))
            .sort((a, b) => a - b)[0];
          if (result.kind === 'agree') {
            expect(firstDisagreeing, `${JSON.stringify(spec)} at ${firstDisagreeing}`).toBeUndefined();
            return;
          }
          expect(result.at).toBeGreaterThanOrEqual(from);
          expect(result.at).toBeLessThan(from + horizon);
          expect([ebbActive(spec, result.at), kedaActive(spec, result.at)]).toEqual([
            result.ebbActive,
            result.kedaActive,
          ]);
          expect(result.ebbActive).not.toBe(result.kedaActive);
          if (firstDisagreeing !== undefined) expect(result.at).toBeLessThanOrEqual(firstDisagreeing);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('matches a minute-by-minute comparison over a day', () => {
    fc.assert(
      fc.property(window, instant, (spec, start) => {
        const from = Math.floor(start / 60_000) * 60_000;
        const horizon = DAY / 4;
        const result = found(spec, from, horizon);
        let first: number | undefined;
        for (let t = from; t < from + horizon && first === undefined; t += 60_000) {
          if (ebbActive(spec, t) !== kedaActive(spec, t)) first = t;
        }
        expect(result.kind === 'differ' ? iso(result.at) : result.kind, JSON.stringify(spec)).toBe(
          first === undefined ? 'agree' : iso(first),
        );
      }),
      { numRuns: 12 },
    );
  }, 300_000);
});
