// The per-ScaledObject series (KEDA's scaler and object metrics under `ebb_`), kept as plain
// numbers per object and trigger and turned into samples only when /metrics is scraped.
//
// Why not prom-client's own label maps: a `.set()` there hashes the label set into a string
// and allocates a `{ value, labels }` record on every call, and a child handle (`labels()`)
// re-hashes on each `.set()` as well. With a poll a second per object that was most of a
// poll's CPU, and the hash keys and label objects per series most of the metrics' heap. Here a
// poll assigns numbers into records it finds by two Map lookups; each object and trigger keeps
// one label object, shared by all of its series.
//
// Which series an object has (`MetricsDetail`):
//   keda (default)  KEDA's set: ebb_scaler_metrics_value, ebb_scaler_metrics_latency_seconds,
//                   ebb_scaler_active, ebb_scaled_object_paused,
//                   ebb_internal_scale_loop_latency_seconds; the error counters
//                   (ebb_scaler_detail_errors_total, ebb_scaled_object_errors_total) once an
//                   error has happened.
//   extended        also ebb_scaler_metrics_target and ebb_scaled_object_replicas{kind}, and
//                   the error counters at 0 from the first poll.
import type { PollObservation } from '../controller/observer.ts';

export const METRICS_DETAILS = ['keda', 'extended'] as const;
export type MetricsDetail = (typeof METRICS_DETAILS)[number];

/** KEDA's per-trigger labels; `type` is always `scaledobject` (ebb has no ScaledJobs). */
export type ScalerLabel = 'namespace' | 'scaledObject' | 'scaler' | 'triggerIndex' | 'metric' | 'type';
export type ObjectLabel = 'namespace' | 'scaledObject';
export type LoopLabel = 'namespace' | 'type' | 'resource';
export const RESOURCE_TYPE = 'scaledobject';

/** One sample as prom-client's registry renders it. */
export interface Sample<T extends string> {
  readonly value: number;
  readonly labels: Readonly<Record<T, string>>;
}

interface TriggerSeries {
  readonly labels: Readonly<Record<ScalerLabel, string>>;
  value: number | undefined;
  active: number | undefined;
  target: number;
  latencySeconds: number;
  errors: number;
}

interface ObjectSeries {
  readonly labels: Readonly<Record<ObjectLabel, string>>;
  readonly loopLabels: Readonly<Record<LoopLabel, string>>;
  triggers: TriggerSeries[];
  paused: number | undefined;
  loopLatencySeconds: number | undefined;
  desired: number | undefined;
  current: number | undefined;
  /** undefined until the first poll (extended: shown at 0 from then) or the first error. */
  errors: number | undefined;
}

/** The same trigger as last poll (same position, name and metric): its series are kept. */
const sameTrigger = (s: TriggerSeries | undefined, name: string, index: number, metric: string): boolean =>
  s !== undefined &&
  s.labels.scaler === name &&
  s.labels.metric === metric &&
  s.labels.triggerIndex === String(index);

export class ObjectSeriesStore {
  /**
   * namespace → name → series: two lookups with the strings the poll already has, where one
   * `namespace/name` key would build and hash a new string on every poll.
   */
  private readonly namespaces = new Map<string, Map<string, ObjectSeries>>();

  constructor(readonly detail: MetricsDetail) {}

  private *objects(): Generator<ObjectSeries> {
    for (const names of this.namespaces.values()) yield* names.values();
  }

  private entry(namespace: string, name: string): ObjectSeries {
    let names = this.namespaces.get(namespace);
    if (names === undefined) {
      names = new Map();
      this.namespaces.set(namespace, names);
    }
    let o = names.get(name);
    if (o === undefined) {
      o = {
        labels: { namespace, scaledObject: name },
        loopLabels: { namespace, type: RESOURCE_TYPE, resource: name },
        triggers: [],
        paused: undefined,
        loopLatencySeconds: undefined,
        desired: undefined,
        current: undefined,
        errors: undefined,
      };
      names.set(name, o);
    }
    return o;
  }

  polled(p: PollObservation): void {
    const o = this.entry(p.namespace, p.name);
    const list = p.triggers;
    // An edit that renamed, moved or removed a trigger drops its series at once.
    let same = o.triggers.length === list.length;
    for (let i = 0; same && i < list.length; i++) {
      const t = list[i];
      same = t !== undefined && sameTrigger(o.triggers[i], t.trigger, t.index, t.metricName);
    }
    if (!same) o.triggers = list.map((t) => this.newTrigger(o, t.trigger, t.index, t.metricName));
    let failed = 0;
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      const s = o.triggers[i];
      if (t === undefined || s === undefined) continue;
      s.target = t.target;
      s.latencySeconds = t.latencyMs / 1000;
      if (t.error === undefined) {
        // A failed read keeps the last good value and activity (KEDA's gauges do too).
        s.value = t.value ?? 0;
        s.active = t.active === true ? 1 : 0;
      } else {
        failed++;
        s.errors++;
      }
    }
    // KEDA counts one object error per failed trigger; a failed scale write counts once.
    const errors = failed > 0 ? failed : p.error ? 1 : 0;
    if (errors > 0 || this.detail === 'extended') o.errors = (o.errors ?? 0) + errors;
    o.desired = p.desiredReplicas;
    o.current = p.currentReplicas;
  }

  private newTrigger(o: ObjectSeries, scaler: string, index: number, metric: string): TriggerSeries {
    return {
      labels: { ...o.labels, scaler, triggerIndex: String(index), metric, type: RESOURCE_TYPE },
      value: undefined,
      active: undefined,
      target: 0,
      latencySeconds: 0,
      errors: 0,
    };
  }

  targetFailed(namespace: string, name: string): void {
    const o = this.entry(namespace, name);
    o.errors = (o.errors ?? 0) + 1;
  }

  paused(namespace: string, name: string, paused: boolean): void {
    this.entry(namespace, name).paused = paused ? 1 : 0;
  }

  pollStarted(namespace: string, name: string, latenessMs: number): void {
    this.entry(namespace, name).loopLatencySeconds = Math.max(0, latenessMs) / 1000;
  }

  removed(namespace: string, name: string): void {
    const names = this.namespaces.get(namespace);
    names?.delete(name);
    if (names?.size === 0) this.namespaces.delete(namespace);
  }

  // ---- samples, built per scrape ----

  scalerValues(): Sample<ScalerLabel>[] {
    return this.perTrigger((t) => t.value);
  }

  scalerActive(): Sample<ScalerLabel>[] {
    return this.perTrigger((t) => t.active);
  }

  scalerLatency(): Sample<ScalerLabel>[] {
    return this.perTrigger((t) => t.latencySeconds);
  }

  scalerTargets(): Sample<ScalerLabel>[] {
    return this.detail === 'extended' ? this.perTrigger((t) => t.target) : [];
  }

  scalerErrors(): Sample<ScalerLabel>[] {
    // Extended: every trigger polled at least once, from 0; keda: those that failed.
    return this.perTrigger((t) =>
      t.errors > 0 || (this.detail === 'extended' && t.value !== undefined) ? t.errors : undefined,
    );
  }

  objectErrors(): Sample<ObjectLabel>[] {
    return this.perObject((o) => o.errors);
  }

  objectPaused(): Sample<ObjectLabel>[] {
    return this.perObject((o) => o.paused);
  }

  loopLatency(): Sample<LoopLabel>[] {
    const out: Sample<LoopLabel>[] = [];
    for (const o of this.objects())
      if (o.loopLatencySeconds !== undefined) out.push({ value: o.loopLatencySeconds, labels: o.loopLabels });
    return out;
  }

  replicas(): Sample<ObjectLabel | 'kind'>[] {
    const out: Sample<ObjectLabel | 'kind'>[] = [];
    if (this.detail !== 'extended') return out;
    for (const o of this.objects()) {
      if (o.desired !== undefined) out.push({ value: o.desired, labels: { ...o.labels, kind: 'desired' } });
      if (o.current !== undefined) out.push({ value: o.current, labels: { ...o.labels, kind: 'current' } });
    }
    return out;
  }

  private perTrigger(pick: (t: TriggerSeries) => number | undefined): Sample<ScalerLabel>[] {
    const out: Sample<ScalerLabel>[] = [];
    for (const o of this.objects())
      for (const t of o.triggers) {
        const value = pick(t);
        if (value !== undefined) out.push({ value, labels: t.labels });
      }
    return out;
  }

  private perObject(pick: (o: ObjectSeries) => number | undefined): Sample<ObjectLabel>[] {
    const out: Sample<ObjectLabel>[] = [];
    for (const o of this.objects()) {
      const value = pick(o);
      if (value !== undefined) out.push({ value, labels: o.labels });
    }
    return out;
  }
}
