// KEDA's cron schedules: a port of robfig/cron v3.0.1 (MIT, github.com/robfig/cron), which KEDA
// 2.21 parses `start` and `end` with (`cron.NewParser(Minute | Hour | Dom | Month | Dow)`) and
// steps with `SpecSchedule.Next`. ebb's own windows use cron-parser (metric.ts); this port exists
// only to say where KEDA's verdict differs (disagreement.ts), so it follows robfig's rules, DST
// quirks included: a wall time the zone skips never fires, a repeated one fires twice.
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import type { ZoneClock } from './zone.ts';

/** One field's allowed values (index = value) and whether it was written `*` or `?`. */
interface Field {
  readonly allowed: readonly boolean[];
  readonly star: boolean;
}

export interface KedaSchedule {
  readonly minute: Field;
  readonly hour: Field;
  readonly dom: Field;
  readonly month: Field;
  readonly dow: Field;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MONTHS: Readonly<Bounds> = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const DOW: Readonly<Bounds> = {
  min: 0,
  max: 6,
  names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
};

/** Go's strconv.Atoi, then robfig's "negative number not allowed". */
const goUint = (text: string): number | undefined => (/^\+?\d{1,18}$/.test(text) ? Number(text) : undefined);

/** robfig's getRange: `*`, `?`, `N`, `N-M`, each with an optional `/step`; `N/step` runs to the max. */
const parseRange = (expr: string, r: Bounds, allowed: boolean[]): Result<boolean, string> => {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = (rangeAndStep[0] ?? '').split('-');
  const low = lowAndHigh[0] ?? '';
  const value = (text: string): number | undefined => r.names?.[text.toLowerCase()] ?? goUint(text);
  let start: number;
  let end: number;
  let star = false;
  if (low === '*' || low === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    const s = value(low);
    if (s === undefined) return fail(`failed to parse int from ${low}`);
    if (lowAndHigh.length > 2) return fail(`too many hyphens: ${expr}`);
    const e = lowAndHigh.length === 2 ? value(lowAndHigh[1] ?? '') : s;
    if (e === undefined) return fail(`failed to parse int from ${lowAndHigh[1]}`);
    start = s;
    end = e;
  }
  let step = 1;
  if (rangeAndStep.length > 2) return fail(`too many slashes: ${expr}`);
  if (rangeAndStep.length === 2) {
    const s = goUint(rangeAndStep[1] ?? '');
    if (s === undefined) return fail(`failed to parse int from ${rangeAndStep[1]}`);
    step = s;
    if (lowAndHigh.length === 1) end = r.max;
    if (step > 1) star = false; // `*/2` is not a star: it changes how days match (dayMatches)
  }
  if (start < r.min) return fail(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) return fail(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) return fail(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) return fail(`step of range should be a positive number: ${expr}`);
  for (let i = start; i <= end; i += step) allowed[i] = true;
  return ok(star);
};

const parseField = (field: string, r: Bounds): Result<Field, string> => {
  const allowed: boolean[] = [];
  let star = false;
  for (const expr of field.split(',').filter((e) => e !== '')) {
    const range = parseRange(expr, r, allowed);
    if (!range.ok) return range;
    star ||= range.value;
  }
  return ok({ allowed, star });
};

/** robfig's Parse with KEDA's options; the error is robfig's message (what KEDA reports). */
export const parseKedaSchedule = (spec: string): Result<KedaSchedule, string> => {
  const trimmed = spec.trim();
  if (trimmed.startsWith('@')) return fail(`parser does not accept descriptors: ${trimmed}`);
  if (/^(CRON_)?TZ=/.test(trimmed))
    return fail('a TZ= prefix is not supported here (use the timezone metadata)');
  const fields = trimmed.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5)
    return fail(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const m = parseField(minute, { min: 0, max: 59 });
  if (!m.ok) return m;
  const h = parseField(hour, { min: 0, max: 23 });
  if (!h.ok) return h;
  const d = parseField(dom, { min: 1, max: 31 });
  if (!d.ok) return d;
  const mo = parseField(month, MONTHS);
  if (!mo.ok) return mo;
  const w = parseField(dow, DOW);
  if (!w.ok) return w;
  return ok({ minute: m.value, hour: h.value, dom: d.value, month: mo.value, dow: w.value });
};

/** robfig's dayMatches: with a `*` in either day field both must match, otherwise either. */
const dayMatches = (s: KedaSchedule, day: number, weekday: number): boolean => {
  const domMatch = s.dom.allowed[day] === true;
  const dowMatch = s.dow.allowed[weekday] === true;
  return s.dom.star || s.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
};

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * robfig's SpecSchedule.Next: the first occurrence strictly after `after` (ms), or undefined
 * when none comes within five years (robfig returns the zero time; KEDA then reads the window
 * as closed). Each field is incremented until it matches; an increment that wraps the field goes
 * back to re-check the larger ones, exactly as the Go loop's `goto WRAP` (seconds are robfig's
 * default field `0`, so the search starts at the next whole second and ends on a whole minute).
 */
export const kedaNext = (s: KedaSchedule, zone: ZoneClock, after: number): number | undefined => {
  let t = Math.floor(after / 1000) * 1000 + 1000;
  let added = false;
  const yearLimit = zone.wall(t).year + 5;
  wrap: for (;;) {
    let w = zone.wall(t);
    if (w.year > yearLimit) return undefined;
    while (s.month.allowed[w.month] !== true) {
      if (!added) {
        added = true;
        t = zone.date(w.year, w.month, 1, 0, 0, 0);
      }
      t = zone.addDate(t, 1, 0);
      w = zone.wall(t);
      if (w.month === 1) continue wrap;
    }
    while (!dayMatches(s, w.day, w.weekday)) {
      if (!added) {
        added = true;
        t = zone.date(w.year, w.month, w.day, 0, 0, 0);
      }
      t = zone.addDate(t, 0, 1);
      w = zone.wall(t);
      // Midnight moved by DST: robfig adds an hour if it is 23, subtracts one if it is 1.
      if (w.hour !== 0) {
        t += w.hour > 12 ? (24 - w.hour) * HOUR_MS : -w.hour * HOUR_MS;
        w = zone.wall(t);
      }
      if (w.day === 1) continue wrap;
    }
    while (s.hour.allowed[w.hour] !== true) {
      if (!added) {
        added = true;
        t = zone.date(w.year, w.month, w.day, w.hour, 0, 0);
      }
      t += HOUR_MS;
      w = zone.wall(t);
      if (w.hour === 0) continue wrap;
    }
    while (s.minute.allowed[w.minute] !== true) {
      if (!added) {
        added = true;
        t = Math.floor(t / MINUTE_MS) * MINUTE_MS;
      }
      t += MINUTE_MS;
      w = zone.wall(t);
      if (w.minute === 0) continue wrap;
    }
    if (w.second !== 0) {
      // robfig's second loop, at once: add seconds to the next minute, which wraps.
      added = true;
      t = Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      continue;
    }
    return t;
  }
};
