// `ebb run` (cluster mode) and `ebb start` (what `npm start` calls): the controller against a
// kubeconfig, optionally with leader election. Wiring only; the logic is in src/controller.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { Command, CommanderError } from 'commander';
import type { ResolvedTrigger } from '../../scalers/index.ts';
import {
  DEFAULT_REPORT_PORT,
  type ServedActivatorReports,
  serveActivatorReports,
} from '../controller/activator-reports.ts';
import { Controller } from '../controller/controller.ts';
import { DEFAULT_LEADER_ELECTION, LeaderElector } from '../controller/leader-election.ts';
import { type ControllerObserver, combineObservers } from '../controller/observer.ts';
import { logger as defaultLogger, type Logger } from '../logging.ts';
import { type MetricsAdapter, type RequestHeaderAuth, startMetricsAdapter } from '../metrics/adapter.ts';
import { MetricReadings } from '../metrics/readings.ts';
import { loadServingCert, type ServingCert } from '../metrics/serving-cert.ts';
import { HealthChecks } from '../observability/health.ts';
import { EbbMetrics, ebbBuildInfo } from '../observability/metrics.ts';
import { servedPort, serveObservability } from '../observability/server.ts';
import { readRequestHeaderSettings } from '../platform/kubernetes/extension-auth.ts';
import { type KubernetesPlatform, kubernetesPlatform } from '../platform/kubernetes/index.ts';
import type { AdapterEndpoint, AdapterEndpointWriter } from '../platform/ports.ts';
import type { Scaler } from '../scaler.ts';
import { portNumber, positiveInt, seconds } from './flags.ts';
import type { CliIO } from './io.ts';

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
  /** Lease holder and Events' reportingInstance; default `<hostname>_<random>`. */
  readonly identity?: string;
  readonly log?: Logger;
  readonly eventRefreshMs?: number;
  /** Give the lease up on stop (default true); false simulates a crashed leader in tests. */
  readonly releaseOnStop?: boolean;
  readonly onPollStart?: (key: string, latenessMs: number) => void;
  /** Replaces the registry's scalers (the benchmark's controller-only mode). */
  readonly createScaler?: (resolved: ResolvedTrigger) => Scaler;
  /** Told about every poll (Prometheus metrics, the metrics adapter); see src/controller/observer.ts. */
  readonly observer?: ControllerObserver;
  /** Prometheus metrics (also the activator's observer); default: a new EbbMetrics. */
  readonly metrics?: EbbMetrics;
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

/** The adapter's request-header authentication: from a CA file, else from the cluster's ConfigMap. */
const requestHeaderAuth = async (
  platform: KubernetesPlatform,
  caFile: string | undefined,
): Promise<RequestHeaderAuth> => {
  if (caFile !== undefined) {
    let clientCA: string;
    try {
      clientCA = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new Error(
        `--requestheader-client-ca: cannot read ${caFile}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!clientCA.includes('BEGIN CERTIFICATE'))
      throw new Error(`--requestheader-client-ca: ${caFile} holds no PEM certificate`);
    return { clientCA };
  }
  const settings = await readRequestHeaderSettings(platform.client);
  if (!settings.ok) {
    throw new Error(
      `external metrics adapter: cannot read the aggregator's request-header CA: ${settings.error.message} (pass --requestheader-client-ca FILE, or --adapter-port 0 to serve no adapter)`,
    );
  }
  return {
    clientCA: settings.value.clientCA,
    allowedNames: settings.value.allowedNames,
    ...(settings.value.usernameHeaders.length === 0
      ? {}
      : { usernameHeaders: settings.value.usernameHeaders }),
  };
};

const servingCert = async (dir: string | undefined): Promise<ServingCert | undefined> => {
  if (dir === undefined) return undefined;
  const loaded = await loadServingCert(dir);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
};

/** The pod's address and namespace for `--adapter-service`, checked before anything starts. */
const adapterPodOf = (
  opts: RunControllerOptions,
): { service: string; namespace: string; address: string; podName: string | undefined } | undefined => {
  const service = opts.adapterService;
  if (service === undefined) return undefined;
  if (opts.adapterPort === undefined) {
    throw new Error(`--adapter-service ${service}: the adapter is not served (--adapter-port is 0)`);
  }
  const address = opts.podIP ?? process.env.POD_IP;
  if (address === undefined || address === '') {
    throw new Error(`--adapter-service ${service}: POD_IP is not set (the downward API's status.podIP)`);
  }
  if (isIP(address) === 0) {
    throw new Error(`--adapter-service ${service}: POD_IP = "${address}", must be an IPv4 or IPv6 address`);
  }
  const namespace = opts.podNamespace ?? process.env.POD_NAMESPACE;
  if (namespace === undefined || namespace === '') {
    throw new Error(`--adapter-service ${service}: POD_NAMESPACE is not set (the Service's namespace)`);
  }
  const podName = opts.podName ?? process.env.POD_NAME;
  return { service, namespace, address, podName: podName === '' ? undefined : podName };
};

/**
 * Keeps the adapter Service's endpoint on this process while it leads: publish on taking the
 * lead and every `resyncMs` (heals a failed write or a deleted slice), withdraw on leaving.
 * Steps run one at a time, in the order leadership changed.
 */
const keepAdapterEndpoint = (writer: AdapterEndpointWriter, log: Logger, resyncMs: number) => {
  const where = { service: writer.description };
  let leading = false;
  let timer: NodeJS.Timeout | undefined;
  let steps: Promise<void> = Promise.resolve();
  const step = (run: () => Promise<void>): Promise<void> => {
    steps = steps.then(run).catch((err: unknown) => {
      log.error(
        { ...where, err: err instanceof Error ? err.message : String(err) },
        'adapter endpoint step failed',
      );
    });
    return steps;
  };
  const publish = () =>
    step(async () => {
      if (!leading) return;
      const res = await writer.publish();
      if (!res.ok) log.warn({ ...where, err: res.error.message }, 'cannot point the adapter Service here');
      else if (res.value !== 'unchanged')
        log.info({ ...where, write: res.value }, 'adapter Service points here');
    });
  return {
    lead(): Promise<void> {
      leading = true;
      if (timer === undefined) {
        timer = setInterval(() => void publish(), resyncMs);
        timer.unref();
      }
      return publish();
    },
    /** Stops publishing; `withdraw` false leaves the endpoint (a simulated crash). */
    follow(withdraw: boolean): Promise<void> {
      leading = false;
      clearInterval(timer);
      timer = undefined;
      return step(async () => {
        if (!withdraw) return;
        const res = await writer.withdraw();
        if (!res.ok)
          log.warn(
            { ...where, err: res.error.message },
            'cannot remove this process from the adapter Service',
          );
        else if (res.value) log.info(where, 'removed this process from the adapter Service');
      });
    },
  };
};

/** Starts the controller (or a candidate for leadership); resolves once it is running. */
export const runController = async (opts: RunControllerOptions = {}): Promise<RunningController> => {
  const log = opts.log ?? defaultLogger;
  const identity = opts.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  const adapterPod = adapterPodOf(opts);
  const platform = kubernetesPlatform({
    kubeconfig: opts.kubeconfig,
    namespace: opts.namespace,
    clusterObjectNamespace: opts.clusterObjectNamespace,
    identity,
    log,
    ...(opts.eventRefreshMs === undefined ? {} : { eventRefreshMs: opts.eventRefreshMs }),
  });
  // Not awaited: a resolve waits (bounded) for the first lists itself, and objects without an
  // authenticationRef need not wait at all.
  platform.triggerAuth.start().catch((err: unknown) => {
    log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'trigger authentication watches failed',
    );
  });
  const metrics = opts.metrics ?? new EbbMetrics(ebbBuildInfo());
  const health = opts.health ?? new HealthChecks();
  let leading = () => true;
  // Ready once the ScaledObject informer has listed; a standby is ready (a healthy candidate).
  health.addReadiness('informers', () =>
    !leading() || platform.source.hasSynced ? true : 'ScaledObjects not listed yet',
  );
  const served = await serveObservability({
    metrics,
    health,
    metricsPort: opts.metricsPort,
    healthPort: opts.healthPort,
    log,
  });
  // The controller while this process leads; set below. The receiver is up (and its feed bound)
  // before the first poll, so http triggers never start without their counters.
  let leadingController: () => Controller | undefined = () => undefined;
  let reports: ServedActivatorReports | undefined;
  if (opts.reportPort !== undefined) {
    try {
      reports = await serveActivatorReports(
        { controller: () => leadingController() },
        { port: opts.reportPort, address: opts.reportAddress, log },
      );
    } catch (err) {
      await served.close();
      await platform.close();
      throw err;
    }
  }
  // The adapter answers from the readings of this process's polls, so only the leader has any.
  const readings = new MetricReadings();
  let adapter: MetricsAdapter | undefined;
  if (opts.adapterPort !== undefined) {
    try {
      const [requestHeader, tls] = await Promise.all([
        requestHeaderAuth(platform, opts.requestHeaderClientCAFile),
        servingCert(opts.adapterCertDir),
      ]);
      adapter = await startMetricsAdapter({
        readings,
        port: opts.adapterPort,
        ...(opts.adapterAddress === undefined ? {} : { address: opts.adapterAddress }),
        tls,
        requestHeader,
        log,
        ready: () =>
          leading()
            ? { ok: true, reasons: [] }
            : { ok: false, reasons: ['not the leader: a standby holds no readings'] },
      });
    } catch (err) {
      await reports?.close();
      await served.close();
      await platform.close();
      throw err;
    }
    // Stale readings make the pod unready (polls that stopped show in rollouts and `kubectl get
    // pods`); with --adapter-service the Service follows the lease, not readiness.
    health.addReadiness('readings', () => {
      const stale = readings.freshness(Date.now()).stale;
      if (stale.length === 0) return true;
      const s = stale[0];
      return `${stale.length} object(s) not polled in time, e.g. ${s?.namespace}/${s?.name} (${Math.round((s?.ageMs ?? 0) / 1000)} s)`;
    });
  }
  const adapterUrl =
    adapter === undefined ? undefined : `https://${opts.adapterAddress ?? '127.0.0.1'}:${adapter.port}`;
  const closeServers = async () => {
    await reports?.close();
    await adapter?.close();
    await served.close();
  };
  const adapterEndpoint: AdapterEndpoint | undefined =
    adapterPod === undefined || adapter === undefined
      ? undefined
      : {
          namespace: adapterPod.namespace,
          service: adapterPod.service,
          holder: identity,
          address: adapterPod.address,
          port: adapter.port,
          podName: adapterPod.podName,
        };
  const endpointKeeper =
    adapterEndpoint === undefined
      ? undefined
      : keepAdapterEndpoint(
          platform.adapterEndpoint(
            adapterEndpoint,
            opts.adapterLegacyEndpoints === undefined ? {} : { legacyEndpoints: opts.adapterLegacyEndpoints },
          ),
          log,
          opts.adapterEndpointResyncMs ?? DEFAULT_ADAPTER_ENDPOINT_RESYNC_MS,
        );
  // A stop without releasing the lease simulates a crash (tests): the endpoint stays as well.
  const withdrawOnStop = opts.releaseOnStop ?? true;
  const observed = {
    metrics,
    health,
    metricsUrl: served.metricsUrl,
    healthUrl: served.healthUrl,
    adapterUrl,
    readings,
    reports,
  };
  const observers = [metrics, readings, ...(opts.observer === undefined ? [] : [opts.observer])];
  const observer = combineObservers(...observers);
  const makeController = () =>
    new Controller({
      source: platform.source,
      scaleTarget: platform.scaleTarget,
      status: platform.writer,
      finalizers: platform.writer,
      events: platform.events,
      log,
      maxConcurrentPolls: opts.maxConcurrentPolls ?? DEFAULT_MAX_CONCURRENT_POLLS,
      ...(opts.onPollStart === undefined ? {} : { onPollStart: opts.onPollStart }),
      ...(opts.createScaler === undefined ? {} : { createScaler: opts.createScaler }),
      triggerAuth: platform.triggerAuth,
      hpa: platform.hpa,
      observer,
    });

  if (opts.leaderElect !== true) {
    const controller = makeController();
    leadingController = () => controller;
    await controller.start();
    await endpointKeeper?.lead();
    return {
      identity,
      platform,
      ...observed,
      isLeader: () => true,
      controller: () => controller,
      async stop() {
        await endpointKeeper?.follow(withdrawOnStop);
        await controller.stop();
        await platform.close();
        await closeServers();
      },
    };
  }

  // Leading starts a controller, losing it stops that controller; transitions run one at a
  // time, outside the elector's renew loop (a slow first list must not starve renewals).
  let current: Controller | undefined;
  let stopping = false;
  let transitions: Promise<void> = Promise.resolve();
  const transition = (step: () => Promise<void>) => {
    transitions = transitions.then(step).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'leadership transition failed');
    });
  };
  const elector = new LeaderElector({
    lock: platform.lease(
      opts.leaseNamespace ?? opts.namespace ?? process.env.POD_NAMESPACE ?? 'default',
      opts.leaseName ?? DEFAULT_LEASE_NAME,
    ),
    identity,
    log,
    leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs,
    releaseOnStop: opts.releaseOnStop ?? true,
    onStartedLeading: () => {
      // Not awaited: the Service moves here while the controller's first list is still running.
      void endpointKeeper?.lead();
      transition(async () => {
        current = makeController();
        await current.start();
      });
    },
    // Awaited by the elector: on a graceful stop the endpoint goes before the lease is released.
    onStoppedLeading: () => {
      const left = endpointKeeper?.follow(!stopping || withdrawOnStop);
      transition(async () => {
        const c = current;
        current = undefined;
        await c?.stop();
        readings.clear();
      });
      return left;
    },
  });
  leading = () => elector.isLeader;
  leadingController = () => current;
  elector.start();
  return {
    identity,
    platform,
    ...observed,
    isLeader: () => elector.isLeader,
    controller: () => current,
    async stop() {
      stopping = true;
      await elector.stop();
      await transitions;
      await current?.stop();
      await platform.close();
      await closeServers();
    },
  };
};

// ---- the commands ----

interface RunFlags {
  kubeconfig?: string;
  namespace?: string;
  clusterObjectNamespace?: string;
  leaderElect?: boolean;
  leaseName: string;
  leaseNamespace?: string;
  leaseDuration?: number;
  renewDeadline?: number;
  retryPeriod?: number;
  maxConcurrentPolls: number;
  metricsPort: number;
  healthPort: number;
  reportPort: number;
  adapterPort: number;
  adapterCertDir?: string;
  requestheaderClientCa?: string;
  adapterService?: string;
}

const buildCommand = (name: 'run' | 'start', io: CliIO): Command =>
  new Command(`ebb ${name}`)
    .description(
      name === 'run'
        ? 'run the controller against a cluster'
        : 'run the controller against the current kubeconfig context (npm start)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace <ns>', 'watch ScaledObjects in this namespace only (default: all namespaces)')
    .option(
      '--cluster-object-namespace <ns>',
      'namespace ClusterTriggerAuthentications read their Secrets from (default: $EBB_CLUSTER_OBJECT_NAMESPACE, ebb-system)',
    )
    .option('--leader-elect', 'run as one of several replicas; only the Lease holder polls and writes')
    .option('--lease-name <name>', 'Lease used for leader election', DEFAULT_LEASE_NAME)
    .option(
      '--lease-namespace <ns>',
      'namespace of the Lease (default: --namespace, $POD_NAMESPACE, default)',
    )
    .option('--lease-duration <s>', 'seconds a standby waits before taking over (default 15)', seconds)
    .option(
      '--renew-deadline <s>',
      'seconds the leader tries to renew before giving up (default 10)',
      seconds,
    )
    .option('--retry-period <s>', 'seconds between lease attempts (default 2)', seconds)
    .option(
      '--max-concurrent-polls <n>',
      'polls in flight at once',
      positiveInt,
      DEFAULT_MAX_CONCURRENT_POLLS,
    )
    .option('--metrics-port <n>', 'port of Prometheus /metrics (0: off)', portNumber, DEFAULT_METRICS_PORT)
    .option('--health-port <n>', 'port of /healthz and /readyz (0: off)', portNumber, DEFAULT_HEALTH_PORT)
    .option(
      '--adapter-port <n>',
      'HTTPS port of the external.metrics.k8s.io adapter HPA mode reads through the aggregation layer (0: off)',
      portNumber,
      // `ebb start` runs on a workstation, where 6443 may be a local API server's (k3s).
      name === 'run' ? DEFAULT_ADAPTER_PORT : 0,
    )
    .option(
      '--adapter-cert-dir <dir>',
      "the adapter's serving certificate, tls.crt and tls.key (default: a self-signed one made at start)",
    )
    .option(
      '--requestheader-client-ca <file>',
      "CA of the aggregator's front-proxy client certificate (default: ConfigMap kube-system/extension-apiserver-authentication)",
    )
    .option(
      '--adapter-service <name>',
      "the adapter's selector-less Service in the pod's namespace: the leader keeps its EndpointSlice naming itself ($POD_IP, $POD_NAME, $POD_NAMESPACE)",
    )
    .option(
      '--report-port <n>',
      'port standalone activators (`ebb activator --controller-url`) report to (0: off)',
      portNumber,
      DEFAULT_REPORT_PORT,
    )
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

/** What to say when no API server answers: the config in use, the error, and the ways out. */
export const unreachableMessage = (command: string, context: string, server: string, error: string): string =>
  [
    `ebb ${command}: no Kubernetes cluster is reachable.`,
    `  kubeconfig context: ${context || '(none)'}`,
    `  API server:         ${server || '(none)'}`,
    `  error:              ${error}`,
    '',
    'What to do:',
    '  - Start a cluster or point at one: `kind create cluster`, `minikube start`, or set KUBECONFIG',
    '    (or pass --kubeconfig) to a cluster you can reach; check with `kubectl get ns`.',
    '  - Then install the CRD: `kubectl apply -f crds/` and run `npm start` again.',
    '  - Without a cluster you can still check and replay ScaledObjects offline:',
    '    `npm run ebb -- validate <file.yaml>` and `npm run ebb -- simulate --scaledobject <file> --metrics <trace.csv>`.',
    '',
  ].join('\n');

const parseFlags = (name: 'run' | 'start', argv: readonly string[], io: CliIO): RunFlags | number => {
  const command = buildCommand(name, io);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (err) {
    return err instanceof CommanderError ? err.exitCode : 2;
  }
  return command.opts<RunFlags>();
};

const waitForSignal = (): Promise<string> =>
  new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

/** Checks the cluster and the CRD, runs the controller until SIGINT/SIGTERM; the exit code. */
const runUntilSignal = async (name: 'run' | 'start', flags: RunFlags, io: CliIO): Promise<number> => {
  let probe: KubernetesPlatform;
  try {
    probe = kubernetesPlatform({ kubeconfig: flags.kubeconfig, identity: 'probe', log: defaultLogger });
  } catch (err) {
    const why = `cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`;
    io.stderr.write(unreachableMessage(name, '', '', why));
    return 1;
  }
  try {
    const reachable = await probe.reachable();
    if (!reachable.ok) {
      // client-node falls back to http://localhost:8080 when it finds no kubeconfig at all.
      const noConfig = probe.client.server === 'http://localhost:8080' && probe.context === 'loaded-context';
      const why = noConfig
        ? 'no kubeconfig found ($KUBECONFIG is unset and ~/.kube/config does not exist), and not in a cluster'
        : reachable.error.message;
      io.stderr.write(unreachableMessage(name, probe.context, probe.client.server, why));
      return 1;
    }
    const crd = await probe.crdInstalled();
    if (crd.ok && !crd.value) {
      io.stderr.write(
        `ebb ${name}: the ScaledObject CRD is not installed on ${probe.client.server}.\n` +
          'Install it with `kubectl apply -f crds/` (or `npm run ebb -- crds | kubectl apply -f -`), then run again.\n',
      );
      return 1;
    }
    io.stderr.write(
      `ebb ${name}: controller on ${reachable.value.server} (${reachable.value.version}), context "${probe.context}"\n`,
    );
  } finally {
    await probe.close();
  }
  const running = await runController({
    kubeconfig: flags.kubeconfig,
    namespace: flags.namespace,
    clusterObjectNamespace: flags.clusterObjectNamespace ?? process.env.EBB_CLUSTER_OBJECT_NAMESPACE,
    leaderElect: flags.leaderElect === true,
    leaseName: flags.leaseName,
    leaseNamespace: flags.leaseNamespace,
    maxConcurrentPolls: flags.maxConcurrentPolls,
    metricsPort: servedPort(flags.metricsPort),
    healthPort: servedPort(flags.healthPort),
    adapterPort: servedPort(flags.adapterPort),
    adapterCertDir: flags.adapterCertDir,
    requestHeaderClientCAFile: flags.requestheaderClientCa,
    adapterService: flags.adapterService,
    ...(flags.leaseDuration === undefined ? {} : { leaseDurationMs: flags.leaseDuration }),
    ...(flags.renewDeadline === undefined ? {} : { renewDeadlineMs: flags.renewDeadline }),
    ...(flags.retryPeriod === undefined ? {} : { retryPeriodMs: flags.retryPeriod }),
    reportPort: servedPort(flags.reportPort),
  });
  const signal = await waitForSignal();
  io.stderr.write(`ebb ${name}: ${signal}, stopping\n`);
  await running.stop();
  return 0;
};

/** `ebb run [flags]`. */
export const runCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const flags = parseFlags('run', argv, io);
  return typeof flags === 'number' ? flags : runUntilSignal('run', flags, io);
};

/** `ebb start` (npm start): `run` against the current kubeconfig, with plain advice when there is no cluster. */
export const startCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const flags = parseFlags('start', argv, io);
  return typeof flags === 'number' ? flags : runUntilSignal('start', flags, io);
};

/** The RunModule contract of src/cli/program.ts. */
export const run = (argv: readonly string[], command: 'run' | 'start', io: CliIO): Promise<number> =>
  command === 'run' ? runCommand(argv, io) : startCommand(argv, io);
