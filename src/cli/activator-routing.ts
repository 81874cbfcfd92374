// The activator's view of the cluster (wiring only), shared by `ebb activator` with and without
// --controller-url:
//
//   ScaledObjects (watch) ──http triggers──▶ HttpRouteIndex ──routes──▶ activator.setRoutes
//   Services + EndpointSlices (watch) ──ready endpoints──▶ activator (per-service waiters)
//   unresolved ports, host/path conflicts ──▶ Warning Events on the ScaledObject
//
// One rebuild per turn of the event loop, however many objects or Services changed in it.
import type { RouteConflict } from '../activator/routes.ts';
import {
  HttpRouteIndex,
  type HttpRoutes,
  RouteProblemEvents,
  routeProblems,
} from '../controller/http-routes.ts';
import type { Logger } from '../logging.ts';
import type { KubeClient } from '../platform/kubernetes/client.ts';
import { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { KubeEventRecorder } from '../platform/kubernetes/events.ts';
import { KubeScaledObjectSource } from '../platform/kubernetes/scaledobjects.ts';

export interface ActivatorRoutingOptions {
  readonly namespace?: string | undefined;
  readonly log: Logger;
  /** Events' reportingInstance (this activator's id). */
  readonly identity: string;
  readonly eventRefreshMs?: number | undefined;
}

/** Where built routes go: the activator's table; returns its conflicts. */
export type RouteSink = (routes: HttpRoutes) => readonly RouteConflict[];

export class ActivatorRouting {
  readonly index = new HttpRouteIndex();
  readonly endpoints: KubeEndpointSource;
  private readonly objects: KubeScaledObjectSource;
  private readonly events: KubeEventRecorder;
  private readonly problems: RouteProblemEvents;
  private current: HttpRoutes = { routes: [], aliases: new Map(), unresolved: [] };
  private lastBuilt = '';
  private sink: RouteSink | undefined;
  private pending = false;

  constructor(
    client: KubeClient,
    private readonly opts: ActivatorRoutingOptions,
  ) {
    this.endpoints = new KubeEndpointSource(client, {
      namespace: opts.namespace,
      log: opts.log,
      onServiceChange: () => this.schedule(),
    });
    this.objects = new KubeScaledObjectSource(client, opts.namespace, opts.log);
    this.events = new KubeEventRecorder(client, {
      instance: opts.identity,
      log: opts.log,
      ...(opts.eventRefreshMs === undefined ? {} : { refreshMs: opts.eventRefreshMs }),
    });
    this.problems = new RouteProblemEvents(this.events, this.index);
  }

  /** Starts the watches and waits for their first lists. */
  async start(): Promise<void> {
    await this.endpoints.start();
    await this.objects.start((_verb, key) => {
      if (this.index.update(key, this.objects.get(key))) this.schedule();
    });
    for (const key of this.objects.keys()) this.index.update(key, this.objects.get(key));
  }

  /** From now on routes go to `sink`; builds once at once. */
  attach(sink: RouteSink): void {
    this.sink = sink;
    this.rebuild();
  }

  routes(): HttpRoutes {
    return this.current;
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await Promise.all([this.endpoints.stop(), this.objects.stop()]);
    await this.events.close();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => this.rebuild());
  }

  private rebuild(): void {
    this.pending = false;
    const sink = this.sink;
    if (sink === undefined) return;
    const built = this.index.build((ns, name, port) => this.endpoints.servicePort(ns, name, port));
    const text = JSON.stringify([built.routes, built.unresolved]);
    if (text === this.lastBuilt) return;
    this.lastBuilt = text;
    this.current = built;
    const problems = routeProblems(built, sink(built));
    for (const p of problems) this.opts.log.warn({ route: p.route, reason: p.reason }, p.note);
    this.problems.report(problems);
    this.opts.log.info({ routes: built.routes.length }, 'activator routes updated');
  }
}
