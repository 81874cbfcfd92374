// The `http` trigger: scales a Deployment on the HTTP requests the activators route to it
// (concurrency = in flight + held, or request rate), from zero and back. The activators report
// per-route counters; the controller sums them into the ConcurrencyFeed wiring hands in (HttpDeps).
// Metric `s<index>-http-<first host>`, target targetConcurrency (or targetRequestRate) per replica.

import { type HttpConfig, HttpMetadataSchema, parseHttpMetadata } from '../../src/routing/http-trigger.ts';
import { metricName, type ScalerDefinition } from '../../src/scaler.ts';
import { createHttpScaler, type HttpDeps } from './source.ts';

/** A host as a metric-name part: `*` becomes `x` (as cron's `*` does), dots become `-` later. */
export const metricHost = (host: string): string => host.replace(/\*/g, 'x');

export const httpScaler: Readonly<ScalerDefinition<HttpConfig, HttpDeps>> = {
  types: ['http'],
  metadataKeys: Object.keys(HttpMetadataSchema.shape),
  parse: parseHttpMetadata,
  // s<index>-http-<first host>, sanitised: `s0-http-api-example-com`, `s1-http-x-example-com`
  metric: (config, ctx) => ({
    name: metricName(ctx.index, `http-${metricHost(config.hosts[0] ?? '')}`),
    target: config.mode.target,
    metricType: ctx.trigger.metricType === 'Value' ? 'Value' : 'AverageValue',
  }),
  create: (config, ctx, deps) => createHttpScaler(config, httpScaler.metric(config, ctx), deps),
};
