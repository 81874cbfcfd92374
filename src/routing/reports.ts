// What the activators report per route and how the controller reads it: the wire types of an
// activator's report (stats), the counters summed over activators, and the ConcurrencyFeed port
// the http scalers read. Here, not in src/activator or scalers/http, because the activator, the
// controller and the http scaler all speak it and none of them may import another's internals.
import { clampMetric } from '../scaler.ts';

/** One activator's counters for one route. */
export interface RouteCounters {
  /** Requests being proxied to a backend right now. */
  readonly inFlight: number;
  /** Requests waiting for a ready endpoint (cold start, or every endpoint at containerConcurrency). */
  readonly held: number;
  /** Requests received since the activator started: monotonic, health paths not counted. */
  readonly requests: number;
  /**
   * Optional: ∫ (inFlight + held) dt in ms since the activator started (a counter), so that
   * Δ concurrencyMs / Δ at is the average concurrency between two readings, bursts included.
   */
  readonly concurrencyMs?: number;
}

/** A route's counters at a time: one activator's report, or the sum over all of them. */
export interface RouteReading extends RouteCounters {
  /** ms since the epoch the counters were taken; for a sum, the oldest report's. */
  readonly at: number;
}

/**
 * Route counters with every broken value (negative, NaN, ±Infinity) as 0: the one clamp of
 * what an activator reports, used where reports are summed and where the http metric reads them.
 */
export const clampedCounters = (c: RouteCounters): RouteCounters => ({
  inFlight: clampMetric(c.inFlight),
  held: clampMetric(c.held),
  requests: clampMetric(c.requests),
  ...(c.concurrencyMs === undefined ? {} : { concurrencyMs: clampMetric(c.concurrencyMs) }),
});

/**
 * The counters of every activator summed; undefined when there is no report. `at` is the
 * oldest report's time, so a sum is only as fresh as its stalest part. Broken counters count as
 * 0 (clampedCounters); concurrencyMs is summed only when every report has it.
 *   inFlight = Σ inFlight_a    held = Σ held_a    requests = Σ requests_a    at = min at_a
 */
export const sumRouteReadings = (reports: readonly RouteReading[]): RouteReading | undefined => {
  if (reports.length === 0) return undefined;
  const clean = reports.map(clampedCounters);
  const integrals = clean.map((r) => r.concurrencyMs);
  const sum = {
    inFlight: clean.reduce((total, r) => total + r.inFlight, 0),
    held: clean.reduce((total, r) => total + r.held, 0),
    requests: clean.reduce((total, r) => total + r.requests, 0),
    at: Math.min(...reports.map((r) => r.at)),
  };
  return integrals.every((c) => c !== undefined)
    ? { ...sum, concurrencyMs: integrals.reduce((total, c) => total + c, 0) }
    : sum;
};

/**
 * The port between the activators and the http scaler: an in-process view of every route's
 * counters, summed over the activators. The controller (src/controller/activation-feed.ts)
 * implements it; wiring builds one per controller and passes it to the scalers (ScalerDeps).
 *
 * Contract for the implementer:
 * - `latest(routeKey)` returns the counters of one route summed over every activator that
 *   reported it (sumRouteReadings does the sum), with `at` = the oldest of those reports' times
 *   (ms since the epoch); or undefined when no activator has reported the route. The key is
 *   `httpRouteKey(config)` (routes.ts: `hosts|paths`, sorted) unless the scaler was built with
 *   another (`namespace/name`).
 * - `inFlight`, `held` are gauges; `requests` and the optional `concurrencyMs`
 *   (∫ (inFlight + held) dt) are counters since each activator started.
 * - Each activator reports every route in its table, zeros included, at least once every second
 *   or two; a route it no longer serves disappears from its report.
 * - A report older than the staleness limit must not be summed as if fresh: either drop the
 *   activator from the sum (it is gone) or keep its last report and let `at` age, and the
 *   scaler reports the reading stale (an error, so the target is never scaled to zero on
 *   missing data).
 * - `latest` is synchronous and cheap (a map lookup); it is called once per poll per trigger.
 */
export interface ConcurrencyFeed {
  latest(routeKey: string): RouteReading | undefined;
}

export interface RouteStats {
  /** `namespace/name` of the ScaledObject. */
  readonly route: string;
  /** Requests forwarded and not yet answered by the endpoint (WebSockets: open connections). */
  readonly inFlight: number;
  /** Requests waiting in the hold queue for capacity. */
  readonly held: number;
  /** Requests routed here since the activator started, rejected ones included (a counter). */
  readonly requests: number;
  /** ∫ (inFlight + held) dt in ms since the activator started (a counter). */
  readonly concurrencyMs: number;
}

/**
 * A route the activator left out of its table: its trigger names the Service port `port`, which
 * the Service does not declare (or the Service is not known yet). The controller turns it into a
 * ServicePortUnresolved condition on the ScaledObject.
 */
export interface UnresolvedPort {
  /** The route key (`namespace/name`, `namespace/name#<index>`). */
  readonly route: string;
  readonly namespace: string;
  readonly service: string;
  /** The port name as the trigger gives it. */
  readonly port: string;
}

export interface ActivatorStats {
  /** Which activator replica took it: the controller sums replicas, keyed by this. */
  readonly activator: string;
  /** When it was taken, ms since the epoch (monotonic within one activator process). */
  readonly at: number;
  readonly routes: readonly RouteStats[];
  /** `httpRouteKey(config)` → route key for the routes above (sent by a standalone activator, so
   * a controller in another process can serve scalers keyed the default way). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Routes left out because their named port did not resolve (absent: as in the last report). */
  readonly unresolved?: readonly UnresolvedPort[];
}
