// Per-route counters the controller scales on. Health paths are never counted (a probe must
// neither keep a route awake nor wake it). Besides the instantaneous gauges, each route keeps
//   concurrencyMs = ∫ (inFlight + held) dt   (ms · requests, since the activator started)
// so any reader, at any rate, gets the average concurrency over its own interval as
//   avg = Δ concurrencyMs / Δ at
// without the activator knowing who reads (several controllers, or a restart, never reset it).

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

/** The monotonic clock (ms) the activator measures with: counters, hold deadlines, cooldowns. */
export type Clock = () => number;

export class RouteCounters {
  inFlight = 0;
  held = 0;
  requests = 0;
  private concurrencyMs = 0;
  private changedAt: number;

  constructor(
    readonly route: string,
    private readonly now: Clock,
  ) {
    this.changedAt = now();
  }

  /** Folds the time since the last change into the integral, before a gauge moves. */
  private settle(t = this.now()): void {
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
  snapshot(t = this.now()): RouteStats {
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
): (() => void) => {
  const timer = setInterval(() => push(take()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};
