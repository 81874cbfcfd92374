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
// goodbye on drain, to every URL (src/activator/reporter.ts → the controllers'
// src/controller/activator-reports.ts, which sum the replicas by id).
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { bindConcurrencyFeed } from '../../scalers/http/feed.ts';
import { ActivatorReporter } from '../activator/reporter.ts';
import { type Activator, type ActivatorLimits, createActivator } from '../activator/server.ts';
import type { ActivatorStats } from '../activator/stats.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { type HttpRoutes, scaledObjectKeyOfRoute } from '../controller/http-routes.ts';
import { bindServicePortView } from '../controller/route-claims.ts';
import { logger as defaultLogger, type Logger } from '../logging.ts';
import { KubeClient, loadKubeConfig } from '../platform/kubernetes/client.ts';
import type { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { ActivatorRouting } from './activator-routing.ts';
import { portNumber, positiveInt, seconds } from './flags.ts';
import type { CliIO } from './io.ts';
import { type RunControllerOptions, type RunningController, runController } from './run.ts';

export interface RunActivatorOptions extends Omit<RunControllerOptions, 'leaderElect'> {
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

export const runActivatorController = async (opts: RunActivatorOptions = {}): Promise<RunningActivator> => {
  const log = opts.log ?? defaultLogger;
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const feed = new ActivationFeed();
  const id = opts.activatorId ?? defaultId();
  const routing = new ActivatorRouting(client, { namespace: opts.namespace, log });
  let running: RunningController | undefined;
  await routing.start();
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
  });
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
    running = await runController({ ...opts, log, leaderElect: false });
  } catch (err) {
    await created.close();
    unbind();
    await routing.stop();
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
  };
  let stopping: Promise<void> | undefined;
  return {
    controller,
    activator: created,
    feed,
    endpoints: routing.endpoints,
    url: bound.url,
    port: bound.port,
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

export interface RunStandaloneActivatorOptions {
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
  readonly log?: Logger;
}

export interface RunningStandaloneActivator {
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
  const reporter = new ActivatorReporter({ urls: opts.controllerUrls, log });
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const routing = new ActivatorRouting(client, { namespace: opts.namespace, log });
  await routing.start();
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
  });
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
  };
  let stopping: Promise<void> | undefined;
  return {
    id,
    activator: created,
    reporter,
    endpoints: routing.endpoints,
    url: bound.url,
    port: bound.port,
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
  };
  let running: { url: string; drain(): Promise<void> };
  try {
    running =
      flags.controllerUrl.length === 0
        ? await runActivatorController(common)
        : await runStandaloneActivator({ ...common, controllerUrls: flags.controllerUrl });
  } catch (err) {
    io.stderr.write(`ebb activator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  io.stderr.write(
    flags.controllerUrl.length === 0
      ? `ebb activator: controller running, activator listening on ${running.url}\n`
      : `ebb activator: listening on ${running.url}, reporting to ${flags.controllerUrl.join(', ')}\n`,
  );
  const signal = await waitForSignal();
  io.stderr.write(`ebb activator: ${signal}, draining\n`);
  await running.drain();
  return 0;
};
