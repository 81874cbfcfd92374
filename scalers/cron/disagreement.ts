// Where ebb's cron rule and KEDA's give different verdicts for one window, found without
// sampling. ebb: active iff last start > last end (metric.ts). KEDA: active iff its next start
// is not before its next end (keda-rule.ts). ebb's verdict changes only at its own start or end
// occurrences, KEDA's only at robfig's: both are constant on [o_i, o_i+1) between consecutive
// instants of the merged occurrences (ebb's reads occurrences at or before now, KEDA's strictly
// after, and all of them are whole minutes). So comparing the two verdicts at `from` and at each
// merged instant is exact.
//
// Work, bounded: KEDA's side visits every robfig occurrence of start and end in the horizon (a
// `* * * * *` start is 525,600 a year, about a second here); ebb's side jumps over the starts
// of an open window and the ends of a closed one with cron-parser (about 60 µs a call, 2 calls
// per window opening). The search gives up, answering `undecided` with how far it got, after
// MAX_INSTANTS merged instants or MAX_EBB_STEPS cron-parser jumps (a window that opens every
// other minute all year).
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import { type CronWindowSpec, type KedaCronWindow, kedaCronWindow, kedaVerdict } from './keda-rule.ts';
import { kedaNext } from './keda-schedule.ts';
import { lastOccurrence, nextOccurrence } from './metric.ts';

export const YEAR_MS = 365 * 86_400_000;
/** Two minute-level schedules over a leap year with DST: 2 × 527,040, plus room. */
export const MAX_INSTANTS = 1_100_000;
/** ebb's side: 2 cron-parser calls per window opening; 20,000 is about 1.2 s here. */
export const MAX_EBB_STEPS = 20_000;

export type CronDisagreement =
  | { readonly kind: 'agree' }
  /** `at` (ms): an instant where the verdicts differ, the earliest in [from, from + horizon). */
  | {
      readonly kind: 'differ';
      readonly at: number;
      readonly ebbActive: boolean;
      readonly kedaActive: boolean;
    }
  /** The bound was reached before the horizon: they agree on [from, checkedUntil). */
  | { readonly kind: 'undecided'; readonly checkedUntil: number };

/** ebb's verdict as a timeline: the verdict now, and the next instant it may change. */
class EbbTimeline {
  active: boolean;
  changeAt = Number.POSITIVE_INFINITY;
  private nextActive = false;
  private pendingEnd = Number.POSITIVE_INFINITY;
  steps = 0;

  constructor(
    private readonly spec: CronWindowSpec,
    from: number,
  ) {
    const lastStart = lastOccurrence(spec.start, spec.timezone, from);
    const lastEnd = lastOccurrence(spec.end, spec.timezone, from);
    this.active = lastStart !== undefined && (lastEnd === undefined || lastStart > lastEnd);
    this.plan(from);
  }

  /** Move to `changeAt`, taking the verdict planned for it. */
  advance(): void {
    const t = this.changeAt;
    this.active = this.nextActive;
    this.plan(t);
  }

  /**
   * Open: it closes at the next end. Closed: it opens at the next start s, unless an end falls
   * on s too (the end wins), in which case s is visited as closed and the search goes on.
   */
  private plan(t: number): void {
    if (this.active) {
      this.changeAt = Number.isFinite(this.pendingEnd) ? this.pendingEnd : this.next(this.spec.end, t);
      this.nextActive = false;
      this.pendingEnd = Number.POSITIVE_INFINITY;
      return;
    }
    const s = this.next(this.spec.start, t);
    this.changeAt = s;
    if (s === Number.POSITIVE_INFINITY) return;
    const end = this.next(this.spec.end, s - 1000); // the first end at or after s
    this.nextActive = end !== s;
    this.pendingEnd = end;
  }

  private next(expression: string, t: number): number {
    this.steps++;
    return nextOccurrence(expression, this.spec.timezone, t);
  }
}

/**
 * The earliest instant in [from, from + horizon) where ebb's and KEDA's verdicts for the window
 * differ, or `agree`; or why KEDA would not take the window at all (robfig refuses it).
 */
export const disagreement = (
  spec: CronWindowSpec,
  from: number,
  horizon: number = YEAR_MS,
): Result<CronDisagreement, { field: 'start' | 'end'; message: string }> => {
  const keda = kedaCronWindow(spec);
  if (!keda.ok) return fail(keda.error);
  return ok(search(spec, keda.value, from, from + horizon));
};

const search = (
  spec: CronWindowSpec,
  keda: KedaCronWindow,
  from: number,
  until: number,
): CronDisagreement => {
  const ebb = new EbbTimeline(spec, from);
  let kStart = kedaNext(keda.start, keda.zone, from);
  let kEnd = kedaNext(keda.end, keda.zone, from);
  let t = from;
  for (let instants = 0; instants < MAX_INSTANTS && ebb.steps < MAX_EBB_STEPS; instants++) {
    const kedaActive = kedaVerdict(kStart, kEnd);
    if (ebb.active !== kedaActive) return { kind: 'differ', at: t, ebbActive: ebb.active, kedaActive };
    const next = Math.min(ebb.changeAt, kStart ?? Number.POSITIVE_INFINITY, kEnd ?? Number.POSITIVE_INFINITY);
    if (next >= until) return { kind: 'agree' };
    t = next;
    if (ebb.changeAt === t) ebb.advance();
    if (kStart === t) kStart = kedaNext(keda.start, keda.zone, t);
    if (kEnd === t) kEnd = kedaNext(keda.end, keda.zone, t);
  }
  return { kind: 'undecided', checkedUntil: t };
};

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * The cron-window warning of `ebb validate` and `ebb migrate`: a window whose verdict under KEDA's rule
 * differs from ebb's at some instant of the year after `now`, naming the first such instant in
 * the window's time zone. Undefined when they agree, or when the window is invalid (admission
 * says why).
 */
export const cronWindowWarning = (
  metadata: Readonly<Record<string, unknown>>,
  now: number,
): string | undefined => {
  const timezone = text(metadata.timezone);
  const start = text(metadata.start);
  const end = text(metadata.end);
  if (timezone === undefined || start === undefined || end === undefined) return undefined;
  let result: ReturnType<typeof disagreement>;
  try {
    result = disagreement({ timezone, start, end }, now, YEAR_MS);
  } catch {
    return undefined; // an invalid expression or zone: admission reports it
  }
  if (!result.ok) {
    return `KEDA would refuse ${result.error.field} "${result.error.field === 'start' ? start : end}" (${result.error.message}); ebb accepts it`;
  }
  const r = result.value;
  if (r.kind === 'agree') return undefined;
  if (r.kind === 'undecided') {
    return `the window opens and closes too often to compare with KEDA's rule for the whole year; they agree until ${new Date(r.checkedUntil).toISOString()}`;
  }
  const local = new Date(r.at).toLocaleString('sv-SE', { timeZone: timezone }).slice(0, 16);
  return (
    `ebb and KEDA disagree on this window: at ${local} ${timezone} (${new Date(r.at).toISOString()}) ` +
    `it is ${r.ebbActive ? 'active' : 'inactive'} in ebb and ${r.kedaActive ? 'active' : 'inactive'} in KEDA ` +
    '(ebb compares the last start and end; KEDA is inactive while its next start comes before its next end)'
  );
};
