// `ebb activator` (wiring only), in one of two shapes:
//
// Without --controller-url: the controller and the activator in one process.
//   ActivatorRouting (ScaledObjects, Services, EndpointSlices) ──routes──▶ activator
//   activator.onStats (every second) ──▶ ActivationFeed ──bindConcurrencyFeed──▶ http scalers
//   activator.poke(route, held) ──▶ fresh snapshot into the feed, controller.poke(ScaledObject)
//   No leader election: a standby's activator would report to nobody.
//
// With --controller-url URL (repeatable): a standalone activator replica (a Deployment of its
// own, several replicas). Same routing; its stats go every second, its pokes at once, and a
// goodbye on drain, to every controller each URL names (src/activator/reporter.ts resolves a
// headless Service's name to every controller pod → their src/controller/activator-reports.ts,
// which sum the replicas by id).
//
// Both shapes serve /metrics (--metrics-port: ebb_activator_*, and in one process the
// controller's metrics from the same registry) and /healthz + /readyz (--health-port: ready
// once the watches listed, until it drains), before the watches start.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { bindConcurrencyFeed } from '../../scalers/http/feed.ts';
import { ActivatorReporter, type ActivatorReporterOptions } from '../activator/reporter.ts';
import { type Activator, type ActivatorLimits, createActivator } from '../activator/server.ts';
import type { ActivatorStats } from '../activator/stats.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { type HttpRoutes, scaledObjectKeyOfRoute } from '../controller/http-routes.ts';
import { bindServicePortView } from '../controller/route-claims.ts';
import { logger as defaultLogger, type Logger } from '../logging.ts';
import { HealthChecks } from '../observability/health.ts';
import { EbbMetrics, ebbBuildInfo } from '../observability/metrics.ts';
import { type ObservabilityServers, servedPort, serveObservability } from '../observability/server.ts';
import { KubeClient, loadKubeConfig } from '../platform/kubernetes/client.ts';
import type { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { ActivatorRouting } from './activator-routing.ts';
import { portNumber, positiveInt, seconds } from './flags.ts';
import type { CliIO } from './io.ts';
import {
  DEFAULT_HEALTH_PORT,
  DEFAULT_METRICS_PORT,
  type RunControllerOptions,
  type RunningController,
  runController,
} from './run.ts';

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
  /** How often the activator's counters reach the feed; default 1000 ms. */
  readonly statsIntervalMs?: number;
}

export interface RunningActivator extends ActivatorObservability {
  readonly controller: RunningController;
  readonly activator: Activator;
  readonly feed: ActivationFeed;
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

export const DEFAULT_ACTIVATOR_PORT = 8080;

const defaultId = (): string => process.env.POD_NAME ?? `${hostname()}_${randomUUID().slice(0, 8)}`;

/** Listens; resolves to the `http://host:port` it is bound to. */
const listen = async (activator: Activator, port: number, address: string | undefined) => {
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
const serveActivatorObservability = async (
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

export const runActivatorController = async (opts: RunActivatorOptions = {}): Promise<RunningActivator> => {
  const log = opts.log ?? defaultLogger;
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const feed = new ActivationFeed();
  const id = opts.activatorId ?? defaultId();
  const routing = new ActivatorRouting(client, { namespace: opts.namespace, log });
  let running: RunningController | undefined;
  let activator: Activator | undefined;
  let observed: Awaited<ReturnType<typeof serveActivatorObservability>>;
  try {
    observed = await serveActivatorObservability({ ...opts, log }, routing, () => activator);
  } catch (err) {
    await client.close();
    throw err;
  }
  const { metrics, health, servers } = observed;
  try {
    await routing.start();
  } catch (err) {
    await routing.stop();
    await servers.close();
    await client.close();
    throw err;
  }
  // The routes left out for their named port travel with the stats (the controller's conditions).
  const withUnresolved = (stats: ActivatorStats): ActivatorStats => ({
    ...stats,
    unresolved: routing.unresolved(),
  });

  const created = createActivator({
    endpoints: routing.endpoints,
    routes: [],
    id,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    onStats: (stats) => feed.record(withUnresolved(stats)),
    statsIntervalMs: opts.statsIntervalMs ?? 1000,
    poke: (route) => {
      // The poll must see the held request: the feed gets a snapshot taken now.
      feed.record(withUnresolved(created.stats()));
      running?.controller()?.poke(scaledObjectKeyOfRoute(route));
    },
    observer: metrics,
  });
  activator = created;
  routing.attach((built) => {
    const conflicts = created.setRoutes(built.routes);
    feed.setAliases(built.aliases);
    // New routes are readable at once, not after the next push.
    feed.record(withUnresolved(created.stats()));
    return conflicts;
  });
  const unbindFeed = bindConcurrencyFeed(feed);
  const unbindPorts = bindServicePortView(feed);
  const unbind = () => {
    unbindPorts();
    unbindFeed();
  };

  let bound: { url: string; port: number };
  try {
    bound = await listen(created, opts.port ?? DEFAULT_ACTIVATOR_PORT, opts.address);
    // One registry and one set of checks for both; the ports are served above.
    running = await runController({
      ...opts,
      log,
      leaderElect: false,
      metrics,
      health,
      metricsPort: undefined,
      healthPort: undefined,
      reportPort: undefined,
    });
  } catch (err) {
    await created.close();
    unbind();
    await routing.stop();
    await servers.close();
    await client.close();
    throw err;
  }
  const controller = running;

  const shutdown = async (graceful: boolean): Promise<void> => {
    if (graceful) await created.drain();
    else await created.close();
    feed.forget(id);
    unbind();
    await controller.stop();
    await routing.stop();
    await client.close();
    await servers.close();
  };
  let stopping: Promise<void> | undefined;
  return {
    controller,
    activator: created,
    feed,
    endpoints: routing.endpoints,
    url: bound.url,
    port: bound.port,
    metrics,
    health,
    metricsUrl: observed.metricsUrl,
    healthUrl: observed.healthUrl,
    routes: () => routing.routes(),
    drain: () => {
      stopping ??= shutdown(true);
      return stopping;
    },
    stop: () => {
      stopping ??= shutdown(false);
      return stopping;
    },
  };
};

// ---- standalone: the activator as its own Deployment ----

export interface RunStandaloneActivatorOptions extends ActivatorObservabilityOptions {
  readonly kubeconfig?: string | undefined;
  readonly namespace?: string | undefined;
  /** Base URLs of the controllers' report receivers (`ebb run --report-port`); at least one. */
  readonly controllerUrls: readonly string[];
  readonly port?: number;
  readonly address?: string;
  readonly activatorId?: string;
  readonly limits?: Partial<ActivatorLimits>;
  /** How often stats are pushed; default 1000 ms. */
  readonly statsIntervalMs?: number;
  /** The reporter's resolution of the URLs' host names (tests); see src/activator/reporter.ts. */
  readonly resolve?: ActivatorReporterOptions['resolve'];
  readonly log?: Logger;
}

export interface RunningStandaloneActivator extends ActivatorObservability {
  readonly id: string;
  readonly activator: Activator;
  readonly reporter: ActivatorReporter;
  readonly endpoints: KubeEndpointSource;
  readonly url: string;
  readonly port: number;
  routes(): HttpRoutes;
  /** Graceful: drains, says goodbye to every controller, stops. */
  drain(): Promise<void>;
  /** Immediate: held requests get 503, connections are cut; still says goodbye. */
  stop(): Promise<void>;
}

export const runStandaloneActivator = async (
  opts: RunStandaloneActivatorOptions,
): Promise<RunningStandaloneActivator> => {
  if (opts.controllerUrls.length === 0) throw new Error('--controller-url: at least one URL is needed');
  const log = opts.log ?? defaultLogger;
  const id = opts.activatorId ?? defaultId();
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  // No controller here to drop a deleted object's series: the routing does.
  let metricsRef: EbbMetrics | undefined;
  const routing = new ActivatorRouting(client, {
    namespace: opts.namespace,
    log,
    onDeleted: (namespace, name) => metricsRef?.removed(namespace, name),
  });
  let activator: Activator | undefined;
  let observed: Awaited<ReturnType<typeof serveActivatorObservability>>;
  try {
    observed = await serveActivatorObservability({ ...opts, log }, routing, () => activator);
  } catch (err) {
    await client.close();
    throw err;
  }
  const { metrics, servers } = observed;
  metricsRef = metrics;
  let reporter: ActivatorReporter;
  try {
    reporter = new ActivatorReporter({
      urls: opts.controllerUrls,
      log,
      ...(opts.resolve === undefined ? {} : { resolve: opts.resolve }),
    });
  } catch (err) {
    await servers.close();
    await client.close();
    throw err;
  }
  try {
    await routing.start();
  } catch (err) {
    reporter.close();
    await routing.stop();
    await servers.close();
    await client.close();
    throw err;
  }
  // Aliases travel with the stats (the controller scales scalers keyed by hosts|paths as well),
  // and so do the routes left out for their named port (the controller's conditions).
  const withAliases = (stats: ActivatorStats): ActivatorStats => ({
    ...stats,
    aliases: Object.fromEntries(routing.routes().aliases),
    unresolved: routing.unresolved(),
  });
  const created = createActivator({
    endpoints: routing.endpoints,
    routes: [],
    id,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    onStats: (stats) => reporter.stats(withAliases(stats)),
    statsIntervalMs: opts.statsIntervalMs ?? 1000,
    poke: (route, held) => {
      const stats = withAliases(created.stats());
      reporter.poke({ activator: id, route, held, at: stats.at, stats });
    },
    observer: metrics,
  });
  activator = created;
  routing.attach((built) => {
    const conflicts = created.setRoutes(built.routes);
    reporter.stats(withAliases(created.stats()));
    return conflicts;
  });
  let bound: { url: string; port: number };
  try {
    bound = await listen(created, opts.port ?? DEFAULT_ACTIVATOR_PORT, opts.address);
  } catch (err) {
    await created.close();
    reporter.close();
    await routing.stop();
    await servers.close();
    await client.close();
    throw err;
  }
  const shutdown = async (graceful: boolean): Promise<void> => {
    if (graceful) await created.drain();
    else await created.close();
    await reporter.goodbye(id);
    reporter.close();
    await routing.stop();
    await client.close();
    await servers.close();
  };
  let stopping: Promise<void> | undefined;
  return {
    id,
    activator: created,
    reporter,
    endpoints: routing.endpoints,
    url: bound.url,
    port: bound.port,
    metrics,
    health: observed.health,
    metricsUrl: observed.metricsUrl,
    healthUrl: observed.healthUrl,
    routes: () => routing.routes(),
    drain: () => {
      stopping ??= shutdown(true);
      return stopping;
    },
    stop: () => {
      stopping ??= shutdown(false);
      return stopping;
    },
  };
};

// ---- the command ----

interface ActivatorFlags {
  kubeconfig?: string;
  namespace?: string;
  port: number;
  address?: string;
  maxHeldRequests?: number;
  drainTimeout?: number;
  responseTimeout?: number;
  controllerUrl: string[];
  healthPort: number;
  metricsPort: number;
}

const collectUrl = (value: string, previous: string[]): string[] => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  return [...previous, value];
};

const buildCommand = (io: CliIO): Command =>
  new Command('ebb activator')
    .description(
      'run the HTTP activator: requests for http triggers are routed, counted and held across scale-from-zero. ' +
        'Without --controller-url the controller runs in the same process; with it, this is one activator ' +
        'replica reporting to the controllers (`ebb run --report-port`)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace <ns>', 'watch ScaledObjects, Services and EndpointSlices in this namespace only')
    .option('--port <n>', 'port the activator listens on', portNumber, DEFAULT_ACTIVATOR_PORT)
    .option('--address <ip>', 'address the activator listens on (default: all interfaces)')
    .option('--max-held-requests <n>', 'requests held at once across all routes (default 10000)', positiveInt)
    .option('--drain-timeout <s>', 'seconds SIGTERM waits for in-flight requests (default 30)', seconds)
    .option(
      '--response-timeout <s>',
      'seconds a forwarded request waits for the response head before a 504 (default 300)',
      seconds,
    )
    .option('--health-port <n>', 'port of /healthz and /readyz (0: off)', portNumber, DEFAULT_HEALTH_PORT)
    .option(
      '--metrics-port <n>',
      "port of Prometheus /metrics (0: off; without --controller-url also the controller's metrics)",
      portNumber,
      DEFAULT_METRICS_PORT,
    )
    .option(
      '--controller-url <url>',
      'a controller replica to report to (repeatable; e.g. http://ebb-controller-0.ebb:9091); makes this a standalone activator',
      collectUrl,
      [],
    )
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

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

/** `ebb activator [flags]`: runs until SIGINT/SIGTERM, then drains; resolves to the exit code. */
export const activatorCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const command = buildCommand(io);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (err) {
    return err instanceof CommanderError ? err.exitCode : 2;
  }
  const flags = command.opts<ActivatorFlags>();
  const limits: Partial<ActivatorLimits> = {
    ...(flags.maxHeldRequests === undefined ? {} : { maxHeldRequests: flags.maxHeldRequests }),
    ...(flags.drainTimeout === undefined ? {} : { drainTimeoutMs: flags.drainTimeout }),
    ...(flags.responseTimeout === undefined ? {} : { responseTimeoutMs: flags.responseTimeout }),
  };
  const common = {
    kubeconfig: flags.kubeconfig,
    namespace: flags.namespace,
    port: flags.port,
    ...(flags.address === undefined ? {} : { address: flags.address }),
    limits,
    healthPort: servedPort(flags.healthPort),
    metricsPort: servedPort(flags.metricsPort),
  };
  let running: ActivatorObservability & { url: string; drain(): Promise<void> };
  try {
    running =
      flags.controllerUrl.length === 0
        ? await runActivatorController(common)
        : await runStandaloneActivator({ ...common, controllerUrls: flags.controllerUrl });
  } catch (err) {
    io.stderr.write(`ebb activator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const served = [
    ...(running.metricsUrl === undefined ? [] : [`/metrics on ${running.metricsUrl}`]),
    ...(running.healthUrl === undefined ? [] : [`/healthz and /readyz on ${running.healthUrl}`]),
  ];
  io.stderr.write(
    `${
      flags.controllerUrl.length === 0
        ? `ebb activator: controller running, activator listening on ${running.url}`
        : `ebb activator: listening on ${running.url}, reporting to ${flags.controllerUrl.join(', ')}`
    }${served.length === 0 ? '' : `; ${served.join(', ')}`}\n`,
  );
  const signal = await waitForSignal();
  io.stderr.write(`ebb activator: ${signal}, draining\n`);
  await running.drain();
  return 0;
};
