// KEDA's cron verdict, ported from KEDA 2.21.1 `pkg/scalers/cron_scaler.go`
// (GetMetricsAndActivity, Apache-2.0, github.com/kedacore/keda): it reads only the *next* start
// and the *next* end after now. With S = next start and E = next end (robfig's Next, strictly
// after now; undefined = robfig's zero time, nothing within five years):
//   S before E  -> active iff now > S && now < E, never true since S > now: inactive;
//   otherwise   -> active iff now > S || now < E: active (now < E) unless E is the zero time.
// The zero time is before everything, so a start that never comes reads as active.
// ebb keeps its own rule (metric.ts: compare the *last* start and end); disagreement.ts says
// where the two differ.
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import { type KedaSchedule, kedaNext, parseKedaSchedule } from './keda-schedule.ts';
import { ZoneClock } from './zone.ts';

export interface CronWindowSpec {
  readonly timezone: string;
  readonly start: string;
  readonly end: string;
}

export interface KedaCronWindow {
  readonly start: KedaSchedule;
  readonly end: KedaSchedule;
  readonly zone: ZoneClock;
}

/** The window as KEDA would build it, or why KEDA would refuse it (`start`/`end` and robfig's message). */
export const kedaCronWindow = (
  spec: CronWindowSpec,
): Result<KedaCronWindow, { field: 'start' | 'end'; message: string }> => {
  const start = parseKedaSchedule(spec.start);
  if (!start.ok) return fail({ field: 'start', message: start.error });
  const end = parseKedaSchedule(spec.end);
  if (!end.ok) return fail({ field: 'end', message: end.error });
  return ok({ start: start.value, end: end.value, zone: new ZoneClock(spec.timezone) });
};

/** KEDA's verdict from its next start and next end (see above). */
export const kedaVerdict = (nextStart: number | undefined, nextEnd: number | undefined): boolean =>
  nextStart === undefined || (nextEnd !== undefined && nextStart >= nextEnd);

/** Is KEDA's cron trigger active at `now` (ms)? */
export const kedaCronActive = (window: KedaCronWindow, now: number): boolean =>
  kedaVerdict(kedaNext(window.start, window.zone, now), kedaNext(window.end, window.zone, now));
