// What both shapes of `ebb activator` (src/cli/activator-with-controller.ts and
// src/cli/standalone-activator.ts) share: the activator's default id and port, its listen, and
// its /metrics (--metrics-port: ebb_activator_*, and in one process the controller's metrics from
// the same registry) and /healthz + /readyz (--health-port: ready once the watches listed, until
// it drains), served before the watches start.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { ActivatorObserver } from '../activator/observer.ts';
import { type Activator, type ActivatorLimits, createActivator } from '../activator/server.ts';
import type { ActivatorStats } from '../activator/stats.ts';
import type { HttpRoutes } from '../controller/http-routes.ts';
import type { Logger } from '../logging.ts';
import { HealthChecks } from '../observability/health.ts';
import { EbbMetrics, ebbBuildInfo } from '../observability/metrics.ts';
import { type ObservabilityServers, serveObservability } from '../observability/server.ts';
import type { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import type { ActivatorRouting } from './activator-routing.ts';

/** Prometheus /metrics and /healthz + /readyz of an activator process. */
export interface ActivatorObservabilityOptions {
  /** Its Prometheus metrics (the activator's observer); default: a new EbbMetrics. */
  readonly metrics?: EbbMetrics;
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
    onStats: (stats) => sink.stats(withRouting(stats)),
    statsIntervalMs: opts.statsIntervalMs ?? 1000,
    poke: (route, held) => sink.poke(route, held, withRouting(activator.stats())),
    observer: opts.observer,
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
export const listenActivator = async (activator: Activator, port: number, address: string | undefined) => {
  await new Promise<void>((resolve, reject) => {
    activator.server.once('error', reject);
    activator.server.listen(port, address, () => {
      activator.server.off('error', reject);
      resolve();
    });
  });
  const bound = activator.server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { url: `http://${host}:${bound.port}`, port: bound.port };
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
  const metrics = opts.metrics ?? new EbbMetrics(ebbBuildInfo());
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
