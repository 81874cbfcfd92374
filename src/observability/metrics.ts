// Every Prometheus metric ebb exports, in one own Registry (never prom-client's global one, so
// two controllers in one process — tests — do not share series). Names and labels follow KEDA's
// pkg/metricscollector/prommetrics.go with `keda_` → `ebb_`, so KEDA dashboards and alerts
// carry over; what KEDA lacks (target, replicas, the activator) is added under the same labels.
//
// EbbMetrics is every observer: the controller's and the report receiver's
// (src/controller/observer.ts) and the activator's (src/activator/observer.ts). A removed
// ScaledObject loses every series it had.
import { arch, version as nodeVersion, platform } from 'node:process';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActivatorObserver } from '../activator/observer.ts';
import {
  type CertificateReason,
  type PlatformReason,
  REPORT_REFUSALS,
  type ReportRefusal,
} from '../api/reasons.ts';
import type { ControllerObserver, PollObservation, ReportObserver } from '../controller/observer.ts';
import {
  type MetricsDetail,
  type ObjectLabel,
  ObjectSeriesStore,
  type Sample,
  type ScalerLabel,
} from './object-series.ts';

type RouteLabel = ObjectLabel | 'route';

const SCALER_LABELS: readonly ScalerLabel[] = [
  'namespace',
  'scaledObject',
  'scaler',
  'triggerIndex',
  'metric',
  'type',
];
const OBJECT_LABELS: readonly ObjectLabel[] = ['namespace', 'scaledObject'];
const ROUTE_LABELS: readonly RouteLabel[] = ['namespace', 'scaledObject', 'route'];

/** Request durations: a proxied request is ms to minutes (SSE, WebSocket). */
const REQUEST_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
/** Holds and cold starts: a scale from zero is seconds to minutes (image pulls). */
const COLD_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];

import type { BuildInfo } from './build-info.ts';

export { type BuildInfo, ebbBuildInfo } from './build-info.ts';
export { METRICS_DETAILS, type MetricsDetail } from './object-series.ts';

/**
 * `metric` answers scrapes with `samples()` (read from the ObjectSeriesStore) instead of its own
 * label map; its name, help, type and label names stay prom-client's.
 */
const fromStore = <T extends string, M extends Gauge<T> | Counter<T>>(
  metric: M,
  samples: () => Sample<T>[],
): M => {
  const own = metric.get.bind(metric);
  metric.get = async () => ({ ...(await own()), values: samples() });
  return metric;
};

type Labels<T extends string> = Record<T, string>;

/** `ns/name#1` (an activator route key) → its ScaledObject's namespace and name. */
const routeObject = (route: string): Labels<ObjectLabel> => {
  const hash = route.indexOf('#');
  const key = hash < 0 ? route : route.slice(0, hash);
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', scaledObject: key }
    : { namespace: key.slice(0, slash), scaledObject: key.slice(slash + 1) };
};

export class EbbMetrics implements ControllerObserver, ActivatorObserver, ReportObserver {
  readonly registry = new Registry();

  readonly buildInfo = new Gauge({
    name: 'ebb_build_info',
    help: 'Info metric: ebb version and git commit, and the Node.js runtime (goversion, goos, goarch keep KEDA label names).',
    labelNames: ['version', 'git_commit', 'goversion', 'goos', 'goarch'] as const,
    registers: [this.registry],
  });
  readonly scalerMetricsValue = fromStore(
    new Gauge({
      name: 'ebb_scaler_metrics_value',
      help: "The current value of each trigger's metric (what the HPA formula divides by the target).",
      labelNames: SCALER_LABELS,
      registers: [this.registry],
    }),
    () => this.series.scalerValues(),
  );
  readonly scalerMetricsTarget = fromStore(
    new Gauge({
      name: 'ebb_scaler_metrics_target',
      help: "Each trigger's target: per replica for AverageValue, in total for Value (not in KEDA; --metrics-detail extended).",
      labelNames: SCALER_LABELS,
      registers: [this.registry],
    }),
    () => this.series.scalerTargets(),
  );
  readonly scalerMetricsLatency = fromStore(
    new Gauge({
      name: 'ebb_scaler_metrics_latency_seconds',
      help: "The latency of the last read of each trigger's metric, in seconds (retry included).",
      labelNames: SCALER_LABELS,
      registers: [this.registry],
    }),
    () => this.series.scalerLatency(),
  );
  readonly scalerActive = fromStore(
    new Gauge({
      name: 'ebb_scaler_active',
      help: 'Whether a trigger is active (1) or not (0), as of its last successful read.',
      labelNames: SCALER_LABELS,
      registers: [this.registry],
    }),
    () => this.series.scalerActive(),
  );
  readonly scalerErrors = fromStore(
    new Counter({
      name: 'ebb_scaler_detail_errors_total',
      help: 'The number of failed reads of each trigger.',
      labelNames: SCALER_LABELS,
      registers: [this.registry],
    }),
    () => this.series.scalerErrors(),
  );
  readonly scalerMetricsClamped = new Counter({
    name: 'ebb_scaler_metrics_clamped_total',
    help: 'Negative metric values counted as 0 (as KEDA clamps them), per trigger metric or composite-metric.',
    labelNames: ['namespace', 'scaledObject', 'metric'] as const,
    registers: [this.registry],
  });
  readonly scaledObjectErrors = fromStore(
    new Counter({
      name: 'ebb_scaled_object_errors_total',
      help: 'The number of errors for each ScaledObject: each failed trigger read, unreadable target or failed scale.',
      labelNames: OBJECT_LABELS,
      registers: [this.registry],
    }),
    () => this.series.objectErrors(),
  );
  readonly scaledObjectPaused = fromStore(
    new Gauge({
      name: 'ebb_scaled_object_paused',
      help: 'Whether a ScaledObject is paused (1) or not (0).',
      labelNames: OBJECT_LABELS,
      registers: [this.registry],
    }),
    () => this.series.objectPaused(),
  );
  readonly scaledObjectReplicas = fromStore(
    new Gauge({
      name: 'ebb_scaled_object_replicas',
      help: 'Replicas of the scale target after the last poll: kind="desired" (what ebb decided) and kind="current" (what the target has); not in KEDA, --metrics-detail extended.',
      labelNames: ['namespace', 'scaledObject', 'kind'] as const,
      registers: [this.registry],
    }),
    () => this.series.replicas(),
  );
  readonly scaleLoopLatency = fromStore(
    new Gauge({
      name: 'ebb_internal_scale_loop_latency_seconds',
      help: 'How late the last poll of each ScaledObject started against its schedule, in seconds.',
      labelNames: ['namespace', 'type', 'resource'] as const,
      registers: [this.registry],
    }),
    () => this.series.loopLatency(),
  );
  readonly activatorRequests = new Histogram({
    name: 'ebb_activator_request_duration_seconds',
    help: 'Requests through the activator by route and status code (0: the client went away first), in seconds.',
    labelNames: [...ROUTE_LABELS, 'code'] as const,
    buckets: [...REQUEST_BUCKETS],
    registers: [this.registry],
  });
  readonly activatorHeld = new Histogram({
    name: 'ebb_activator_held_request_duration_seconds',
    help: 'Time requests waited in the hold queue for an endpoint, by route and outcome, in seconds.',
    labelNames: [...ROUTE_LABELS, 'outcome'] as const,
    buckets: [...COLD_BUCKETS],
    registers: [this.registry],
  });
  readonly activatorColdStarts = new Histogram({
    name: 'ebb_activator_cold_start_duration_seconds',
    help: 'Cold starts: first request held on a route with no endpoint until the first one is forwarded, in seconds.',
    labelNames: ROUTE_LABELS,
    buckets: [...COLD_BUCKETS],
    registers: [this.registry],
  });

  readonly activatorReportsRefused = new Counter({
    name: 'ebb_activator_reports_refused_total',
    help: 'Activator reports, pokes and goodbyes the controller refused, by reason (Unauthenticated, ForbiddenReporter, InvalidReport, ClockSkew, UnknownRoute, TooManyActivators, ReportTooLarge, TokenReviewUnavailable).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly activatorTlsCertificateErrors = new Counter({
    name: 'ebb_activator_tls_certificate_errors_total',
    help: 'Certificates the TLS listener refused (the previous one is served on), by source (namespace/name of the Secret, or the file) and reason (CertificateMissing, CertificateUnparseable, CertificateKeyMismatch, CertificateExpired, CertificateNotYetValid, CertificateSourceDeleted).',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly activatorTlsHandshakeErrors = new Counter({
    name: 'ebb_activator_tls_handshake_errors_total',
    help: 'TLS handshakes that failed on the TLS listener (a protocol below --tls-min-version, no shared cipher, no certificate loaded, a client that left or timed out).',
    registers: [this.registry],
  });

  /** The per-object series (object-series.ts), by `namespace/name`. */
  private readonly series: ObjectSeriesStore;
  /** The metrics of each object that were ever clamped, by `namespace/name` (to remove them). */
  private readonly clampedSeries = new Map<string, Set<string>>();
  /** Every activator label set per object, by `namespace/name`. */
  private readonly routeSeries = new Map<string, Map<string, () => void>>();

  /** `detail`: which series each ScaledObject has (object-series.ts); default KEDA's set. */
  constructor(build: BuildInfo, detail: MetricsDetail = 'keda') {
    this.series = new ObjectSeriesStore(detail);
    this.buildInfo
      .labels({
        version: build.version,
        git_commit: build.gitCommit ?? '',
        goversion: `node${nodeVersion}`,
        goos: platform,
        goarch: arch,
      })
      .set(1);
    // Every reason present at 0: an alert on increase() sees the first refusal.
    for (const reason of REPORT_REFUSALS) this.activatorReportsRefused.labels({ reason }).inc(0);
  }

  /** The text exposition of every metric (what GET /metrics answers). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ---- ControllerObserver ----

  polled(o: PollObservation): void {
    this.series.polled(o);
    for (const c of o.clamped ?? []) {
      const key = `${o.namespace}/${o.name}`;
      this.scalerMetricsClamped
        .labels({ namespace: o.namespace, scaledObject: o.name, metric: c.metric })
        .inc();
      const metrics = this.clampedSeries.get(key) ?? new Set<string>();
      this.clampedSeries.set(key, metrics.add(c.metric));
    }
  }

  targetFailed(namespace: string, name: string, _reason: PlatformReason): void {
    this.series.targetFailed(namespace, name);
  }

  paused(namespace: string, name: string, paused: boolean): void {
    this.series.paused(namespace, name, paused);
  }

  pollStarted(namespace: string, name: string, latenessMs: number): void {
    this.series.pollStarted(namespace, name, latenessMs);
  }

  removed(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.series.removed(namespace, name);
    for (const metric of this.clampedSeries.get(key) ?? [])
      this.scalerMetricsClamped.remove({ namespace, scaledObject: name, metric });
    this.clampedSeries.delete(key);
    for (const remove of this.routeSeries.get(key)?.values() ?? []) remove();
    this.routeSeries.delete(key);
  }

  // ---- ReportObserver ----

  reportRefused(reason: ReportRefusal): void {
    this.activatorReportsRefused.labels({ reason }).inc();
  }

  // ---- The TLS listener (src/cli/activator-tls.ts) ----

  tlsCertificateRefused(source: string, reason: CertificateReason): void {
    this.activatorTlsCertificateErrors.labels({ source, reason }).inc();
  }

  tlsHandshakeFailed(): void {
    this.activatorTlsHandshakeErrors.inc();
  }

  // ---- ActivatorObserver ----

  requestDone(route: string, status: number, seconds: number): void {
    const labels = { ...routeObject(route), route, code: String(status) };
    this.activatorRequests.labels(labels).observe(seconds);
    this.noteRoute('request', labels, () => this.activatorRequests.remove(labels));
  }

  heldDone(route: string, seconds: number, outcome: 'forwarded' | 'timeout' | 'rejected' | 'aborted'): void {
    const labels = { ...routeObject(route), route, outcome };
    this.activatorHeld.labels(labels).observe(seconds);
    this.noteRoute('held', labels, () => this.activatorHeld.remove(labels));
  }

  coldStart(route: string, seconds: number): void {
    const labels = { ...routeObject(route), route };
    this.activatorColdStarts.labels(labels).observe(seconds);
    this.noteRoute('cold', labels, () => this.activatorColdStarts.remove(labels));
  }

  /** Remembers how to remove one activator series when its ScaledObject goes. */
  private noteRoute(metric: string, labels: Labels<ObjectLabel>, remove: () => void): void {
    const key = `${labels.namespace}/${labels.scaledObject}`;
    let series = this.routeSeries.get(key);
    if (series === undefined) {
      series = new Map();
      this.routeSeries.set(key, series);
    }
    const id = `${metric} ${JSON.stringify(labels)}`;
    if (!series.has(id)) series.set(id, remove);
  }
}

/** Every metric name EbbMetrics registers (the dashboard test checks its queries against it). */
export const exportedMetricNames = (m: EbbMetrics): string[] =>
  m.registry.getMetricsAsArray().map((metric) => metric.name);
