// The activator's routing table from ScaledObjects: one route per `http` trigger of every
// admitted, not deleted ScaledObject. Route key = `namespace/name` (the ScaledObject's key, the
// one a poke names), or `namespace/name#<index>` for a second http trigger of the same object.
// Objects are admitted once per resourceVersion (admission resolves every trigger); building the
// table from the index is then cheap, so it can be rebuilt whenever a Service changes too.
//
// A trigger's `port` may be a Service port name: it is resolved to the port number through the
// Service (`servicePort`); until the Service is known the route is left out and reported.
//
// Route problems (a named port that does not resolve, two objects claiming one host + path)
// become Warning Events on the ScaledObject (`RouteProblemEvents`), each once when it appears.
import { type HttpConfig, httpRouteKey, parseHttpMetadata } from '../../scalers/http/schema.ts';
import type { RouteConflict, RouteSpec } from '../activator/routes.ts';
import { HTTPRouteConflict, HTTPServicePortUnresolved } from '../api/reasons.ts';
import { API_VERSION } from '../api/scaledobject.ts';
import type { EventRecorder, ScaledObjectRef } from '../platform/ports.ts';
import { admitScaledObject } from './admission.ts';

interface HttpTrigger {
  readonly routeKey: string;
  readonly namespace: string;
  readonly config: HttpConfig;
}

interface Entry {
  readonly resourceVersion: string | undefined;
  readonly ref: ScaledObjectRef | undefined;
  readonly triggers: readonly HttpTrigger[];
}

export interface HttpRoutes {
  readonly routes: RouteSpec[];
  /** `httpRouteKey(config)` → route key (what the ActivationFeed's aliases are). */
  readonly aliases: Map<string, string>;
  /** Routes left out, with why (a named port whose Service is not known yet). */
  readonly unresolved: { readonly route: string; readonly port: string; readonly message: string }[];
}

/** Resolves a Service port given by number or name to its number; undefined when unknown. */
export type ServicePortResolver = (
  namespace: string,
  service: string,
  port: number | string,
) => number | undefined;

/** The ScaledObject key a route key names: `ns/name#1` → `ns/name`. */
export const scaledObjectKeyOfRoute = (routeKey: string): string => {
  const hash = routeKey.indexOf('#');
  return hash < 0 ? routeKey : routeKey.slice(0, hash);
};

const httpTriggersOf = (key: string, raw: unknown): HttpTrigger[] => {
  const admission = admitScaledObject(raw);
  if (!admission.ok || admission.object.metadata.deletionTimestamp !== undefined) return [];
  const slash = key.indexOf('/');
  const namespace = admission.object.metadata.namespace ?? key.slice(0, slash);
  const out: HttpTrigger[] = [];
  for (const resolved of admission.triggers) {
    if (resolved.trigger.type !== 'http') continue;
    const parsed = parseHttpMetadata({ index: resolved.index, trigger: resolved.trigger, authParams: {} });
    if (!parsed.ok) continue;
    out.push({
      routeKey: out.length === 0 ? key : `${key}#${resolved.index}`,
      namespace,
      config: parsed.value,
    });
  }
  return out;
};

export class HttpRouteIndex {
  private readonly entries = new Map<string, Entry>();

  /** The object under `key` now (undefined: deleted). True when its routes may have changed. */
  update(key: string, raw: unknown): boolean {
    if (raw === undefined) return this.entries.delete(key);
    const resourceVersion = (raw as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
    const rv = typeof resourceVersion === 'string' ? resourceVersion : undefined;
    const old = this.entries.get(key);
    if (old !== undefined && rv !== undefined && old.resourceVersion === rv) return false;
    const triggers = httpTriggersOf(key, raw);
    if (triggers.length === 0 && (old === undefined || old.triggers.length === 0)) {
      this.entries.delete(key);
      return false;
    }
    if (triggers.length === 0) this.entries.delete(key);
    else this.entries.set(key, { resourceVersion: rv, ref: refOf(key, raw), triggers });
    return true;
  }

  /** The ScaledObject (namespace, name, uid) a route key belongs to, for Events. */
  ref(routeKey: string): ScaledObjectRef | undefined {
    return this.entries.get(scaledObjectKeyOfRoute(routeKey))?.ref;
  }

  /** Keys of objects with at least one http trigger. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  build(servicePort: ServicePortResolver): HttpRoutes {
    const routes: RouteSpec[] = [];
    const aliases = new Map<string, string>();
    const unresolved: { route: string; port: string; message: string }[] = [];
    // Sorted, so that of two routes with the same hosts and paths the alias goes to the one the
    // routing table keeps (the key that sorts first).
    const keys = [...this.entries.keys()].sort();
    for (const key of keys) {
      for (const t of this.entries.get(key)?.triggers ?? []) {
        const c = t.config;
        const wanted = 'number' in c.port ? c.port.number : c.port.name;
        const port = servicePort(t.namespace, c.service, wanted);
        if (port === undefined) {
          unresolved.push({
            route: t.routeKey,
            port: String(wanted),
            message: `route ${t.routeKey}: Service ${t.namespace}/${c.service} has no port named "${wanted}" (or is not known yet)`,
          });
          continue;
        }
        routes.push({
          key: t.routeKey,
          hosts: c.hosts,
          pathPrefixes: c.pathPrefixes,
          service: c.service,
          port,
          containerConcurrency: c.containerConcurrency,
          holdTimeoutMs: c.holdTimeoutMs,
          maxHeldRequests: c.maxHeldRequests,
          healthPaths: c.healthPaths,
        });
        const alias = httpRouteKey(c);
        if (!aliases.has(alias)) aliases.set(alias, t.routeKey);
      }
    }
    return { routes, aliases, unresolved };
  }
}

const refOf = (key: string, raw: unknown): ScaledObjectRef | undefined => {
  const meta = (raw as { metadata?: { uid?: unknown; name?: unknown; namespace?: unknown } }).metadata;
  if (typeof meta?.uid !== 'string') return undefined;
  const slash = key.indexOf('/');
  return {
    namespace: typeof meta.namespace === 'string' ? meta.namespace : key.slice(0, slash),
    name: typeof meta.name === 'string' ? meta.name : key.slice(slash + 1),
    uid: meta.uid,
  };
};

/** One problem with one route, as it becomes a Warning Event on its ScaledObject. */
export interface RouteProblem {
  readonly route: string;
  readonly reason: typeof HTTPRouteConflict | typeof HTTPServicePortUnresolved;
  readonly note: string;
}

/** The problems of one build: unresolved ports and the routes that lost a host + path. */
export const routeProblems = (routes: HttpRoutes, conflicts: readonly RouteConflict[]): RouteProblem[] => [
  ...routes.unresolved.map(
    (u): RouteProblem => ({ route: u.route, reason: HTTPServicePortUnresolved, note: u.message }),
  ),
  ...conflicts.map(
    (c): RouteProblem => ({
      route: c.dropped,
      reason: HTTPRouteConflict,
      note: `route ${c.dropped}: host ${c.host} path prefix ${c.pathPrefix} is also claimed by ScaledObject ${scaledObjectKeyOfRoute(c.kept)}, which keeps it; requests there are not routed to this object`,
    }),
  ),
];

/**
 * Records each route problem as a Warning Event once when it appears (the recorder de-duplicates
 * repeats too); a problem that goes away and comes back is recorded again.
 */
export class RouteProblemEvents {
  private seen = new Set<string>();

  constructor(
    private readonly events: EventRecorder,
    private readonly index: HttpRouteIndex,
  ) {}

  report(problems: readonly RouteProblem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = `${p.route}\u0000${p.reason}\u0000${p.note}`;
      now.add(id);
      if (this.seen.has(id)) continue;
      const ref = this.index.ref(p.route);
      if (ref === undefined) continue;
      this.events.record(
        { ...ref, apiVersion: API_VERSION, kind: 'ScaledObject' },
        { type: 'Warning', reason: p.reason, action: 'Route', note: p.note },
      );
    }
    this.seen = now;
  }
}
