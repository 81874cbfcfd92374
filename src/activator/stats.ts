// Per-route counters the controller scales on. Health paths are never counted (a probe must
// neither keep a route awake nor wake it). Besides the instantaneous gauges, each route keeps
//   concurrencyMs = ∫ (inFlight + held) dt   (ms · requests, since the activator started)
// so any reader, at any rate, gets the average concurrency over its own interval as
//   avg = Δ concurrencyMs / Δ at
// without the activator knowing who reads (several controllers, or a restart, never reset it).

import type { Clock } from '../clock.ts';
import type { ActivatorStats, RouteStats } from '../routing/reports.ts';

/** The report's wire types live with routing (the controller reads them too). */
export type { ActivatorStats, RouteStats, UnresolvedPort } from '../routing/reports.ts';

export class RouteCounters {
  inFlight = 0;
  held = 0;
  requests = 0;
  private concurrencyMs = 0;
  private changedAt: number;

  constructor(
    readonly route: string,
    private readonly clock: Clock,
  ) {
    this.changedAt = clock.now();
  }

  /** Folds the time since the last change into the integral, before a gauge moves. */
  private settle(t = this.clock.now()): void {
    this.concurrencyMs += (this.inFlight + this.held) * (t - this.changedAt);
    this.changedAt = t;
  }

  arrived(): void {
    this.requests++;
  }
  addHeld(delta: number): void {
    this.settle();
    this.held += delta;
  }
  addInFlight(delta: number): void {
    this.settle();
    this.inFlight += delta;
  }
  /** held → in flight in one step (one clock read). */
  released(): void {
    this.settle();
    this.held--;
    this.inFlight++;
  }

  /** The counters at `t` (default now): the integral up to exactly the time the report states. */
  snapshot(t = this.clock.now()): RouteStats {
    this.settle(t);
    return {
      route: this.route,
      inFlight: this.inFlight,
      held: this.held,
      requests: this.requests,
      concurrencyMs: this.concurrencyMs,
    };
  }
}

/** Calls `push` every `intervalMs` with a fresh snapshot; returns the stop function. */
export const startStatsPush = (
  take: () => ActivatorStats,
  push: (stats: ActivatorStats) => void,
  intervalMs: number,
  clock: Clock,
): (() => void) => {
  const timer = clock.every(intervalMs, () => push(take()));
  timer.unref();
  return () => clock.cancel(timer);
};
