// The activator's view of the cluster (wiring only), shared by `ebb activator` with and without
// --controller-url:
//
//   ScaledObjects (watch) ──http triggers──▶ HttpRouteIndex ──routes──▶ activator.setRoutes
//   Services + EndpointSlices (watch) ──ready endpoints──▶ activator (per-service waiters)
//   unresolved named ports ──▶ `routes().unresolved`, reported with the stats to the controller
//     (which writes the ServicePortUnresolved condition and Event; it finds host/path
//     conflicts itself, from the ScaledObjects: src/controller/route-claims.ts)
//
// One rebuild per turn of the event loop, however many objects or Services changed in it.

import type { UnresolvedPort } from '../activator/stats.ts';
import { HttpRouteIndex, type HttpRoutes } from '../controller/http-routes.ts';
import type { Logger } from '../logging.ts';
import type { KubeClient } from '../platform/kubernetes/client.ts';
import { KubeEndpointSource } from '../platform/kubernetes/endpoints.ts';
import { KubeScaledObjectSource } from '../platform/kubernetes/scaledobjects.ts';
import { DELETE } from '../platform/ports.ts';
import type { RouteConflict } from '../routing/routes.ts';

export interface ActivatorRoutingOptions {
  readonly namespace?: string | undefined;
  readonly log: Logger;
  /** A ScaledObject was deleted (a standalone activator drops its metric series then). */
  readonly onDeleted?: (namespace: string, name: string) => void;
}

/** Where built routes go: the activator's table; returns its conflicts. */
export type RouteSink = (routes: HttpRoutes) => readonly RouteConflict[];

export class ActivatorRouting {
  readonly index = new HttpRouteIndex();
  readonly endpoints: KubeEndpointSource;
  private readonly objects: KubeScaledObjectSource;
  private current: HttpRoutes = { routes: [], aliases: new Map(), unresolved: [] };
  private lastBuilt = '';
  private sink: RouteSink | undefined;
  private pending = false;
  private started = false;

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
  }

  /** Starts the watches and waits for their first lists. */
  async start(): Promise<void> {
    await this.endpoints.start();
    await this.objects.start((verb, key) => {
      if (this.index.update(key, this.objects.get(key))) this.schedule();
      if (verb === DELETE && this.opts.onDeleted !== undefined) {
        const slash = key.indexOf('/');
        this.opts.onDeleted(key.slice(0, slash), key.slice(slash + 1));
      }
    });
    for (const key of this.objects.keys()) this.index.update(key, this.objects.get(key));
    this.started = true;
  }

  /** True once the ScaledObjects, Services and EndpointSlices were first listed (readiness). */
  get synced(): boolean {
    return this.started;
  }

  /** From now on routes go to `sink`; builds once at once. */
  attach(sink: RouteSink): void {
    this.sink = sink;
    this.rebuild();
  }

  routes(): HttpRoutes {
    return this.current;
  }

  /** The routes left out for a named port that does not resolve, as the stats carry them. */
  unresolved(): UnresolvedPort[] {
    return this.current.unresolved.map(({ route, namespace, service, port }) => ({
      route,
      namespace,
      service,
      port,
    }));
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await Promise.all([this.endpoints.stop(), this.objects.stop()]);
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
    const conflicts = sink(built);
    for (const u of built.unresolved) this.opts.log.warn({ route: u.route }, `${u.message}; route left out`);
    for (const c of conflicts) this.opts.log.warn({ route: c.dropped }, c.message);
    this.opts.log.info({ routes: built.routes.length }, 'activator routes updated');
  }
}
