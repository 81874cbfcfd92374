// `ebb activator --controller-url URL` (repeatable): a standalone activator replica (a
// Deployment of its own, several replicas). The same routing as in one process; its stats go
// every second, its pokes at once, and a goodbye on drain, to every controller each URL names
// (src/activator/reporter.ts resolves a headless Service's name to every controller pod → their
// src/controller/activator-reports.ts, which sum the replicas by id), each with the activator's
// ServiceAccount token (src/activator/report-token.ts) for the controller's TokenReview.

import type { BackendTls } from '../activator/backend-tls.ts';
import { DEFAULT_REPORT_TOKEN_FILE, ReportToken } from '../activator/report-token.ts';
import { ActivatorReporter, type ActivatorReporterOptions } from '../activator/reporter.ts';
import type { ActivatorLimits } from '../activator/server.ts';
import type { HoldTracer } from '../activator/tracing.ts';
import { Components } from '../lifecycle/components.ts';
import { logger as defaultLogger, type Logger } from '../logging.ts';
import { ebbBuildInfo } from '../observability/build-info.ts';
import { KubeClient, loadKubeConfig, userAgent } from '../platform/kubernetes/client.ts';
import {
  type ActivatorObservabilityOptions,
  activatorComponents,
  activatorObservabilityComponent,
  createRoutedActivator,
  DEFAULT_ACTIVATOR_PORT,
  defaultActivatorId,
  kubeClientComponent,
  type RunningActivatorProcess,
  routingComponent,
  runningActivatorProcess,
  servedActivator,
} from './activator-process.ts';
import { ActivatorRouting } from './activator-routing.ts';
import { type ActivatorTlsOptions, activatorTls } from './activator-tls.ts';

export interface RunStandaloneActivatorOptions extends ActivatorObservabilityOptions {
  readonly kubeconfig?: string | undefined;
  readonly namespace?: string | undefined;
  /** Base URLs of the controllers' report receivers (`ebb run --report-port`); at least one. */
  readonly controllerUrls: readonly string[];
  readonly port?: number;
  readonly address?: string;
  readonly activatorId?: string;
  readonly limits?: Partial<ActivatorLimits>;
  /** CIDRs of the proxies in front whose X-Forwarded-Proto/-Host and Forwarded are believed. */
  readonly trustedProxies?: readonly string[];
  /** How often stats are pushed; default 1000 ms. */
  readonly statsIntervalMs?: number;
  /** A TLS listener with certificates from Secrets (src/cli/activator-tls.ts); default none. */
  readonly tls?: ActivatorTlsOptions | undefined;
  /** One span per held request (src/activator/tracing.ts); default none. */
  readonly tracer?: HoldTracer;
  /** How https endpoints are verified (src/activator/backend-tls.ts); default node's CAs. */
  readonly backendTls?: BackendTls;
  /**
   * The ServiceAccount token file sent with every report (the controller verifies it with a
   * TokenReview); default DEFAULT_REPORT_TOKEN_FILE. false: send none (only for a controller
   * run with --report-auth=none; logged as a warning).
   */
  readonly reportTokenFile?: string | false;
  /** The reporter's resolution of the URLs' host names (tests); see src/activator/reporter.ts. */
  readonly resolve?: ActivatorReporterOptions['resolve'];
  readonly log?: Logger;
}

/** `drain` and `stop` also say goodbye to every controller. */
export interface RunningStandaloneActivator extends RunningActivatorProcess {
  readonly id: string;
  readonly reporter: ActivatorReporter;
}

export const runStandaloneActivator = async (
  opts: RunStandaloneActivatorOptions,
): Promise<RunningStandaloneActivator> => {
  if (opts.controllerUrls.length === 0) throw new Error('--controller-url: at least one URL is needed');
  const log = opts.log ?? defaultLogger;
  const id = opts.activatorId ?? defaultActivatorId();
  const tokenFile = opts.reportTokenFile ?? DEFAULT_REPORT_TOKEN_FILE;
  // First: without its token the activator could report nothing, so it does not start.
  const token = tokenFile === false ? undefined : await ReportToken.load(tokenFile, log);
  if (token === undefined)
    log.warn(
      'reporting WITHOUT a token (--report-token-file=none): a controller that authenticates refuses every report',
    );
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig), undefined, {
    userAgent: userAgent(ebbBuildInfo().version, 'activator'),
  });
  const served = servedActivator();
  const tls =
    opts.tls === undefined ? undefined : activatorTls(client, opts.tls, log, () => served.observed?.metrics);
  // No controller here to drop a deleted object's series: the routing does.
  const routing = new ActivatorRouting(client, {
    namespace: opts.namespace,
    log,
    onDeleted: (namespace, name) => served.observed?.metrics.removed(namespace, name),
  });
  let reporter: ActivatorReporter | undefined;
  const activator = activatorComponents({
    create: () => {
      if (served.observed === undefined || reporter === undefined)
        throw new Error('the reporter is not running');
      const to = reporter;
      return createRoutedActivator({
        routing,
        sink: {
          stats: (stats) => to.stats(stats),
          poke: (route, held, stats) => to.poke({ activator: id, route, held, at: stats.at, stats }),
        },
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
    served,
  });
  // Components in start order (stopped in reverse): the drain first, then the goodbye to every
  // controller, then the token, the watches, the client and the servers.
  const components = new Components(
    [
      kubeClientComponent(client),
      activatorObservabilityComponent({ ...opts, log }, routing, served),
      routingComponent(routing),
      { name: 'report token', start: () => undefined, stop: () => token?.close() },
      {
        name: 'reporter',
        start: () => {
          reporter = new ActivatorReporter({
            urls: opts.controllerUrls,
            log,
            ...(opts.resolve === undefined ? {} : { resolve: opts.resolve }),
            ...(token === undefined ? {} : { credentials: token }),
          });
        },
        stop: async () => {
          await reporter?.goodbye(id);
          reporter?.close();
        },
      },
      ...(tls === undefined ? [] : [tls.component]),
      activator.serving,
      activator.drain,
    ],
    { log },
  );
  try {
    await components.start();
  } catch (err) {
    // The token was loaded before the components; a failed start still stops its re-reads.
    token?.close();
    throw err;
  }
  if (reporter === undefined) throw new Error('ebb activator: the reporter did not start');
  return { ...runningActivatorProcess(served, routing, components), id, reporter };
};
