// What both shapes of `ebb activator` (src/cli/activator-with-controller.ts and
// src/cli/standalone-activator.ts) share: the activator's default id and port, its listen, and
// its /metrics (--metrics-port: ebb_activator_*, and in one process the controller's metrics from
// the same registry) and /healthz + /readyz (--health-port: ready once the watches listed, until
// it drains), served before the watches start.
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { hostname } from 'node:os';
import type { BackendTls } from '../activator/backend-tls.ts';
import type { ActivatorObserver } from '../activator/observer.ts';
import {
  type Activator,
  type ActivatorLimits,
  type ActivatorOptions,
  createActivator,
} from '../activator/server.ts';
import type { ActivatorStats } from '../activator/stats.ts';
import type { HoldTracer } from '../activator/tracing.ts';
import type { ActivationFeed } from '../controller/activation-feed.ts';
import type { Controller } from '../controller/controller.ts';
import type { HttpRoutes } from '../controller/http-routes.ts';
import type { Component, Components } from '../lifecycle/components.ts';
import type { Logger } from '../logging.ts';
import { HealthChecks } from '../observability/health.ts';
import { EbbMetrics, ebbBuildInfo, type MetricsDetail } from '../observability/metrics.ts';
import { type ObservabilityServers, serveObservability } from '../observability/server.ts';
import type { KubeClient } from '../platform/kubernetes/client.ts';
import type { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { scaledObjectKeyOfRoute } from '../routing/routes.ts';
import type { ActivatorRouting } from './activator-routing.ts';

/** Prometheus /metrics and /healthz + /readyz of an activator process. */
export interface ActivatorObservabilityOptions {
  /** Its Prometheus metrics (the activator's observer); default: a new EbbMetrics. */
  readonly metrics?: EbbMetrics;
  /** The series per ScaledObject of the default `metrics` (`--metrics-detail`); default keda. */
  readonly metricsDetail?: MetricsDetail | undefined;
  /** Its checks; the activator adds `routes` and `activator`. Default: new ones. */
  readonly health?: HealthChecks;
  /** Serve /metrics on this port (0: any free one); undefined: not served. */
  readonly metricsPort?: number | undefined;
  /** Serve /healthz and /readyz on this port (0: any free one); undefined: not served. */
  readonly healthPort?: number | undefined;
}

export interface ActivatorObservability {
  readonly metrics: EbbMetrics;
  readonly health: HealthChecks;
  /** `http://host:port` of /metrics and of /healthz + /readyz, when served. */
  readonly metricsUrl: string | undefined;
  readonly healthUrl: string | undefined;
}

/** What both shapes of `ebb activator` hand back once listening. */
export interface RunningActivatorProcess extends ActivatorObservability {
  readonly activator: Activator;
  readonly endpoints: KubeEndpointSource;
  /** `http://address:port` it listens on. */
  readonly url: string;
  readonly port: number;
  /** `https://address:port` of the TLS listener (--tls-port), when there is one. */
  readonly tlsUrl: string | undefined;
  readonly tlsPort: number | undefined;
  /** The routes as last built. */
  routes(): HttpRoutes;
  /** Graceful: drains the activator (see src/activator/server.ts), then stops everything. */
  drain(): Promise<void>;
  /** Immediate: held requests get 503, connections are cut. */
  stop(): Promise<void>;
}

/** Where an activator's counters go: the controller's feed in one process, a reporter otherwise. */
export interface ActivatorStatsSink {
  stats(stats: ActivatorStats): void;
  /** A cold start on `route`; `stats` is a snapshot taken now, so the poll it starts sees it. */
  poke(route: string, held: number, stats: ActivatorStats): void;
}

/**
 * The one glue between an activator and a controller in the same process (`ebb local`, `ebb
 * activator` without --controller-url): counters go into the controller's feed; a poke first
 * records the snapshot taken at the poke (so the poll it starts sees the held request), then
 * asks the controller to poll the route's ScaledObject now.
 */
export const feedSink = (
  feed: ActivationFeed,
  controller: () => Controller | undefined,
): ActivatorStatsSink => ({
  stats: (stats) => feed.record(stats),
  poke: (route, _held, stats) => {
    feed.record(stats);
    controller()?.poke(scaledObjectKeyOfRoute(route));
  },
});

/**
 * The activator both shapes run: its routes from `routing`, its counters (with the routing's
 * aliases and the routes left out for an unresolved named port, for the controller's conditions)
 * to `sink` every `statsIntervalMs`, at once on a poke, and at once when the routes change.
 */
export const createRoutedActivator = (opts: {
  readonly routing: ActivatorRouting;
  readonly sink: ActivatorStatsSink;
  readonly id: string;
  readonly limits: Partial<ActivatorLimits> | undefined;
  readonly statsIntervalMs: number | undefined;
  readonly observer: ActivatorObserver;
  /** Proxies whose forwarding headers are believed (src/activator/forwarded.ts); default none. */
  readonly trustedProxies: readonly string[] | undefined;
  /** The TLS listener's certificates (src/cli/activator-tls.ts); default: no TLS listener. */
  readonly tls?: ActivatorOptions['tls'] | undefined;
  /** One span per held request (src/activator/tracing.ts); undefined: tracing off. */
  readonly tracer?: HoldTracer | undefined;
  /** How https endpoints are verified (src/activator/backend-tls.ts); default node's CAs. */
  readonly backendTls?: BackendTls | undefined;
}): Activator => {
  const { routing, sink } = opts;
  const withRouting = (stats: ActivatorStats): ActivatorStats => ({
    ...stats,
    aliases: Object.fromEntries(routing.routes().aliases),
    unresolved: routing.unresolved(),
  });
  const activator = createActivator({
    endpoints: routing.endpoints,
    routes: [],
    id: opts.id,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    ...(opts.trustedProxies === undefined ? {} : { trustedProxies: opts.trustedProxies }),
    ...(opts.tls === undefined ? {} : { tls: opts.tls }),
    onStats: (stats) => sink.stats(withRouting(stats)),
    statsIntervalMs: opts.statsIntervalMs ?? 1000,
    poke: (route, held) => sink.poke(route, held, withRouting(activator.stats())),
    observer: opts.observer,
    ...(opts.tracer === undefined ? {} : { tracer: opts.tracer }),
    ...(opts.backendTls === undefined ? {} : { backendTls: opts.backendTls }),
  });
  routing.attach((built) => {
    const conflicts = activator.setRoutes(built.routes);
    // New routes are readable at once, not after the next push.
    sink.stats(withRouting(activator.stats()));
    return conflicts;
  });
  return activator;
};

export const DEFAULT_ACTIVATOR_PORT = 8080;

export const defaultActivatorId = (): string =>
  process.env.POD_NAME ?? `${hostname()}_${randomUUID().slice(0, 8)}`;

/** Listens; resolves to the `http://host:port` it is bound to. */
export const listenActivator = (activator: Activator, port: number, address: string | undefined) =>
  listenOn(activator.server, 'http', port, address);

/** `server` listens; resolves to the `<scheme>://host:port` it is bound to. */
const listenOn = async (server: NetServer, scheme: string, port: number, address: string | undefined) => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { url: `${scheme}://${host}:${bound.port}`, port: bound.port };
};

/**
 * Starts /metrics and /healthz + /readyz with the activator's readiness: `routes` once the
 * ScaledObjects, Services and EndpointSlices were listed, `activator` until it drains (the
 * Service then stops sending it new connections). Served before the watches start, so a slow
 * first list shows as not ready rather than as a dead pod.
 */
export const serveActivatorObservability = async (
  opts: ActivatorObservabilityOptions & { readonly log: Logger },
  routing: ActivatorRouting,
  activator: () => Activator | undefined,
): Promise<ActivatorObservability & { readonly servers: ObservabilityServers }> => {
  const metrics = opts.metrics ?? new EbbMetrics(ebbBuildInfo(), opts.metricsDetail);
  const health = opts.health ?? new HealthChecks();
  health.addReadiness('routes', () =>
    routing.synced ? true : 'ScaledObjects, Services and EndpointSlices not listed yet',
  );
  health.addReadiness('activator', () => (activator()?.draining() === true ? 'draining' : true));
  const servers = await serveObservability({
    metrics,
    health,
    metricsPort: opts.metricsPort,
    healthPort: opts.healthPort,
    log: opts.log,
  });
  return { metrics, health, metricsUrl: servers.metricsUrl, healthUrl: servers.healthUrl, servers };
};

/** The Kubernetes client both shapes share: closed after everything that uses it stopped. */
export const kubeClientComponent = (client: KubeClient): Component => ({
  name: 'kubernetes client',
  start: () => undefined,
  stop: () => client.close(),
});

/** The ScaledObject, Service and EndpointSlice watches; a failed first list stops them again. */
export const routingComponent = (routing: ActivatorRouting): Component => ({
  name: 'routing',
  start: async () => {
    try {
      await routing.start();
    } catch (err) {
      await routing.stop();
      throw err;
    }
  },
  stop: () => routing.stop(),
});

/** Where the activator components put what they started. */
export interface ServedActivator {
  /** Set by the first of drain() (true) and stop() (false). */
  graceful: boolean | undefined;
  observed: (ActivatorObservability & { readonly servers: ObservabilityServers }) | undefined;
  activator: Activator | undefined;
  url: string;
  port: number;
  tlsUrl: string | undefined;
  tlsPort: number | undefined;
}

/** /metrics and /healthz + /readyz (serveActivatorObservability) as a component. */
export const activatorObservabilityComponent = (
  opts: ActivatorObservabilityOptions & { readonly log: Logger },
  routing: ActivatorRouting,
  served: ServedActivator,
): Component => ({
  name: 'observability',
  start: async () => {
    served.observed = await serveActivatorObservability(opts, routing, () => served.activator);
  },
  stop: () => served.observed?.servers.close(),
});

/**
 * The activator as two components: `serving` creates it (through `create`) and listens, and on
 * stop closes it (a no-op after a drain) and runs `afterClose`; `drain`, listed after what the
 * held requests need (the controller in one process), drains it (or closes it at once after
 * stop()) before those stop.
 */
export const activatorComponents = (opts: {
  readonly create: () => Activator;
  readonly port: number;
  /** The TLS listener's port, when the activator has one (0: any free one). */
  readonly tlsPort?: number | undefined;
  readonly address: string | undefined;
  readonly afterClose?: () => Promise<void> | void;
  readonly served: ServedActivator;
}): { readonly serving: Component; readonly drain: Component } => {
  const { served } = opts;
  return {
    serving: {
      name: 'activator',
      start: async () => {
        const activator = opts.create();
        served.activator = activator;
        try {
          const bound = await listenActivator(activator, opts.port, opts.address);
          served.url = bound.url;
          served.port = bound.port;
          if (activator.tlsServer !== undefined) {
            const tls = await listenOn(activator.tlsServer, 'https', opts.tlsPort ?? 0, opts.address);
            served.tlsUrl = tls.url;
            served.tlsPort = tls.port;
          }
        } catch (err) {
          await activator.close();
          await opts.afterClose?.();
          throw err;
        }
      },
      stop: async () => {
        await served.activator?.close();
        await opts.afterClose?.();
      },
    },
    drain: {
      name: 'activator drain',
      start: () => undefined,
      stop: () => (served.graceful === true ? served.activator?.drain() : served.activator?.close()),
    },
  };
};

/** The fresh ServedActivator both shapes fill. */
export const servedActivator = (): ServedActivator => ({
  graceful: undefined,
  observed: undefined,
  activator: undefined,
  url: '',
  port: 0,
  tlsUrl: undefined,
  tlsPort: undefined,
});

/** What both shapes hand back once `components` started; drain() and stop() stop them all. */
export const runningActivatorProcess = (
  served: ServedActivator,
  routing: ActivatorRouting,
  components: Components,
): RunningActivatorProcess => {
  const { observed, activator } = served;
  if (observed === undefined || activator === undefined)
    throw new Error('ebb activator: a component did not start');
  const stopWith = (graceful: boolean): Promise<void> => {
    served.graceful ??= graceful;
    return components.stop();
  };
  return {
    activator,
    endpoints: routing.endpoints,
    url: served.url,
    port: served.port,
    tlsUrl: served.tlsUrl,
    tlsPort: served.tlsPort,
    metrics: observed.metrics,
    health: observed.health,
    metricsUrl: observed.metricsUrl,
    healthUrl: observed.healthUrl,
    routes: () => routing.routes(),
    drain: () => stopWith(true),
    stop: () => stopWith(false),
  };
};
