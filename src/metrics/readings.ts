// The external-metrics adapter's view of the controller: per ScaledObject, the latest reading of
// each trigger's metric, kept in memory as the controller reports its polls (a ControllerObserver).
// The adapter answers the HPA from here, so an HPA sync never queries an event source again.
//
// Freshness (for the adapter's /readyz): an object is stale when now − lastPoll > allowed, with
//   allowed = max(maxAgeMs, 2 × pollingInterval + slackMs)          the poll reported its interval
//   allowed = max(maxAgeMs, intervalFactor × (lastPoll − previousPoll))   otherwise (observed)
// The scheduler runs polls fixed-rate and skips a slot a slow poll overran, so two poll starts
// can be up to two intervals apart; `slackMs` covers the poll's own reads (10 s timeout, one
// retry) and a late start. Before an object's first poll, lastPoll is the time it was first
// seen. Paused objects are never stale (the controller does not poll them). An empty store is
// fresh. The interval comes with `polled` only: an object whose target has never been read
// (only `targetFailed`) falls back to the observed rule.
import { NoValue, type ReadErrorReason } from '../api/reasons.ts';
import { type Clock, realClock } from '../clock.ts';
import type { ControllerObserver, PollObservation, TriggerObservation } from '../controller/observer.ts';

/** One trigger's metric as of the latest poll that included it. */
export interface MetricReading {
  /** KEDA-style metric name, `s<index>-<name>`. */
  readonly metricName: string;
  readonly trigger: string;
  /** ms since the epoch of the poll that produced this entry. */
  readonly at: number;
  /** The value (finite, ≥ 0) when that poll read the trigger. */
  readonly value?: number;
  /** Why that poll could not read the trigger. */
  readonly error?: { readonly reason: ReadErrorReason; readonly message: string };
}

export interface ObjectReadings {
  readonly namespace: string;
  readonly name: string;
  /** By metric name, in trigger order; live (later polls update it): read it before awaiting. */
  readonly metrics: ReadonlyMap<string, MetricReading>;
  /** ms since the epoch of the latest poll (also a poll whose target could not be read). */
  readonly lastPollAt?: number;
  readonly paused: boolean;
}

export interface StaleObject {
  readonly namespace: string;
  readonly name: string;
  /** ms since its last poll (or since it was first seen). */
  readonly ageMs: number;
  readonly allowedMs: number;
}

export interface Freshness {
  readonly fresh: boolean;
  /** The stale objects, most overdue first. */
  readonly stale: readonly StaleObject[];
}

/**
 * What an unauthenticated probe (/readyz of the adapter and of the health port) may say about
 * stale readings: how many and the worst age, never which ScaledObjects (their names are
 * logged instead, see `staleNamesLogger`).
 */
export const describeStale = (stale: readonly StaleObject[]): string => {
  const worst = stale[0];
  if (worst === undefined) return 'no ScaledObject is stale';
  const s = (ms: number) => `${Math.round(ms / 1000)} s`;
  return `${stale.length} ScaledObject${stale.length === 1 ? '' : 's'} not polled in time (the most overdue ${s(worst.ageMs)} old, allowed ${s(worst.allowedMs)})`;
};

/**
 * Calls `tell` with the stale objects' `namespace/name`s (at most 20) whenever that set changes
 * and is not empty: where a probe's answer no longer names them, the log does, once per change.
 */
export const staleNamesLogger = (
  tell: (names: readonly string[], count: number) => void,
): ((stale: readonly StaleObject[]) => void) => {
  let last = '';
  return (stale) => {
    const names = stale.map((o) => `${o.namespace}/${o.name}`);
    const key = names.join('\n');
    if (key === last) return;
    last = key;
    if (names.length > 0) tell(names.slice(0, 20), names.length);
  };
};

export interface ReadingsOptions {
  /** The least age that is ever stale; default 120 s (four times KEDA's default pollingInterval of 30 s). */
  readonly maxAgeMs?: number;
  /** Observed polling intervals allowed when the poll did not report its interval; default 3. */
  readonly intervalFactor?: number;
  /** Added to two reported polling intervals; default 30 s. */
  readonly slackMs?: number;
  /** `seenAt` of objects first reported by `paused` (wallNow) and the live reads' wait; default realClock. */
  readonly clock?: Clock;
}

export const DEFAULT_MAX_AGE_MS = 120_000;
export const DEFAULT_INTERVAL_FACTOR = 3;
export const DEFAULT_SLACK_MS = 30_000;
/** A slot overrun by a slow poll is skipped: poll starts are at most two intervals apart. */
export const REPORTED_INTERVAL_FACTOR = 2;

export interface AgeLimits {
  readonly maxAgeMs: number;
  readonly intervalFactor: number;
  readonly slackMs: number;
}

/**
 * How old an object's last poll may be before it is stale (see the top of this file):
 *   reported interval I:  max(maxAgeMs, 2 × I + slackMs)
 *   else observed gap G:  max(maxAgeMs, intervalFactor × G)   (G = 0 before a second poll)
 */
export const allowedAgeMs = (
  intervals: { readonly reportedMs: number | undefined; readonly observedMs: number },
  limits: AgeLimits,
): number =>
  intervals.reportedMs !== undefined
    ? Math.max(limits.maxAgeMs, REPORTED_INTERVAL_FACTOR * intervals.reportedMs + limits.slackMs)
    : Math.max(limits.maxAgeMs, limits.intervalFactor * intervals.observedMs);

interface Entry {
  readonly namespace: string;
  readonly name: string;
  metrics: Map<string, MetricReading>;
  seenAt: number;
  lastPollAt?: number;
  previousPollAt?: number;
  /** As the latest `polled` reported it. */
  pollingIntervalMs?: number;
  paused: boolean;
}

interface Waiter {
  readonly after: number;
  readonly resolve: (polled: boolean) => void;
}

const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

/** One trigger's outcome in a poll at `at`: its value, or why there is none. */
const readingOf = (t: TriggerObservation, at: number): MetricReading => {
  const { metricName, trigger } = t;
  if (t.error !== undefined) return { metricName, trigger, at, error: t.error };
  if (t.value !== undefined) return { metricName, trigger, at, value: t.value };
  return {
    metricName,
    trigger,
    at,
    error: { reason: NoValue, message: `trigger ${t.trigger} reported no value` },
  };
};

export class MetricReadings implements ControllerObserver {
  private readonly objects = new Map<string, Entry>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly limits: AgeLimits;
  private readonly clock: Clock;

  constructor(opts: ReadingsOptions = {}) {
    this.limits = {
      maxAgeMs: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
      intervalFactor: opts.intervalFactor ?? DEFAULT_INTERVAL_FACTOR,
      slackMs: opts.slackMs ?? DEFAULT_SLACK_MS,
    };
    this.clock = opts.clock ?? realClock;
    const { maxAgeMs, intervalFactor, slackMs } = this.limits;
    if (!(maxAgeMs > 0)) throw new Error(`maxAgeMs = ${maxAgeMs}, must be > 0`);
    if (!(intervalFactor >= 1)) throw new Error(`intervalFactor = ${intervalFactor}, must be >= 1`);
    if (!(slackMs >= 0)) throw new Error(`slackMs = ${slackMs}, must be >= 0`);
  }

  // ---- ControllerObserver ----

  polled(o: PollObservation): void {
    const e = this.entry(o.namespace, o.name, o.at);
    // The whole set is replaced: a trigger removed from the spec disappears with the next poll.
    // The same metric names as last poll (the steady state) update the map in place.
    let same = e.metrics.size === o.triggers.length;
    for (let i = 0; same && i < o.triggers.length; i++)
      same = e.metrics.has((o.triggers[i] as TriggerObservation).metricName);
    const metrics = same ? e.metrics : new Map<string, MetricReading>();
    for (const t of o.triggers) metrics.set(t.metricName, readingOf(t, o.at));
    e.metrics = metrics;
    if (o.pollingIntervalMs !== undefined && o.pollingIntervalMs > 0)
      e.pollingIntervalMs = o.pollingIntervalMs;
    this.markPolled(e, o.at);
  }

  targetFailed(namespace: string, name: string): void {
    // The controller is alive and polling; the readings of the previous poll stay.
    const at = this.clock.wallNow();
    this.markPolled(this.entry(namespace, name, at), at);
  }

  paused(namespace: string, name: string, paused: boolean): void {
    this.entry(namespace, name, this.clock.wallNow()).paused = paused;
  }

  pollStarted(): void {}

  removed(namespace: string, name: string): void {
    const key = keyOf(namespace, name);
    this.objects.delete(key);
    this.settle(key, false);
  }

  // ---- reads ----

  get(namespace: string, name: string): ObjectReadings | undefined {
    const e = this.objects.get(keyOf(namespace, name));
    return e === undefined ? undefined : this.view(e);
  }

  /** Every object (the adapter's discovery lists the union of their metric names). */
  list(): ObjectReadings[] {
    return [...this.objects.values()].map((e) => this.view(e));
  }

  /** The metric names currently known, sorted. */
  metricNames(): string[] {
    const names = new Set<string>();
    for (const e of this.objects.values()) for (const n of e.metrics.keys()) names.add(n);
    return [...names].sort();
  }

  freshness(now: number): Freshness {
    const stale: StaleObject[] = [];
    for (const e of this.objects.values()) {
      if (e.paused) continue;
      const last = e.lastPollAt ?? e.seenAt;
      const observedMs =
        e.previousPollAt === undefined || e.lastPollAt === undefined ? 0 : e.lastPollAt - e.previousPollAt;
      const allowedMs = allowedAgeMs({ reportedMs: e.pollingIntervalMs, observedMs }, this.limits);
      const ageMs = now - last;
      if (ageMs > allowedMs) stale.push({ namespace: e.namespace, name: e.name, ageMs, allowedMs });
    }
    stale.sort((a, b) => b.ageMs - b.allowedMs - (a.ageMs - a.allowedMs));
    return { fresh: stale.length === 0, stale };
  }

  isFresh(now: number): boolean {
    return this.freshness(now).fresh;
  }

  /**
   * Resolves true at the first poll of the object that starts at or after `after` (ms since the
   * epoch), false when the object is removed or `timeoutMs` passes first (live reads).
   */
  nextPoll(namespace: string, name: string, after: number, timeoutMs: number): Promise<boolean> {
    const key = keyOf(namespace, name);
    return new Promise((resolve) => {
      let waiters = this.waiters.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.waiters.set(key, waiters);
      }
      const set = waiters;
      const timer = this.clock.after(timeoutMs, () => done(false));
      const waiter: Waiter = {
        after,
        resolve: (polled) => {
          this.clock.cancel(timer);
          resolve(polled);
        },
      };
      const done = (polled: boolean) => {
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        waiter.resolve(polled);
      };
      set.add(waiter);
    });
  }

  /** Forgets every object (this process stopped leading). */
  clear(): void {
    for (const key of [...this.waiters.keys()]) this.settle(key, false);
    this.objects.clear();
  }

  // ---- internals ----

  private entry(namespace: string, name: string, seenAt: number): Entry {
    const key = keyOf(namespace, name);
    let e = this.objects.get(key);
    if (e === undefined) {
      e = { namespace, name, metrics: new Map(), seenAt, paused: false };
      this.objects.set(key, e);
    }
    return e;
  }

  private markPolled(e: Entry, at: number): void {
    if (e.lastPollAt !== undefined && at > e.lastPollAt) e.previousPollAt = e.lastPollAt;
    if (e.lastPollAt === undefined || at >= e.lastPollAt) e.lastPollAt = at;
    const key = keyOf(e.namespace, e.name);
    const waiters = this.waiters.get(key);
    if (waiters === undefined) return;
    for (const w of [...waiters]) {
      if (at >= w.after) {
        waiters.delete(w);
        w.resolve(true);
      }
    }
    if (waiters.size === 0) this.waiters.delete(key);
  }

  private settle(key: string, polled: boolean): void {
    const waiters = this.waiters.get(key);
    if (waiters === undefined) return;
    this.waiters.delete(key);
    for (const w of waiters) w.resolve(polled);
  }

  private view(e: Entry): ObjectReadings {
    return {
      namespace: e.namespace,
      name: e.name,
      metrics: e.metrics,
      paused: e.paused,
      ...(e.lastPollAt === undefined ? {} : { lastPollAt: e.lastPollAt }),
    };
  }
}
