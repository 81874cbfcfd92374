// Wall-clock arithmetic in one IANA time zone, as Go's `time` package does it, for the port of
// KEDA's cron rule (keda-schedule.ts). Instants are epoch milliseconds; offsets come from Intl
// and are memoised per day of the timeline, so walking a year costs about 730 Intl calls.
// One instance per search: the memo is the caller's, never the module's.

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The wall clock of an instant in the zone (Go's Year(), Month(), Day(), …, Weekday()). */
export interface Wall {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  /** 1–31 */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday, as Go's time.Weekday */
  readonly weekday: number;
}

/** One UTC day of the timeline: its offset, and where a transition inside it switches to another. */
interface DayOffsets {
  readonly before: number;
  readonly after: number;
  readonly switchAt: number;
}

export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, DayOffsets>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** ms to add to the instant to read its wall clock as UTC (Berlin in summer: +7,200,000). */
  offset(instant: number): number {
    const day = Math.floor(instant / DAY_MS);
    let entry = this.days.get(day);
    if (entry === undefined) {
      entry = this.dayOffsets(day * DAY_MS);
      this.days.set(day, entry);
    }
    return instant < entry.switchAt ? entry.before : entry.after;
  }

  wall(instant: number): Wall {
    const local = instant + this.offset(instant);
    const days = Math.floor(local / DAY_MS);
    const inDay = local - days * DAY_MS;
    const { year, month, day } = civilFromDays(days);
    return {
      year,
      month,
      day,
      hour: Math.floor(inDay / HOUR_MS),
      minute: Math.floor((inDay % HOUR_MS) / MINUTE_MS),
      second: Math.floor((inDay % MINUTE_MS) / 1000),
      weekday: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
    };
  }

  /**
   * Go's time.Date(year, month, day, hour, minute, second, 0, loc): fields out of range
   * normalise (month 13 is January of the next year); a wall time the zone skips or repeats gets
   * the offset in force at `local - offset(local)` (Go's lookup, then its one correction), so
   * Berlin's 02:30 on the spring-forward day is 03:30 CEST and New York's is 01:30 EST.
   */
  date(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
    const local = Date.UTC(year, month - 1, day, hour, minute, second);
    const guess = this.offset(local);
    const corrected = this.offset(local - guess);
    return local - corrected;
  }

  /** Go's t.AddDate(years, months, days): the wall fields moved, then time.Date. */
  addDate(instant: number, months: number, days: number): number {
    const w = this.wall(instant);
    return this.date(w.year, w.month + months, w.day + days, w.hour, w.minute, w.second);
  }

  private raw(instant: number): number {
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of this.format.formatToParts(instant)) {
      const n = Number(part.value);
      if (part.type === 'year') year = n;
      else if (part.type === 'month') month = n;
      else if (part.type === 'day') day = n;
      else if (part.type === 'hour') hour = n;
      else if (part.type === 'minute') minute = n;
      else if (part.type === 'second') second = n;
    }
    return Date.UTC(year, month - 1, day, hour, minute, second) - Math.floor(instant / 1000) * 1000;
  }

  /** Transitions fall on whole minutes, at most one a day: a binary search over minutes finds it. */
  private dayOffsets(start: number): DayOffsets {
    const before = this.raw(start);
    const after = this.raw(start + DAY_MS - MINUTE_MS);
    if (before === after) return { before, after, switchAt: Number.POSITIVE_INFINITY };
    let lo = 0; // raw(start + lo minutes) === before
    let hi = 1439; // raw(start + hi minutes) === after
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.raw(start + mid * MINUTE_MS) === before) lo = mid;
      else hi = mid;
    }
    return { before, after, switchAt: start + hi * MINUTE_MS };
  }
}

/** Howard Hinnant's days → civil date (proleptic Gregorian), day 0 = 1970-01-01. */
const civilFromDays = (days: number): { year: number; month: number; day: number } => {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
};
