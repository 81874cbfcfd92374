// `runController`: the controller against a kubeconfig, optionally with leader election, with
// what runs beside it: /metrics and /healthz + /readyz, the standalone activators' report
// receiver, and the external metrics adapter (src/cli/adapter-wiring.ts). `ebb run` and
// `ebb start` (src/cli/run.ts) and `ebb activator` call it. Wiring only; the logic is in
// src/controller.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createScalerDeps, type ResolvedTrigger, type ScalerDeps } from '../../scalers/index.ts';
import { type Clock, realClock } from '../clock.ts';
import { type ServedActivatorReports, serveActivatorReports } from '../controller/activator-reports.ts';
import { Controller } from '../controller/controller.ts';
import { DEFAULT_LEADER_ELECTION, LeaderElector } from '../controller/leader-election.ts';
import { type ControllerObserver, combineObservers } from '../controller/observer.ts';
import { reportAuthenticator } from '../controller/report-auth.ts';
import { hasHttpRoute, type ServicePortView } from '../controller/route-claims.ts';
import { type Component, Components, type LeadershipCallbacks } from '../lifecycle/components.ts';
import { logger as defaultLogger, type Logger } from '../logging.ts';
import { type MetricsAdapter, startMetricsAdapter } from '../metrics/adapter.ts';
import { describeStale, MetricReadings, staleNamesLogger } from '../metrics/readings.ts';
import { HealthChecks } from '../observability/health.ts';
import { EbbMetrics, ebbBuildInfo, type MetricsDetail } from '../observability/metrics.ts';
import { type ObservabilityServers, serveObservability } from '../observability/server.ts';
import { type KubernetesPlatform, kubernetesPlatform, userAgent } from '../platform/kubernetes/index.ts';
import type { ConcurrencyFeed } from '../routing/reports.ts';
import { scaledObjectKeyOfRoute } from '../routing/routes.ts';
import type { Scaler } from '../scaler.ts';
import {
  type AdapterEndpointKeeper,
  type AdapterPod,
  adapterPodOf,
  keepAdapterEndpoint,
  requestHeaderAuth,
  servingCert,
} from './adapter-wiring.ts';

export interface RunControllerOptions {
  /** kubeconfig file; default $KUBECONFIG, ~/.kube/config, or in-cluster. */
  readonly kubeconfig?: string | undefined;
  /** Watch one namespace; undefined: all namespaces. */
  readonly namespace?: string | undefined;
  /** Where ClusterTriggerAuthentications read their Secrets; default ebb-system. */
  readonly clusterObjectNamespace?: string | undefined;
  readonly leaderElect?: boolean;
  readonly leaseName?: string;
  /** Default: the watched namespace, else $POD_NAMESPACE, else `default`. */
  readonly leaseNamespace?: string | undefined;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly maxConcurrentPolls?: number;
  /** Status writes a second after the burst (`--status-write-qps`); default DEFAULT_STATUS_QPS. */
  readonly statusWriteQps?: number;
  /** Status writes at once before pacing (`--status-write-burst`); default DEFAULT_STATUS_BURST. */
  readonly statusWriteBurst?: number;
  /** A poll's deadline (`--poll-timeout`); default DEFAULT_POLL_TIMEOUT_MS. */
  readonly pollTimeoutMs?: number;
  /** Lease holder and Events' reportingInstance; default `<hostname>_<random>`. */
  readonly identity?: string;
  readonly log?: Logger;
  /** Every timer and time of the controller process (tests move it); default realClock. */
  readonly clock?: Clock;
  readonly eventRefreshMs?: number;
  /** Give the lease up on stop (default true); false simulates a crashed leader in tests. */
  readonly releaseOnStop?: boolean;
  readonly onPollStart?: (key: string, latenessMs: number) => void;
  /** Replaces the registry's scalers (the benchmark's controller-only mode). */
  readonly createScaler?: (resolved: ResolvedTrigger) => Scaler;
  /** The activators' counters and port view when an activator runs in this process; default
   * the report receiver's feed (--report-port), else none. */
  readonly activatorFeed?: ConcurrencyFeed & ServicePortView;
  /** Told about every poll (Prometheus metrics, the metrics adapter); see src/controller/observer.ts. */
  readonly observer?: ControllerObserver;
  /** Prometheus metrics (also the activator's observer); default: a new EbbMetrics. */
  readonly metrics?: EbbMetrics;
  /** The series per ScaledObject of the default `metrics` (`--metrics-detail`); default keda. */
  readonly metricsDetail?: MetricsDetail;
  /** Liveness/readiness checks; the controller adds `informers`. Default: new ones. */
  readonly health?: HealthChecks;
  /** Serve /metrics on this port (0: any free one); undefined: not served. */
  readonly metricsPort?: number | undefined;
  /** Serve /healthz and /readyz on this port (0: any free one); undefined: not served. */
  readonly healthPort?: number | undefined;
  /**
   * Receive standalone activators' reports (`ebb activator --controller-url`) on this port (0:
   * any free one); undefined: not received. Every replica receives (a standby keeps its feed
   * warm); only the leader's pokes poll.
   */
  readonly reportPort?: number | undefined;
  /** Listen address of the report receiver; default all interfaces. */
  readonly reportAddress?: string | undefined;
  /**
   * How reports are authenticated (src/controller/report-auth.ts): `tokenreview` (default), the
   * activator's ServiceAccount token checked with a TokenReview against the two lists below;
   * `none` lets anyone who reaches the port drive scaling (development only; logged loudly).
   */
  readonly reportAuth?: 'tokenreview' | 'none';
  /** `namespace:name` of the ServiceAccounts allowed to report (the activators'); default none. */
  readonly reportAllowedServiceAccounts?: readonly string[];
  /** Audiences the activators' tokens must be valid for; default none: the API server's own. */
  readonly reportTokenAudiences?: readonly string[];
  /**
   * Serve the external.metrics.k8s.io adapter (HTTPS, for HPA mode's HPAs through the
   * aggregation layer) on this port (0: any free one); undefined: not served.
   */
  readonly adapterPort?: number | undefined;
  /** Listen address of the adapter; default all interfaces. */
  readonly adapterAddress?: string | undefined;
  /** Directory holding the adapter's tls.crt and tls.key; undefined: a self-signed certificate. */
  readonly adapterCertDir?: string | undefined;
  /**
   * PEM file of the CA that signs the aggregator's front-proxy client certificate; undefined:
   * read from ConfigMap kube-system/extension-apiserver-authentication (with its allowed names).
   */
  readonly requestHeaderClientCAFile?: string | undefined;
  /**
   * The adapter's selector-less Service (in the pod's namespace): while this process leads, the
   * Service's EndpointSlice names this pod's IP and the adapter's port; undefined: not kept.
   */
  readonly adapterService?: string | undefined;
  /** This pod's IP for that endpoint; default $POD_IP. */
  readonly podIP?: string | undefined;
  /** This pod's name (the endpoint's targetRef); default $POD_NAME, else no targetRef. */
  readonly podName?: string | undefined;
  /** The namespace of the pod and of `adapterService`; default $POD_NAMESPACE. */
  readonly podNamespace?: string | undefined;
  /** How often the leader re-checks its endpoint (a GET while nothing changed); default 10 s. */
  readonly adapterEndpointResyncMs?: number;
  /** Also keep v1 Endpoints for the Service; default: when the API server is older than 1.33. */
  readonly adapterLegacyEndpoints?: boolean;
}

export interface RunningController {
  readonly identity: string;
  readonly platform: KubernetesPlatform;
  readonly metrics: EbbMetrics;
  readonly health: HealthChecks;
  /** `http://host:port` of /metrics and of /healthz + /readyz, when served. */
  readonly metricsUrl: string | undefined;
  readonly healthUrl: string | undefined;
  /** `https://host:port` of the external metrics adapter, when served. */
  readonly adapterUrl: string | undefined;
  /** The activators' reports (`http://host:port` and their feed), when received. */
  readonly reports: ServedActivatorReports | undefined;
  /** The latest reading of every trigger, as the adapter serves them (empty on a standby). */
  readonly readings: MetricReadings;
  /** True while this process polls and writes (always, without leader election). */
  isLeader(): boolean;
  /** The controller while leading. */
  controller(): Controller | undefined;
  stop(): Promise<void>;
}

export const DEFAULT_LEASE_NAME = 'ebb-controller';
export const DEFAULT_MAX_CONCURRENT_POLLS = 256;
export const DEFAULT_METRICS_PORT = 9090;
export const DEFAULT_HEALTH_PORT = 8081;
export const DEFAULT_ADAPTER_PORT = 6443;
export const DEFAULT_ADAPTER_ENDPOINT_RESYNC_MS = 10_000;

/**
 * Starts the controller (or a candidate for leadership); resolves once it is running. Its
 * components, in start order (src/lifecycle/components.ts stops them in reverse): the platform,
 * /metrics + /healthz + /readyz, the report receiver, the metrics adapter; then, while leading,
 * the adapter Service's endpoint, the readings (cleared on losing the lead) and the controller.
 */
export const runController = async (opts: RunControllerOptions = {}): Promise<RunningController> => {
  const log = opts.log ?? defaultLogger;
  const clock = opts.clock ?? realClock;
  const identity = opts.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  const adapterPod = adapterPodOf(opts);
  const platform = kubernetesPlatform({
    kubeconfig: opts.kubeconfig,
    namespace: opts.namespace,
    clusterObjectNamespace: opts.clusterObjectNamespace,
    identity,
    log,
    clock,
    client: {
      userAgent: userAgent(ebbBuildInfo().version, 'run'),
      statusQps: opts.statusWriteQps,
      statusBurst: opts.statusWriteBurst,
    },
    ...(opts.eventRefreshMs === undefined ? {} : { eventRefreshMs: opts.eventRefreshMs }),
  });
  const metrics = opts.metrics ?? new EbbMetrics(ebbBuildInfo(), opts.metricsDetail);
  const health = opts.health ?? new HealthChecks();
  // The adapter answers from the readings of this process's polls, so only the leader has any.
  const readings = new MetricReadings({ clock });
  const observer = combineObservers(
    metrics,
    readings,
    ...(opts.observer === undefined ? [] : [opts.observer]),
  );
  // A stop without releasing the lease simulates a crash (tests): the endpoint stays as well.
  const withdrawOnStop = opts.releaseOnStop ?? true;
  let stopping = false;
  let served: ObservabilityServers | undefined;
  let reports: ServedActivatorReports | undefined;
  let adapter: MetricsAdapter | undefined;
  let endpointKeeper: AdapterEndpointKeeper | undefined;
  // The controller while this process leads.
  let current: Controller | undefined;
  const leading = () => components.isLeader;

  // Ready once the ScaledObject informer has listed; a standby is ready (a healthy candidate).
  health.addReadiness('informers', () =>
    !leading() || platform.source.hasSynced ? true : 'ScaledObjects not listed yet',
  );
  const platformComponent: Component = {
    name: 'platform',
    // Not awaited: a resolve waits (bounded) for the first lists itself, and objects without an
    // authenticationRef need not wait at all.
    start: () => {
      platform.triggerAuth.start().catch((err: unknown) => {
        log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'trigger authentication watches failed',
        );
      });
    },
    stop: () => platform.close(),
  };
  const observability: Component = {
    name: 'observability',
    start: async () => {
      served = await serveObservability({
        metrics,
        health,
        metricsPort: opts.metricsPort,
        healthPort: opts.healthPort,
        log,
      });
    },
    stop: () => served?.close(),
  };
  // Up (and its feed bound) before the first poll, so http triggers never start without their
  // counters. Every replica receives (a standby keeps its feed warm); only the leader's pokes poll.
  const reportReceiver = (port: number): Component => ({
    name: 'activator reports',
    start: async () => {
      reports = await serveActivatorReports(
        { controller: () => current },
        {
          port,
          address: opts.reportAddress,
          log,
          now: () => clock.wallNow(),
          authenticator: reportAuthenticator(
            {
              mode: opts.reportAuth ?? 'tokenreview',
              allowedServiceAccounts: opts.reportAllowedServiceAccounts ?? [],
              audiences: opts.reportTokenAudiences ?? [],
            },
            platform.tokenReviewer,
            log,
          ),
          observer: metrics,
          // Only the leader has the ScaledObjects cached (once listed); a standby cannot tell.
          routeExists: (route) =>
            leading() && platform.source.hasSynced
              ? hasHttpRoute(platform.source.get(scaledObjectKeyOfRoute(route)), route)
              : undefined,
        },
      );
    },
    stop: () => reports?.close(),
  });
  const metricsAdapter = (port: number): Component => ({
    name: 'metrics adapter',
    start: async () => {
      const [requestHeader, tls] = await Promise.all([
        requestHeaderAuth(platform, opts.requestHeaderClientCAFile),
        servingCert(opts.adapterCertDir),
      ]);
      adapter = await startMetricsAdapter({
        readings,
        port,
        now: () => clock.wallNow(),
        ...(opts.adapterAddress === undefined ? {} : { address: opts.adapterAddress }),
        tls,
        requestHeader,
        log,
        ready: () =>
          leading()
            ? { ok: true, reasons: [] }
            : { ok: false, reasons: ['not the leader: a standby holds no readings'] },
      });
      // Stale readings make the pod unready (polls that stopped show in rollouts and `kubectl get
      // pods`); with --adapter-service the Service follows the lease, not readiness.
      // The health port is unauthenticated: a count, the names only in the log.
      const logStale = staleNamesLogger((names, count) =>
        log.warn({ stale: names, count }, 'readings are stale: this pod is not ready'),
      );
      health.addReadiness('readings', () => {
        const { fresh, stale } = readings.freshness(clock.wallNow());
        logStale(stale);
        return fresh ? true : describeStale(stale);
      });
    },
    stop: () => adapter?.close(),
  });
  // While leading, the adapter Service's EndpointSlice names this pod (--adapter-service).
  const adapterEndpoint = (pod: AdapterPod): Component => ({
    name: 'adapter endpoint',
    needsLeader: true,
    start: async () => {
      if (adapter === undefined) return;
      endpointKeeper ??= keepAdapterEndpoint(
        platform.adapterEndpoint(
          { ...pod, holder: identity, port: adapter.port },
          opts.adapterLegacyEndpoints === undefined ? {} : { legacyEndpoints: opts.adapterLegacyEndpoints },
        ),
        log,
        opts.adapterEndpointResyncMs ?? DEFAULT_ADAPTER_ENDPOINT_RESYNC_MS,
        clock,
      );
      const published = endpointKeeper.lead();
      // With leader election not awaited: the Service moves here while the controller's first
      // list is still running (a write that hangs must not hold the controller back).
      if (opts.leaderElect !== true) await published;
    },
    stop: () => endpointKeeper?.follow(!stopping || withdrawOnStop),
  });
  // Built once, on the first term (the report receiver has started by then): a controller made
  // on each leadership term reuses the pools and reads the feed.
  let scalerDeps: ScalerDeps | undefined;
  const controller: Component = {
    name: 'controller',
    needsLeader: true,
    start: async () => {
      const activatorFeed = opts.activatorFeed ?? reports?.feed;
      scalerDeps ??= createScalerDeps({ concurrencyFeed: activatorFeed, clock });
      current = new Controller({
        source: platform.source,
        scaleTarget: platform.scaleTarget,
        status: platform.writer,
        finalizers: platform.writer,
        events: platform.events,
        log,
        clock,
        maxConcurrentPolls: opts.maxConcurrentPolls ?? DEFAULT_MAX_CONCURRENT_POLLS,
        ...(opts.pollTimeoutMs === undefined ? {} : { pollTimeoutMs: opts.pollTimeoutMs }),
        ...(opts.onPollStart === undefined ? {} : { onPollStart: opts.onPollStart }),
        ...(opts.createScaler === undefined ? {} : { createScaler: opts.createScaler }),
        triggerAuth: platform.triggerAuth,
        hpa: platform.hpa,
        observer,
        scalerDeps,
        ...(activatorFeed === undefined ? {} : { servicePorts: activatorFeed }),
      });
      await current.start();
    },
    stop: async () => {
      const stopped = current;
      current = undefined;
      await stopped?.stop();
    },
  };
  const components: Components = new Components(
    [
      platformComponent,
      observability,
      ...(opts.reportPort === undefined ? [] : [reportReceiver(opts.reportPort)]),
      ...(opts.adapterPort === undefined ? [] : [metricsAdapter(opts.adapterPort)]),
      ...(adapterPod === undefined ? [] : [adapterEndpoint(adapterPod)]),
      { name: 'readings', needsLeader: true, start: () => undefined, stop: () => readings.clear() },
      controller,
    ],
    {
      log,
      ...(opts.leaderElect !== true
        ? {}
        : {
            elect: (on: LeadershipCallbacks) =>
              new LeaderElector({
                lock: platform.lease(
                  opts.leaseNamespace ?? opts.namespace ?? process.env.POD_NAMESPACE ?? 'default',
                  opts.leaseName ?? DEFAULT_LEASE_NAME,
                ),
                identity,
                log,
                clock,
                leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs,
                renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs,
                retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs,
                releaseOnStop: withdrawOnStop,
                ...on,
              }),
          }),
    },
  );
  await components.start();
  return {
    identity,
    platform,
    metrics,
    health,
    metricsUrl: served?.metricsUrl,
    healthUrl: served?.healthUrl,
    adapterUrl:
      adapter === undefined ? undefined : `https://${opts.adapterAddress ?? '127.0.0.1'}:${adapter.port}`,
    readings,
    reports,
    isLeader: leading,
    controller: () => current,
    async stop() {
      stopping = true;
      await components.stop();
    },
  };
};
