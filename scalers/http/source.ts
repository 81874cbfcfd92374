// The http scaler's "I/O": a lookup in the in-process ConcurrencyFeed (src/routing/reports.ts)
// the activators' reports arrive through, handed in by wiring (HttpDeps), one per controller. One read = the route's summed counters, checked for freshness, added
// to this trigger's short request history, turned into the metric by computeHttpMetric.
import { fail, HttpMetricsStale, HttpMetricsUnavailable, ok, type Result } from '../../src/api/reasons.ts';
import { type HttpConfig, httpRouteKey } from '../../src/routing/http-trigger.ts';
import type { ConcurrencyFeed } from '../../src/routing/reports.ts';
import type { MetricSpec, ReadError, Scaler } from '../../src/scaler.ts';
import { computeHttpMetric, type HttpMetric, type RequestSample, recordRequestSample } from './metric.ts';

/** Read errors: no feed bound or no report of the route (HttpMetricsUnavailable), stale counters (HttpMetricsStale). */
export { HttpMetricsStale, HttpMetricsUnavailable };

/** A reading older than this at the poll's `now` is an error (HttpMetricsStale). */
export const DEFAULT_STALE_AFTER_MS = 10_000;

/** What every http scaler of one controller shares: built once in wiring (createScalerDeps). */
export interface HttpDeps {
  /** Where the counters come from; undefined when no activator feeds this controller. */
  readonly feed: ConcurrencyFeed | undefined;
  /** A reading older than this is stale; default DEFAULT_STALE_AFTER_MS. */
  readonly staleAfterMs?: number;
}

export interface HttpScalerDeps extends HttpDeps {
  /**
   * The key the route is read under; default `httpRouteKey(config)` (hosts|paths). A caller
   * that knows the ScaledObject may key by it instead (`namespace/name`, as the activator does).
   */
  readonly routeKey?: string;
}

const describe = (config: HttpConfig): string =>
  `route ${config.hosts.join(',')} ${config.pathPrefixes.join(',')} (service ${config.service})`;

export interface HttpScaler extends Scaler {
  read(now: Date, signal: AbortSignal): Promise<Result<HttpMetric, ReadError>>;
}

export const createHttpScaler = (
  config: HttpConfig,
  metric: MetricSpec,
  deps: HttpScalerDeps,
): HttpScaler => {
  const key = deps.routeKey ?? httpRouteKey(config);
  const { feed } = deps;
  const limitMs = deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  // The request rate needs the window; activity needs the previous sample (kept regardless).
  const historyMs = config.mode.kind === 'requestRate' ? config.mode.windowMs : 0;
  let history: RequestSample[] = [];
  return {
    metric,
    read: async (now) => {
      if (feed === undefined) {
        return fail({
          reason: HttpMetricsUnavailable,
          message: `${describe(config)}: no activator feed is connected to this controller`,
        });
      }
      const reading = feed.latest(key);
      if (reading === undefined) {
        return fail({
          reason: HttpMetricsUnavailable,
          message: `${describe(config)}: no activator has reported this route yet`,
        });
      }
      const ageMs = now.getTime() - reading.at;
      if (ageMs > limitMs) {
        return fail({
          reason: HttpMetricsStale,
          message: `${describe(config)}: the activators' latest report is ${Math.round(ageMs / 1000)} s old (limit ${Math.round(limitMs / 1000)} s)`,
        });
      }
      const sample = { at: reading.at, requests: reading.requests };
      history = recordRequestSample(
        history,
        reading.concurrencyMs === undefined ? sample : { ...sample, concurrencyMs: reading.concurrencyMs },
        historyMs,
      );
      return ok(computeHttpMetric(config.mode, reading, history, metric.metricType));
    },
    close: async () => {},
  };
};
