// The cron "source" is the clock the poll passes in: no I/O, nothing to connect or close.
// Evaluating a window costs a few cron-parser iterations (milliseconds with time zones), and
// its answer only changes at the next start or end occurrence. So answers are memoised per
// (timezone, start, end) and reused for any `now` in [evaluatedAt, validUntil): thousands of
// ScaledObjects sharing a window cost one evaluation per boundary, not one per poll. The memo is
// a controller's (CronWindows, built once in wiring), never the process's. Each scaler also keeps
// its own last answer and its two readings (active, inactive), so a poll inside the answer's
// validity costs two comparisons: no memo key built, no allocation but the promise.
import { ok } from '../../src/api/reasons.ts';
import type { MetricSpec, Scaler } from '../../src/scaler.ts';
import { cronWindow } from './metric.ts';
import type { CronConfig } from './schema.ts';

export interface Evaluation {
  readonly evaluatedAt: number;
  readonly active: boolean;
  readonly validUntil: number;
}

/** Bounded: cleared whole when full (entries are cheap to recompute). */
const MAX_WINDOWS = 10_000;

/** The memo of window answers every cron scaler of one controller shares. */
export class CronWindows {
  private readonly windows = new Map<string, Evaluation>();

  /** The window's answer at `now`, valid for any time in [evaluatedAt, validUntil). */
  evaluate(config: CronConfig, now: Date): Evaluation {
    const key = `${config.timezone}\u0000${config.start}\u0000${config.end}`;
    const t = now.getTime();
    const last = this.windows.get(key);
    if (last !== undefined && covers(last, t)) return last;
    const { active, validUntil } = cronWindow(config, now);
    if (this.windows.size >= MAX_WINDOWS) this.windows.clear();
    const evaluation = { evaluatedAt: t, active, validUntil };
    this.windows.set(key, evaluation);
    return evaluation;
  }

  active(config: CronConfig, now: Date): boolean {
    return this.evaluate(config, now).active;
  }
}

/** Does `e` answer for instant `t` (ms)? */
const covers = (e: Evaluation, t: number): boolean => t >= e.evaluatedAt && t < e.validUntil;

export const createCronScaler = (
  config: CronConfig,
  metric: MetricSpec,
  windows: CronWindows = new CronWindows(),
): Scaler => {
  // Frozen: every poll hands out the same two readings, and no reader may change them.
  const inside = Object.freeze(ok(Object.freeze({ value: config.desiredReplicas, active: true })));
  const outside = Object.freeze(ok(Object.freeze({ value: 0, active: false })));
  let last: Evaluation | undefined;
  return {
    metric,
    read: async (now) => {
      const t = now.getTime();
      if (last === undefined || !covers(last, t)) last = windows.evaluate(config, now);
      return last.active ? inside : outside;
    },
    close: async () => {},
  };
};
