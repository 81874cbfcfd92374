// The activator's routing table from ScaledObjects: one route per `http` trigger of every
// admitted, not deleted ScaledObject. Route key = `namespace/name` (the ScaledObject's key, the
// one a poke names), or `namespace/name#<index>` for a second http trigger of the same object.
// Objects are admitted once per resourceVersion (admission resolves every trigger); building the
// table from the index is then cheap, so it can be rebuilt whenever a Service changes too.
//
// A trigger's `port` may be a Service port name: it is resolved to the port number through the
// Service (`servicePort`); until the Service is known the route is left out and listed in
// `unresolved`, which the activators report to the controller (src/controller/route-claims.ts
// turns it into a ServicePortUnresolved condition, and host + path clashes into RouteConflict).
import { type HttpConfig, httpRouteKey, parseHttpMetadata } from '../routing/http-trigger.ts';
import type { UnresolvedPort } from '../routing/reports.ts';
import type { RouteSpec } from '../routing/routes.ts';
import { type Admission, admitScaledObject } from './admission.ts';

/** One http trigger of an admitted ScaledObject, with the route key it is served under. */
export interface HttpTrigger {
  readonly routeKey: string;
  /** The trigger's index in spec.triggers (field paths name it). */
  readonly index: number;
  readonly namespace: string;
  readonly config: HttpConfig;
}

interface Entry {
  readonly resourceVersion: string | undefined;
  readonly triggers: readonly HttpTrigger[];
}

export interface HttpRoutes {
  readonly routes: RouteSpec[];
  /** `httpRouteKey(config)` → route key (what the ActivationFeed's aliases are). */
  readonly aliases: Map<string, string>;
  /** Routes left out, with why (a named port whose Service is not known yet). */
  readonly unresolved: (UnresolvedPort & { readonly message: string })[];
}

/** Resolves a Service port given by number or name to its number; undefined when unknown. */
export type ServicePortResolver = (
  namespace: string,
  service: string,
  port: number | string,
) => number | undefined;

/** The http triggers of an admitted, not deleted ScaledObject under `key` (`namespace/name`). */
export const httpTriggersOf = (key: string, admission: Admission): HttpTrigger[] => {
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
      index: resolved.index,
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
    const triggers = httpTriggersOf(key, admitScaledObject(raw));
    if (triggers.length === 0 && (old === undefined || old.triggers.length === 0)) {
      this.entries.delete(key);
      return false;
    }
    if (triggers.length === 0) this.entries.delete(key);
    else this.entries.set(key, { resourceVersion: rv, triggers });
    return true;
  }

  /** Keys of objects with at least one http trigger. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  build(servicePort: ServicePortResolver): HttpRoutes {
    const routes: RouteSpec[] = [];
    const aliases = new Map<string, string>();
    const unresolved: (UnresolvedPort & { message: string })[] = [];
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
            namespace: t.namespace,
            service: c.service,
            port: String(wanted),
            message: `route ${t.routeKey}: Service ${t.namespace}/${c.service} has no port named "${wanted}" (or is not known yet)`,
          });
          continue;
        }
        routes.push({
          key: t.routeKey,
          hosts: c.hosts,
          pathPrefixes: c.pathPrefixes,
          ...(c.headers === undefined ? {} : { headers: c.headers }),
          service: c.service,
          port,
          containerConcurrency: c.containerConcurrency,
          holdTimeoutMs: c.holdTimeoutMs,
          maxHeldRequests: c.maxHeldRequests,
          healthPaths: c.healthPaths,
          ...(c.allowedUpgrades === undefined ? {} : { allowedUpgrades: c.allowedUpgrades }),
          ...(c.upgradeIdleTimeoutMs === undefined ? {} : { upgradeIdleTimeoutMs: c.upgradeIdleTimeoutMs }),
          ...(c.requestBodyTimeoutMs === undefined ? {} : { requestBodyTimeoutMs: c.requestBodyTimeoutMs }),
          ...(c.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: c.responseTimeoutMs }),
          ...(c.placeholder === undefined ? {} : { placeholder: c.placeholder }),
          ...(c.coldStartHeader === undefined ? {} : { coldStartHeader: c.coldStartHeader }),
        });
        const alias = httpRouteKey(c);
        if (!aliases.has(alias)) aliases.set(alias, t.routeKey);
      }
    }
    return { routes, aliases, unresolved };
  }
}
