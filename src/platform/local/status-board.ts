// What the status page shows: per ScaledObject its replicas (asked for, ready, each process),
// its route's in-flight and held requests, each trigger's last reading, and a history sampled
// once a second over the last five minutes. The metric charted is, for an object with an http
// route, the route's average concurrency over the sample's interval,
//   metric = Δ concurrencyMs / Δ t   (in flight + held, integrated by the activator)
// so a request held between two samples still shows; else its first trigger's last polled
// value. It is the controller's observer for the readings.
import type { ActivatorStats } from '../../activator/stats.ts';
import type { ScaledObjectStatus } from '../../api/scaledobject.ts';
import { type Clock, realClock, type Timer } from '../../clock.ts';
import type { ControllerObserver, PollObservation } from '../../controller/observer.ts';
import type { ReplicaView, Supervisor } from './supervisor.ts';

export const HISTORY_SAMPLES = 300;

export interface TriggerReading {
  readonly name: string;
  readonly type: string;
  readonly target: number;
  readonly value: number | null;
  /** `unavailable: <message>` when the last read failed. */
  readonly error: string | null;
}

export interface HistorySample {
  /** ms since the epoch. */
  readonly t: number;
  readonly replicas: number;
  readonly ready: number;
  readonly metric: number | null;
  readonly inFlight: number;
  readonly held: number;
}

export interface ObjectStatus {
  /** `namespace/name` of the ScaledObject. */
  readonly key: string;
  /** `namespace/name` of its LocalApp. */
  readonly target: string;
  /** Its activator route, when it has an http trigger. */
  readonly route: string | null;
  readonly replicas: number;
  readonly ready: number;
  readonly processes: readonly ReplicaView[];
  readonly inFlight: number;
  readonly held: number;
  /** Requests through its route since ebb started. */
  readonly requests: number;
  readonly active: boolean;
  /** The Ready condition's message when it is not True. */
  readonly problem: string | null;
  readonly triggers: readonly TriggerReading[];
  readonly history: readonly HistorySample[];
}

export interface StatusSnapshot {
  readonly now: number;
  readonly objects: readonly ObjectStatus[];
}

export interface BoardObject {
  readonly key: string;
  readonly namespace: string;
  readonly target: string;
}

export interface StatusBoardSources {
  readonly objects: readonly BoardObject[];
  readonly supervisor: Supervisor;
  /** The activator's counters now. */
  readonly stats: () => ActivatorStats;
  /** Route key of a ScaledObject (undefined: no http trigger). */
  readonly routeOf: (key: string) => string | undefined;
  readonly status: (key: string) => ScaledObjectStatus | undefined;
  /** Sample times (wallNow) and the sampling interval; default realClock. */
  readonly clock?: Clock;
}

export class StatusBoard implements ControllerObserver {
  private readonly polls = new Map<string, PollObservation>();
  private readonly history = new Map<string, HistorySample[]>();
  /** Each route's concurrency integral at the previous sample. */
  private readonly lastIntegral = new Map<string, { concurrencyMs: number; at: number }>();
  private readonly clock: Clock;
  private timer: Timer | undefined;

  constructor(private readonly sources: StatusBoardSources) {
    this.clock = sources.clock ?? realClock;
    for (const o of sources.objects) this.history.set(o.key, []);
  }

  // ---- ControllerObserver ----
  polled(o: PollObservation): void {
    this.polls.set(`${o.namespace}/${o.name}`, o);
  }
  targetFailed(): void {}
  paused(): void {}
  pollStarted(): void {}
  removed(namespace: string, name: string): void {
    this.polls.delete(`${namespace}/${name}`);
  }

  /** Samples every `intervalMs` (default 1 s) until stop(). */
  start(intervalMs = 1000): void {
    this.sample();
    this.timer = this.clock.every(intervalMs, () => this.sample());
    this.timer.unref();
  }

  stop(): void {
    this.clock.cancel(this.timer);
  }

  /** Appends one sample per object (the history keeps the last HISTORY_SAMPLES). */
  sample(): void {
    const stats = this.sources.stats();
    const snapshot = this.current(stats);
    for (const o of snapshot.objects) {
      const list = this.history.get(o.key) ?? [];
      list.push({
        t: snapshot.now,
        replicas: o.replicas,
        ready: o.ready,
        metric: o.route === null ? firstReading(o) : this.averageConcurrency(o.route, o, stats),
        inFlight: o.inFlight,
        held: o.held,
      });
      if (list.length > HISTORY_SAMPLES) list.splice(0, list.length - HISTORY_SAMPLES);
      this.history.set(o.key, list);
    }
  }

  snapshot(): StatusSnapshot {
    const current = this.current(this.sources.stats());
    return {
      now: current.now,
      objects: current.objects.map((o) => ({ ...o, history: this.history.get(o.key) ?? [] })),
    };
  }

  /** Δ concurrencyMs / Δ t since the previous sample; the gauges at the first one. */
  private averageConcurrency(route: string, o: ObjectStatus, stats: ActivatorStats): number {
    const counters = stats.routes.find((r) => r.route === route);
    if (counters === undefined) return o.inFlight + o.held;
    const last = this.lastIntegral.get(route);
    this.lastIntegral.set(route, { concurrencyMs: counters.concurrencyMs, at: stats.at });
    if (last === undefined || stats.at <= last.at) return o.inFlight + o.held;
    return Math.max(0, (counters.concurrencyMs - last.concurrencyMs) / (stats.at - last.at));
  }

  private current(stats: ActivatorStats): StatusSnapshot {
    const now = this.clock.wallNow();
    const objects = this.sources.objects.map((o): ObjectStatus => {
      const [namespace, name] = splitKey(o.target);
      const group = this.sources.supervisor.group(namespace, name);
      const route = this.sources.routeOf(o.key);
      const counters = route === undefined ? undefined : stats.routes.find((r) => r.route === route);
      const poll = this.polls.get(o.key);
      const ready = this.sources.status(o.key)?.conditions?.find((c) => c.type === 'Ready');
      return {
        key: o.key,
        target: o.target,
        route: route ?? null,
        replicas: group?.desired ?? 0,
        ready: group?.ready().length ?? 0,
        processes: group?.view() ?? [],
        inFlight: counters?.inFlight ?? 0,
        held: counters?.held ?? 0,
        requests: counters?.requests ?? 0,
        active: poll?.active ?? false,
        problem:
          ready !== undefined && ready.status !== 'True' ? (ready.message ?? ready.reason ?? null) : null,
        triggers: (poll?.triggers ?? []).map((t) => ({
          name: t.trigger,
          type: t.type,
          target: t.target,
          value: t.value ?? null,
          error: t.error === undefined ? null : `unavailable: ${t.error.message}`,
        })),
        history: [],
      };
    });
    return { now, objects };
  }
}

const firstReading = (o: ObjectStatus): number | null =>
  o.triggers.find((t) => t.value !== null)?.value ?? null;

const splitKey = (key: string): [string, string] => {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
};
