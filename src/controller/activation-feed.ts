// The controller's side of the activators' reports: the ConcurrencyFeed the http scalers read
// (src/routing/reports.ts). Each activator replica pushes snapshots of its per-route counters
// (`record`); `latest(route)` sums the newest snapshot of every live activator
// (sumRouteReadings), `at` being the oldest of them, so a sum is only as fresh as its stalest part;
// each activator's ∫ concurrency is first placed at that `at`, between its own last two reports
// (integralAt).
//
// An activator that stops reporting ages out in two steps:
//   age <= staleAfterMs (the scaler's limit, 10 s)  summed as usual
//   age >  staleAfterMs                              still summed: `at` ages, the scaler reports
//                                                    HttpMetricsStale and the target is never
//                                                    scaled to zero on missing data
//   age >  forgetAfterMs (default 30 s)              dropped: that replica is gone, the others'
//                                                    counters are the whole truth again
//
// Route keys: the activator keys routes by ScaledObject (`namespace/name`, http-routes.ts). A
// scaler built without `{ routeKey }` reads under `httpRouteKey(config)` (`hosts|paths`);
// `setAliases` maps those keys to route keys so both work; a report may carry its activator's
// aliases too (standalone activators, src/controller/activator-reports.ts), used when the
// process set none for that key.
//
// A poke (`recordPoke`) raises the held gauge of one route in that activator's last report, so
// the poll the poke starts sees the held request even before the next report arrives.
//
// It is also the controller's ServicePortView (route-claims.ts): a report lists the routes its
// activator left out because their named Service port does not resolve; a port is unresolved
// while any activator not yet forgotten says so, and a change is told to the listeners.

import { realClock } from '../clock.ts';
import {
  type ActivatorStats,
  type ConcurrencyFeed,
  type RouteReading,
  type RouteStats,
  sumRouteReadings,
  type UnresolvedPort,
} from '../routing/reports.ts';
import type { ServicePortView } from './route-claims.ts';

export const DEFAULT_FORGET_AFTER_MS = 30_000;

interface Report {
  readonly at: number;
  readonly routes: Map<string, RouteStats>;
  readonly aliases: ReadonlyMap<string, string> | undefined;
  /** portId of each unresolved port. */
  readonly unresolved: ReadonlySet<string>;
  /** The activator's report before this one (its integrals place the sum's `at` in between). */
  readonly previous: { readonly at: number; readonly routes: ReadonlyMap<string, RouteStats> } | undefined;
}

const NONE: ReadonlySet<string> = new Set();

/** `namespace/service` NUL `port`: the Service comes back with serviceOfPortId. */
const portId = (namespace: string, service: string, port: string): string =>
  `${namespace}/${service}\u0000${port}`;
const serviceOfPortId = (id: string): string => id.slice(0, id.indexOf('\u0000'));
const portIds = (list: readonly UnresolvedPort[]): ReadonlySet<string> =>
  list.length === 0 ? NONE : new Set(list.map((u) => portId(u.namespace, u.service, u.port)));

/**
 * One activator's ∫ concurrency for route `r` at time `t` (<= its report's `at`), from its own
 * reports only where they bracket `t`:
 *   prev.at <= t <= at:  I(t) = I_prev + (I - I_prev) · (t - prev.at) / (at - prev.at)
 *   else (t before both): I(t) = I_last - (inFlight + held) · (at_last - t), with the gauges of
 *                         the older of the two reports, never below 0
 * Interpolating keeps each activator's slope its real average between its reports, so the sum's
 * Δ integral / Δ at is never more than what the activators measured.
 */
const integralAt = (report: Report, r: RouteStats, t: number): number => {
  if (t >= report.at) return r.concurrencyMs;
  const before = report.previous?.routes.get(r.route);
  const beforeAt = report.previous?.at;
  if (before === undefined || beforeAt === undefined) {
    return Math.max(0, r.concurrencyMs - (r.inFlight + r.held) * (report.at - t));
  }
  if (t >= beforeAt) {
    return (
      before.concurrencyMs +
      ((r.concurrencyMs - before.concurrencyMs) * (t - beforeAt)) / (report.at - beforeAt)
    );
  }
  return Math.max(0, before.concurrencyMs - (before.inFlight + before.held) * (beforeAt - t));
};

export interface ActivationFeedOptions {
  /** An activator silent for longer than this is dropped from the sums. */
  readonly forgetAfterMs?: number;
  /** ms since the epoch; default Date.now (this is I/O-side code, not src/scaling). */
  readonly now?: () => number;
}

export class ActivationFeed implements ConcurrencyFeed, ServicePortView {
  private readonly reports = new Map<string, Report>();
  private readonly portListeners = new Set<(service: string) => void>();
  private aliases: ReadonlyMap<string, string> = new Map();
  private readonly forgetAfterMs: number;
  private readonly now: () => number;

  constructor(opts: ActivationFeedOptions = {}) {
    this.forgetAfterMs = opts.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS;
    this.now = opts.now ?? realClock.wallNow;
  }

  /** One activator's snapshot; an older one than the last from that activator is ignored. */
  record(stats: ActivatorStats): void {
    const last = this.reports.get(stats.activator);
    if (last !== undefined && stats.at < last.at) return;
    const routes = new Map<string, RouteStats>();
    for (const r of stats.routes) routes.set(r.route, r);
    const aliases = stats.aliases === undefined ? last?.aliases : new Map(Object.entries(stats.aliases));
    const unresolved =
      stats.unresolved === undefined ? (last?.unresolved ?? NONE) : portIds(stats.unresolved);
    const previous =
      last === undefined
        ? undefined
        : stats.at > last.at
          ? { at: last.at, routes: last.routes }
          : last.previous;
    this.reports.set(stats.activator, { at: stats.at, routes, aliases, unresolved, previous });
    this.portsChanged(last?.unresolved ?? NONE, unresolved);
  }

  /**
   * A poke: `activator` holds `held` requests for `route` now (ms since the epoch `at`). Raises
   * that route's held gauge in the activator's last report (a new report when there is none).
   */
  recordPoke(activator: string, route: string, held: number, at: number): void {
    let report = this.reports.get(activator);
    if (report === undefined) {
      report = { at, routes: new Map(), aliases: undefined, unresolved: NONE, previous: undefined };
      this.reports.set(activator, report);
    }
    const r = report.routes.get(route);
    if (r === undefined)
      report.routes.set(route, { route, inFlight: 0, held, requests: held, concurrencyMs: 0 });
    else if (r.held < held) report.routes.set(route, { ...r, held });
  }

  /** An activator that shut down cleanly: its counters leave the sums at once. */
  forget(activator: string): void {
    const report = this.reports.get(activator);
    if (report === undefined) return;
    this.reports.delete(activator);
    this.portsChanged(report.unresolved, NONE);
  }

  unresolved(namespace: string, service: string, port: string): boolean {
    const id = portId(namespace, service, port);
    const oldest = this.now() - this.forgetAfterMs;
    for (const report of this.reports.values())
      if (report.at >= oldest && report.unresolved.has(id)) return true;
    return false;
  }

  onChange(listener: (service: string) => void): () => void {
    this.portListeners.add(listener);
    return () => this.portListeners.delete(listener);
  }

  /** `httpRouteKey(config)` → route key (`namespace/name`), for scalers keyed the default way. */
  setAliases(aliases: ReadonlyMap<string, string>): void {
    this.aliases = aliases;
  }

  /** Is a report of `activator` held now (not forgotten)? */
  knows(activator: string): boolean {
    this.sweep();
    return this.reports.has(activator);
  }

  /** How many activators' reports are held now. */
  get size(): number {
    this.sweep();
    return this.reports.size;
  }

  /** Does `activator`'s latest report name `route`? */
  hasRoute(activator: string, route: string): boolean {
    return this.reports.get(activator)?.routes.has(route) ?? false;
  }

  /** Activators whose reports are summed now. */
  activators(): string[] {
    this.sweep();
    return [...this.reports.keys()];
  }

  /** Activators whose latest report has the route (by route key or alias), sorted. */
  reporting(routeKey: string): string[] {
    this.sweep();
    const key = this.aliases.get(routeKey) ?? this.reportedAlias(routeKey) ?? routeKey;
    return [...this.reports]
      .filter(([, report]) => report.routes.has(key))
      .map(([id]) => id)
      .sort();
  }

  /**
   * The route's counters summed over the activators, `at` the oldest report's, each activator's
   * integral taken at that `at` (integralAt). Summed as reported, a report newer than another
   * would add the time between them to the sum's integral, and Δ concurrencyMs / Δ at over two
   * sums whose activators reported in different phases would overstate the average.
   */
  latest(routeKey: string): RouteReading | undefined {
    this.sweep();
    const key = this.aliases.get(routeKey) ?? this.reportedAlias(routeKey) ?? routeKey;
    const found: { report: Report; r: RouteStats }[] = [];
    for (const report of this.reports.values()) {
      const r = report.routes.get(key);
      if (r !== undefined) found.push({ report, r });
    }
    if (found.length === 0) return undefined;
    const at = Math.min(...found.map((f) => f.report.at));
    return sumRouteReadings(
      found.map(({ report, r }) => ({
        inFlight: r.inFlight,
        held: r.held,
        requests: r.requests,
        concurrencyMs: integralAt(report, r, at),
        at: report.at,
      })),
    );
  }

  private reportedAlias(routeKey: string): string | undefined {
    for (const report of this.reports.values()) {
      const key = report.aliases?.get(routeKey);
      if (key !== undefined) return key;
    }
    return undefined;
  }

  private sweep(): void {
    const oldest = this.now() - this.forgetAfterMs;
    for (const [id, report] of this.reports) if (report.at < oldest) this.forget(id);
  }

  /** Tells the listeners each Service with a port in one set and not the other. */
  private portsChanged(before: ReadonlySet<string>, after: ReadonlySet<string>): void {
    if (before === after || this.portListeners.size === 0) return;
    const services = new Set<string>();
    for (const id of before) if (!after.has(id)) services.add(serviceOfPortId(id));
    for (const id of after) if (!before.has(id)) services.add(serviceOfPortId(id));
    for (const service of services) for (const listener of [...this.portListeners]) listener(service);
  }
}
