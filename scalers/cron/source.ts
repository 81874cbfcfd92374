// The cron "source" is the clock the poll passes in: no I/O, nothing to connect or close.
import { ok } from '../../src/api/reasons.ts';
import type { MetricSpec, Scaler } from '../../src/scaler.ts';
import { cronWindow } from './metric.ts';
import type { CronConfig } from './schema.ts';

export const createCronScaler = (config: CronConfig, metric: MetricSpec): Scaler => ({
  metric,
  read: async (now) => ok(cronWindow(config, now)),
  close: async () => {},
});
