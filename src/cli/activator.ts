// `ebb activator`: the controller with the HTTP activator in the same process (wiring only).
//
//   ScaledObjects (watch) ──http triggers──▶ HttpRouteIndex ──routes──▶ activator.setRoutes
//   Services + EndpointSlices (watch) ──ready endpoints──▶ activator (per-service waiters)
//   activator.onStats (every second) ──▶ ActivationFeed ──bindConcurrencyFeed──▶ http scalers
//   activator.poke(route, held) ──▶ fresh snapshot into the feed, controller.poke(ScaledObject)
//
// In-process means one controller and its activator: no leader election (a standby's activator
// would report to nobody). Running activators as their own Deployment, reporting to the leader
// over HTTP, is the next step; the feed already sums several activators by id.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Command, CommanderError } from 'commander';
import { bindConcurrencyFeed } from '../../scalers/http/feed.ts';
import { type Activator, type ActivatorLimits, createActivator } from '../activator/server.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { HttpRouteIndex, type HttpRoutes, scaledObjectKeyOfRoute } from '../controller/http-routes.ts';
import { logger as defaultLogger } from '../logging.ts';
import { KubeClient, loadKubeConfig } from '../platform/kubernetes/client.ts';
import { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { KubeScaledObjectSource } from '../platform/kubernetes/scaledobjects.ts';
import { portNumber, positiveInt, seconds } from './flags.ts';
import type { CliIO } from './io.ts';
import { type RunControllerOptions, type RunningController, runController } from './run.ts';

export interface RunActivatorOptions extends Omit<RunControllerOptions, 'leaderElect'> {
  /** Listen port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Listen address; default all interfaces. */
  readonly address?: string;
  /** This activator's id in the stats; default `<hostname>_<random>`. */
  readonly activatorId?: string;
  readonly limits?: Partial<ActivatorLimits>;
  /** How often the activator's counters reach the feed; default 1000 ms. */
  readonly statsIntervalMs?: number;
}

export interface RunningActivator {
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

export const runActivatorController = async (opts: RunActivatorOptions = {}): Promise<RunningActivator> => {
  const log = opts.log ?? defaultLogger;
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const index = new HttpRouteIndex();
  const feed = new ActivationFeed();
  let current: HttpRoutes = { routes: [], aliases: new Map(), unresolved: [] };
  let lastRoutes = '[]';
  let activator: Activator | undefined;
  let running: RunningController | undefined;
  let rebuildPending = false;

  const endpoints = new KubeEndpointSource(client, {
    namespace: opts.namespace,
    log,
    onServiceChange: () => scheduleRebuild(),
  });
  const objects = new KubeScaledObjectSource(client, opts.namespace, log);

  const rebuild = (): void => {
    rebuildPending = false;
    if (activator === undefined) return;
    current = index.build((ns, name, port) => endpoints.servicePort(ns, name, port));
    const text = JSON.stringify(current.routes);
    if (text === lastRoutes) return;
    lastRoutes = text;
    for (const u of current.unresolved) log.warn({ route: u.route }, u.message);
    for (const c of activator.setRoutes(current.routes)) log.warn({ route: c.dropped }, c.message);
    feed.setAliases(current.aliases);
    feed.record(activator.stats()); // new routes are readable at once, not after the next push
    log.info({ routes: current.routes.length }, 'activator routes updated');
  };
  // One rebuild per turn of the event loop, however many objects or Services changed in it.
  function scheduleRebuild(): void {
    if (rebuildPending) return;
    rebuildPending = true;
    setImmediate(rebuild);
  }

  await endpoints.start();
  await objects.start((_verb, key) => {
    if (index.update(key, objects.get(key))) scheduleRebuild();
  });
  for (const key of objects.keys()) index.update(key, objects.get(key));

  const id = opts.activatorId ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  const created = createActivator({
    endpoints,
    routes: [],
    id,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    onStats: (stats) => feed.record(stats),
    statsIntervalMs: opts.statsIntervalMs ?? 1000,
    poke: (route) => {
      // The poll must see the held request: the feed gets a snapshot taken now.
      feed.record(created.stats());
      running?.controller()?.poke(scaledObjectKeyOfRoute(route));
    },
  });
  activator = created;
  rebuild();
  const unbind = bindConcurrencyFeed(feed);

  await new Promise<void>((resolve, reject) => {
    created.server.once('error', reject);
    created.server.listen(opts.port ?? DEFAULT_ACTIVATOR_PORT, opts.address, () => {
      created.server.off('error', reject);
      resolve();
    });
  });
  const bound = created.server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  try {
    running = await runController({ ...opts, log, leaderElect: false });
  } catch (err) {
    await created.close();
    unbind();
    await Promise.all([endpoints.stop(), objects.stop()]);
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
    await Promise.all([endpoints.stop(), objects.stop()]);
    await client.close();
  };
  let stopping: Promise<void> | undefined;
  return {
    controller,
    activator: created,
    feed,
    endpoints,
    url: `http://${host}:${bound.port}`,
    port: bound.port,
    routes: () => current,
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
}

const buildCommand = (io: CliIO): Command =>
  new Command('ebb activator')
    .description(
      'run the controller with the HTTP activator in the same process: requests for http triggers are routed, counted and held across scale-from-zero',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace <ns>', 'watch ScaledObjects, Services and EndpointSlices in this namespace only')
    .option('--port <n>', 'port the activator listens on', portNumber, DEFAULT_ACTIVATOR_PORT)
    .option('--address <ip>', 'address the activator listens on (default: all interfaces)')
    .option('--max-held-requests <n>', 'requests held at once across all routes (default 10000)', positiveInt)
    .option('--drain-timeout <s>', 'seconds SIGTERM waits for in-flight requests (default 30)', seconds)
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
  };
  let running: RunningActivator;
  try {
    running = await runActivatorController({
      kubeconfig: flags.kubeconfig,
      namespace: flags.namespace,
      port: flags.port,
      ...(flags.address === undefined ? {} : { address: flags.address }),
      limits,
    });
  } catch (err) {
    io.stderr.write(`ebb activator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  io.stderr.write(`ebb activator: controller running, activator listening on ${running.url}\n`);
  const signal = await waitForSignal();
  io.stderr.write(`ebb activator: ${signal}, draining\n`);
  await running.drain();
  return 0;
};
