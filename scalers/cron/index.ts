// KEDA's `cron` trigger: `desiredReplicas` while the wall clock in `timezone` is inside a
// start/end window, 0 outside. Metric target 1 (AverageValue), so the metric is the replica count.
import { metricName, type ScalerDefinition } from '../../src/scaler.ts';
import { type CronConfig, CronMetadataSchema, parseCronMetadata } from './schema.ts';
import { type CronWindows, createCronScaler } from './source.ts';

/** KEDA's parseCronTimeFormat: `0 6 * * *` -> `06xxx`, `*\/5` -> `xSl5`, `?` -> `Qm`. */
export const cronTimeFormat = (expression: string): string =>
  expression.replace(/ /g, '').replace(/\*/g, 'x').replace(/\//g, 'Sl').replace(/\?/g, 'Qm');

export const cronScaler: Readonly<ScalerDefinition<CronConfig, CronWindows>> = {
  metadataKeys: Object.keys(CronMetadataSchema.shape),
  types: ['cron'],
  parse: parseCronMetadata,
  // s<index>-cron-<timezone>-<start>-<end>, sanitised: `s0-cron-Asia-Kolkata-06xxx-020xxx`
  metric: (config, ctx) => ({
    name: metricName(
      ctx.index,
      `cron-${config.timezone}-${cronTimeFormat(config.start)}-${cronTimeFormat(config.end)}`,
    ),
    target: 1,
    metricType: ctx.trigger.metricType === 'Value' ? 'Value' : 'AverageValue',
  }),
  create: (config, ctx, windows) => createCronScaler(config, cronScaler.metric(config, ctx), windows),
};
