// `ebb activator` without --controller-url: the controller and the activator in one process.
//   ActivatorRouting (ScaledObjects, Services, EndpointSlices) ──routes──▶ activator
//   activator.onStats (every second) ──▶ ActivationFeed ──ScalerDeps──▶ http scalers
//   activator.poke(route, held) ──▶ fresh snapshot into the feed, controller.poke(ScaledObject)
//   No leader election: a standby's activator would report to nobody.
import type { Activator, ActivatorLimits } from '../activator/server.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { scaledObjectKeyOfRoute } from '../controller/http-routes.ts';
import { logger as defaultLogger } from '../logging.ts';
import { KubeClient, loadKubeConfig } from '../platform/kubernetes/client.ts';
import {
  createRoutedActivator,
  DEFAULT_ACTIVATOR_PORT,
  defaultActivatorId,
  listenActivator,
  type RunningActivatorProcess,
  serveActivatorObservability,
} from './activator-process.ts';
import { ActivatorRouting } from './activator-routing.ts';
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
}

export interface RunningActivator extends RunningActivatorProcess {
  readonly controller: RunningController;
  readonly feed: ActivationFeed;
}

export const runActivatorController = async (opts: RunActivatorOptions = {}): Promise<RunningActivator> => {
  const log = opts.log ?? defaultLogger;
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const feed = new ActivationFeed();
  const id = opts.activatorId ?? defaultActivatorId();
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
  const created = createRoutedActivator({
    routing,
    sink: {
      stats: (stats) => feed.record(stats),
      poke: (route, _held, stats) => {
        feed.record(stats);
        running?.controller()?.poke(scaledObjectKeyOfRoute(route));
      },
    },
    id,
    limits: opts.limits,
    trustedProxies: opts.trustedProxies,
    statsIntervalMs: opts.statsIntervalMs,
    observer: metrics,
  });
  activator = created;

  let bound: { url: string; port: number };
  try {
    bound = await listenActivator(created, opts.port ?? DEFAULT_ACTIVATOR_PORT, opts.address);
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
      activatorFeed: feed,
    });
  } catch (err) {
    await created.close();
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
