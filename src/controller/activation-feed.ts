// The controller's side of the activators' reports: the ConcurrencyFeed the http scalers read
// (scalers/http/feed.ts). Each activator replica pushes snapshots of its per-route counters
// (`record`); `latest(route)` sums the newest snapshot of every live activator
// (sumRouteReadings), `at` being the oldest of them, so a sum is only as fresh as its stalest part.
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

import type { ConcurrencyFeed } from '../../scalers/http/feed.ts';
import { type RouteReading, sumRouteReadings } from '../../scalers/http/metric.ts';
import type { ActivatorStats, RouteStats } from '../activator/stats.ts';

export const DEFAULT_FORGET_AFTER_MS = 30_000;

interface Report {
  readonly at: number;
  readonly routes: Map<string, RouteStats>;
  readonly aliases: ReadonlyMap<string, string> | undefined;
}

export interface ActivationFeedOptions {
  /** An activator silent for longer than this is dropped from the sums. */
  readonly forgetAfterMs?: number;
  /** ms since the epoch; default Date.now (this is I/O-side code, not src/scaling). */
  readonly now?: () => number;
}

export class ActivationFeed implements ConcurrencyFeed {
  private readonly reports = new Map<string, Report>();
  private aliases: ReadonlyMap<string, string> = new Map();
  private readonly forgetAfterMs: number;
  private readonly now: () => number;

  constructor(opts: ActivationFeedOptions = {}) {
    this.forgetAfterMs = opts.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS;
    this.now = opts.now ?? Date.now;
  }

  /** One activator's snapshot; an older one than the last from that activator is ignored. */
  record(stats: ActivatorStats): void {
    const last = this.reports.get(stats.activator);
    if (last !== undefined && stats.at < last.at) return;
    const routes = new Map<string, RouteStats>();
    for (const r of stats.routes) routes.set(r.route, r);
    const aliases = stats.aliases === undefined ? last?.aliases : new Map(Object.entries(stats.aliases));
    this.reports.set(stats.activator, { at: stats.at, routes, aliases });
  }

  /**
   * A poke: `activator` holds `held` requests for `route` now (ms since the epoch `at`). Raises
   * that route's held gauge in the activator's last report (a new report when there is none).
   */
  recordPoke(activator: string, route: string, held: number, at: number): void {
    let report = this.reports.get(activator);
    if (report === undefined) {
      report = { at, routes: new Map(), aliases: undefined };
      this.reports.set(activator, report);
    }
    const r = report.routes.get(route);
    if (r === undefined)
      report.routes.set(route, { route, inFlight: 0, held, requests: held, concurrencyMs: 0 });
    else if (r.held < held) report.routes.set(route, { ...r, held });
  }

  /** An activator that shut down cleanly: its counters leave the sums at once. */
  forget(activator: string): void {
    this.reports.delete(activator);
  }

  /** `httpRouteKey(config)` → route key (`namespace/name`), for scalers keyed the default way. */
  setAliases(aliases: ReadonlyMap<string, string>): void {
    this.aliases = aliases;
  }

  /** Activators whose reports are summed now. */
  activators(): string[] {
    this.sweep();
    return [...this.reports.keys()];
  }

  latest(routeKey: string): RouteReading | undefined {
    this.sweep();
    const key = this.aliases.get(routeKey) ?? this.reportedAlias(routeKey) ?? routeKey;
    const parts: RouteReading[] = [];
    for (const report of this.reports.values()) {
      const r = report.routes.get(key);
      if (r === undefined) continue;
      parts.push({
        inFlight: r.inFlight,
        held: r.held,
        requests: r.requests,
        concurrencyMs: r.concurrencyMs,
        at: report.at,
      });
    }
    return sumRouteReadings(parts);
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
    for (const [id, report] of this.reports) if (report.at < oldest) this.reports.delete(id);
  }
}
