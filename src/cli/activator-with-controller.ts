// `ebb activator` without --controller-url: the controller and the activator in one process.
//   ActivatorRouting (ScaledObjects, Services, EndpointSlices) ──routes──▶ activator
//   activator.onStats (every second) ──▶ ActivationFeed ──ScalerDeps──▶ http scalers
//   activator.poke(route, held) ──▶ fresh snapshot into the feed, controller.poke(ScaledObject)
//   No leader election: a standby's activator would report to nobody.
import type { BackendTls } from '../activator/backend-tls.ts';
import type { ActivatorLimits } from '../activator/server.ts';
import type { HoldTracer } from '../activator/tracing.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { Components } from '../lifecycle/components.ts';
import { logger as defaultLogger } from '../logging.ts';
import { ebbBuildInfo } from '../observability/build-info.ts';
import { KubeClient, loadKubeConfig, userAgent } from '../platform/kubernetes/client.ts';
import {
  activatorComponents,
  activatorObservabilityComponent,
  createRoutedActivator,
  DEFAULT_ACTIVATOR_PORT,
  defaultActivatorId,
  feedSink,
  kubeClientComponent,
  type RunningActivatorProcess,
  routingComponent,
  runningActivatorProcess,
  servedActivator,
} from './activator-process.ts';
import { ActivatorRouting } from './activator-routing.ts';
import { type ActivatorTlsOptions, activatorTls } from './activator-tls.ts';
import { type RunControllerOptions, type RunningController, runController } from './controller-wiring.ts';

/** The controller's options minus what one process with an activator decides itself (no leader
 * election, its own feed instead of a report receiver). */
export interface RunActivatorOptions
  extends Omit<RunControllerOptions, 'leaderElect' | 'reportPort' | 'reportAddress'> {
  /** Listen port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Listen address; default all interfaces. */
  readonly address?: string;
  /** This activator's id in the stats; default $POD_NAME, else `<hostname>_<random>`. */
  readonly activatorId?: string;
  readonly limits?: Partial<ActivatorLimits>;
  /** CIDRs of the proxies in front whose X-Forwarded-Proto/-Host and Forwarded are believed. */
  readonly trustedProxies?: readonly string[];
  /** How often the activator's counters reach the feed; default 1000 ms. */
  readonly statsIntervalMs?: number;
  /** A TLS listener with certificates from Secrets (src/cli/activator-tls.ts); default none. */
  readonly tls?: ActivatorTlsOptions | undefined;
  /** One span per held request (src/activator/tracing.ts); default none. */
  readonly tracer?: HoldTracer;
  /** How https endpoints are verified (src/activator/backend-tls.ts); default node's CAs. */
  readonly backendTls?: BackendTls;
}

export interface RunningActivator extends RunningActivatorProcess {
  readonly controller: RunningController;
  readonly feed: ActivationFeed;
}

/**
 * Its components, in start order (stopped in reverse): the Kubernetes client, /metrics +
 * /healthz + /readyz, the routing watches, the activator (its counters bound to the feed,
 * listening), the controller, and the activator's drain, which runs first on stop so that held
 * requests still get their replicas from the controller.
 */
export const runActivatorController = async (opts: RunActivatorOptions = {}): Promise<RunningActivator> => {
  const log = opts.log ?? defaultLogger;
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig), undefined, {
    userAgent: userAgent(ebbBuildInfo().version, 'activator'),
  });
  const feed = new ActivationFeed();
  const id = opts.activatorId ?? defaultActivatorId();
  const routing = new ActivatorRouting(client, { namespace: opts.namespace, log });
  const served = servedActivator();
  const tls =
    opts.tls === undefined ? undefined : activatorTls(client, opts.tls, log, () => served.observed?.metrics);
  let running: RunningController | undefined;
  const activator = activatorComponents({
    create: () => {
      if (served.observed === undefined) throw new Error('observability is not served');
      return createRoutedActivator({
        routing,
        sink: feedSink(feed, () => running?.controller()),
        id,
        limits: opts.limits,
        trustedProxies: opts.trustedProxies,
        statsIntervalMs: opts.statsIntervalMs,
        observer: served.observed.metrics,
        tls: tls?.listener,
        tracer: opts.tracer,
        backendTls: opts.backendTls,
      });
    },
    port: opts.port ?? DEFAULT_ACTIVATOR_PORT,
    tlsPort: opts.tls?.port,
    address: opts.address,
    afterClose: () => feed.forget(id),
    served,
  });
  const components = new Components(
    [
      kubeClientComponent(client),
      activatorObservabilityComponent({ ...opts, log }, routing, served),
      routingComponent(routing),
      ...(tls === undefined ? [] : [tls.component]),
      activator.serving,
      {
        name: 'controller',
        start: async () => {
          if (served.observed === undefined) throw new Error('observability is not served');
          // One registry and one set of checks for both; the ports are served above.
          running = await runController({
            ...opts,
            log,
            leaderElect: false,
            metrics: served.observed.metrics,
            health: served.observed.health,
            metricsPort: undefined,
            healthPort: undefined,
            reportPort: undefined,
            activatorFeed: feed,
          });
        },
        stop: () => running?.stop(),
      },
      activator.drain,
    ],
    { log },
  );
  await components.start();
  if (running === undefined) throw new Error('ebb activator: the controller did not start');
  return { ...runningActivatorProcess(served, routing, components), controller: running, feed };
};
