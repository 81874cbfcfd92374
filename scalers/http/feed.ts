// The port between the activators and the http scaler: an in-process view of every route's
// counters, summed over the activators. The controller (or whoever receives the activators'
// reports) implements it and binds it once at start-up; every http scaler reads through the
// binding at read time, so scalers built before the binding work once it exists.
//
// Contract for the implementer:
// - `latest(routeKey)` returns the counters of one route summed over every activator that
//   reported it (`sumRouteReadings` in metric.ts does the sum), with `at` = the oldest of those
//   reports' times (ms since the epoch); or undefined when no activator has reported the route.
//   The key is `httpRouteKey(config)` (schema.ts: `hosts|paths`, sorted) unless the scaler was
//   built with another (`createHttpScaler(config, metric, { routeKey: 'namespace/name' })`).
// - `inFlight`, `held` are gauges; `requests` and the optional `concurrencyMs`
//   (∫ (inFlight + held) dt) are counters since each activator started.
// - Each activator reports every route in its table, zeros included, at least once every
//   second or two; a route it no longer serves disappears from its report.
// - A report older than the staleness limit must not be summed as if fresh: either drop the
//   activator from the sum (it is gone) or keep its last report and let `at` age, and the
//   scaler reports the reading stale (an error, so the target is never scaled to zero on
//   missing data).
// - `latest` is synchronous and cheap (a map lookup); it is called once per poll per trigger.
import type { RouteReading } from './metric.ts';

export interface ConcurrencyFeed {
  latest(routeKey: string): RouteReading | undefined;
}

/** A reading older than this at the poll's `now` is an error (HttpMetricsStale). */
export const DEFAULT_STALE_AFTER_MS = 10_000;

export interface ConcurrencyFeedBinding {
  readonly feed: ConcurrencyFeed;
  readonly staleAfterMs: number;
}

let binding: ConcurrencyFeedBinding | undefined;

/**
 * Makes `feed` the process's source of http counters; returns the function that unbinds it
 * (only if it is still the bound one). A second binding replaces the first.
 */
export const bindConcurrencyFeed = (
  feed: ConcurrencyFeed,
  options: { readonly staleAfterMs?: number } = {},
): (() => void) => {
  const own: ConcurrencyFeedBinding = { feed, staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS };
  binding = own;
  return () => {
    if (binding === own) binding = undefined;
  };
};

/** The bound feed, or undefined when none is (no activator wiring in this process). */
export const boundConcurrencyFeed = (): ConcurrencyFeedBinding | undefined => binding;
