// The cron "source" is the clock the poll passes in: no I/O, nothing to connect or close.
// Evaluating a window costs a few cron-parser iterations (milliseconds with time zones), and
// the answer only changes at the next start or end occurrence, so the last answer is reused
// for any `now` inside [evaluatedAt, validUntil).
import { ok } from '../../src/api/reasons.ts';
import type { MetricSpec, Scaler } from '../../src/scaler.ts';
import { type CronWindow, cronWindow } from './metric.ts';
import type { CronConfig } from './schema.ts';

export const createCronScaler = (config: CronConfig, metric: MetricSpec): Scaler => {
  let last: { readonly evaluatedAt: number; readonly window: CronWindow } | undefined;
  return {
    metric,
    read: async (now) => {
      const t = now.getTime();
      if (last === undefined || t < last.evaluatedAt || t >= last.window.validUntil) {
        last = { evaluatedAt: t, window: cronWindow(config, now) };
      }
      return ok({ value: last.window.value, active: last.window.active });
    },
    close: async () => {},
  };
};
