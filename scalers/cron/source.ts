// The cron "source" is the clock the poll passes in: no I/O, nothing to connect or close.
// Evaluating a window costs a few cron-parser iterations (milliseconds with time zones), and
// its answer only changes at the next start or end occurrence. So answers are memoised per
// (timezone, start, end) and reused for any `now` in [evaluatedAt, validUntil): thousands of
// ScaledObjects sharing a window cost one evaluation per boundary, not one per poll. The memo is
// a controller's (CronWindows, built once in wiring), never the process's.
import { ok } from '../../src/api/reasons.ts';
import type { MetricSpec, Scaler } from '../../src/scaler.ts';
import { cronWindow } from './metric.ts';
import type { CronConfig } from './schema.ts';

interface Evaluation {
  readonly evaluatedAt: number;
  readonly active: boolean;
  readonly validUntil: number;
}

/** Bounded: cleared whole when full (entries are cheap to recompute). */
const MAX_WINDOWS = 10_000;

/** The memo of window answers every cron scaler of one controller shares. */
export class CronWindows {
  private readonly windows = new Map<string, Evaluation>();

  active(config: CronConfig, now: Date): boolean {
    const key = `${config.timezone}\u0000${config.start}\u0000${config.end}`;
    const t = now.getTime();
    const last = this.windows.get(key);
    if (last !== undefined && t >= last.evaluatedAt && t < last.validUntil) return last.active;
    const { active, validUntil } = cronWindow(config, now);
    if (this.windows.size >= MAX_WINDOWS) this.windows.clear();
    this.windows.set(key, { evaluatedAt: t, active, validUntil });
    return active;
  }
}

export const createCronScaler = (
  config: CronConfig,
  metric: MetricSpec,
  windows: CronWindows = new CronWindows(),
): Scaler => ({
  metric,
  read: async (now) => {
    const active = windows.active(config, now);
    return ok({ value: active ? config.desiredReplicas : 0, active });
  },
  close: async () => {},
});
