// Which http triggers the activators will not serve, found by the controller so that reconcile
// can make each one a Ready=False condition and a Warning Event naming the field:
//
//   RouteConflict          two ScaledObjects claim one host + path prefix + set of header
//                          matches; the route key that sorts first keeps it (the activators'
//                          rule, buildRoutingTable), the other is told at
//                          spec.triggers[i].metadata.hosts (routes that differ in their header
//                          matches do not conflict: the one with more matches is tried first)
//   ServicePortUnresolved  the trigger names a Service port the Service does not declare, as the
//                          activators report it (they watch Services, the controller does not):
//                          spec.triggers[i].metadata.port
//
// Conflicts follow from the ScaledObjects alone, so a controller finds them with or without
// activators. A route whose port does not resolve is left out of the activators' tables, so it
// claims nothing here either.
//
// RouteClaims is an index reconcile keeps up to date (`update` per object). It says which other
// objects to reconcile again when one changes (a deleted winner lets the loser in), and when the
// activators' view of a Service's ports changes (a ServicePortView the controller is given by
// wiring, `watch`: src/controller/activation-feed.ts implements it). Each controller has its own.
import { type Problem, RouteConflict, ServicePortUnresolved } from '../api/reasons.ts';
import type { ScaledObjectSource } from '../platform/ports.ts';
import { headerMatchesText } from '../routing/header-matches.ts';
import { compareRouteKeys, normalizeHost, scaledObjectKeyOfRoute } from '../routing/routes.ts';
import { type Admission, admitScaledObject } from './admission.ts';
import { type HttpTrigger, httpTriggersOf } from './http-routes.ts';

/** What the activators see of Services' ports (the controller watches no Services). */
export interface ServicePortView {
  /** True when an activator reports that Service `namespace/service` declares no port `port`. */
  unresolved(namespace: string, service: string, port: string): boolean;
  /** Calls `listener` with each Service (`namespace/name`) whose unresolved ports changed. */
  onChange(listener: (service: string) => void): () => void;
}

/** A cheap look at a raw ScaledObject: does any trigger say `type: http`? (before admitting it) */
export const hasHttpTrigger = (raw: unknown): boolean => {
  const triggers = (raw as { spec?: { triggers?: unknown } } | undefined)?.spec?.triggers;
  return Array.isArray(triggers) && triggers.some((t) => (t as { type?: unknown } | null)?.type === 'http');
};

/**
 * A cheap look at a raw ScaledObject: is `routeKey` one of its http routes? `namespace/name`
 * when any trigger is http, `namespace/name#i` when trigger i is (a superset of the keys
 * httpTriggersOf gives, which skips triggers whose metadata does not parse).
 */
export const hasHttpRoute = (raw: unknown, routeKey: string): boolean => {
  const hash = routeKey.indexOf('#');
  if (hash < 0) return hasHttpTrigger(raw);
  const index = routeKey.slice(hash + 1);
  const triggers = (raw as { spec?: { triggers?: unknown } } | undefined)?.spec?.triggers;
  if (!/^\d{1,4}$/.test(index) || !Array.isArray(triggers)) return false;
  return (triggers[Number(index)] as { type?: unknown } | null | undefined)?.type === 'http';
};

interface Claim {
  readonly host: string;
  readonly prefix: string;
  /** headerMatchesText: '' for none. */
  readonly headers: string;
}

/** The host + path prefix (+ header matches) a trigger claims, normalised as the activator's table keys them. */
const claimsOf = (t: HttpTrigger): Claim[] => {
  const prefixes = t.config.pathPrefixes.length === 0 ? ['/'] : t.config.pathPrefixes;
  const headers = headerMatchesText(t.config.headers);
  return t.config.hosts.flatMap((raw) => {
    const host = raw === '*' ? raw : normalizeHost(raw);
    return prefixes.map((prefix) => ({ host, prefix, headers }));
  });
};

/** `host path headers` (neither a host nor a path holds a space). */
const claimIdOf = (c: Claim): string => `${c.host} ${c.prefix} ${c.headers}`;

/** The port name a trigger gives when the view says it does not resolve. */
const unresolvedPort = (t: HttpTrigger, view: ServicePortView | undefined): string | undefined => {
  const port = t.config.port;
  if (view === undefined || !('name' in port)) return undefined;
  return view.unresolved(t.namespace, t.config.service, port.name) ? port.name : undefined;
};

/** What `update` compares: a change elsewhere in the trigger moves no claim. */
const claimText = (triggers: readonly HttpTrigger[]): string =>
  JSON.stringify(
    triggers.map((t) => [
      t.routeKey,
      t.config.hosts,
      t.config.pathPrefixes,
      headerMatchesText(t.config.headers),
      t.config.service,
      t.config.port,
    ]),
  );

const MAX_LISTED = 3;

export class RouteClaims {
  private readonly objects = new Map<string, readonly HttpTrigger[]>();
  /** claimId → route keys claiming it. */
  private readonly claims = new Map<string, Set<string>>();
  /** `namespace/service` → objects naming one of its ports by name. */
  private readonly byService = new Map<string, Set<string>>();

  /** What the activators see of Service ports; undefined: ports are not judged. */
  private view: ServicePortView | undefined;

  /** `recheck` is told which objects' problems may have changed (reconcile enqueues them). */
  constructor(private readonly recheck: (keys: readonly string[]) => void) {}

  /**
   * Judges named ports by `view` and follows its changes; returns the function that stops (only
   * if `view` is still the one watched). Watching asks to check every Service's users again.
   */
  watch(view: ServicePortView): () => void {
    const stop = view.onChange((service) => {
      if (this.view === view) this.servicePortsChanged(service);
    });
    this.view = view;
    this.servicePortsChanged(undefined);
    return () => {
      stop();
      if (this.view !== view) return;
      this.view = undefined;
      this.servicePortsChanged(undefined);
    };
  }

  /**
   * The ScaledObject under `key` as reconcile admitted it now (undefined: gone). Returns the
   * other objects sharing a host + path prefix with its old or new claims.
   */
  update(key: string, admission: Admission | undefined): string[] {
    const next = admission === undefined ? [] : httpTriggersOf(key, admission);
    const prev = this.objects.get(key) ?? [];
    if (claimText(prev) === claimText(next)) return [];
    const touched = new Set<string>();
    for (const t of prev) this.release(key, t, touched);
    if (next.length === 0) this.objects.delete(key);
    else this.objects.set(key, next);
    for (const t of next) this.hold(key, t, touched);
    touched.delete(key);
    return [...touched];
  }

  /** Why some of `key`'s http triggers are not served: one problem per trigger, naming its field. */
  problems(key: string): Problem[] {
    const view = this.view;
    const out: Problem[] = [];
    for (const t of this.objects.get(key) ?? []) {
      const field = `spec.triggers[${t.index}].metadata`;
      const port = unresolvedPort(t, view);
      if (port !== undefined) {
        out.push({
          path: `${field}.port`,
          reason: ServicePortUnresolved,
          message: `Service ${t.namespace}/${t.config.service} has no port named "${port}" (or the activators do not know the Service yet), so no activator routes this trigger's requests; name a port the Service declares or give its number`,
        });
        continue;
      }
      const lost: string[] = [];
      for (const c of claimsOf(t)) {
        const winner = this.winner(claimIdOf(c), view);
        if (winner === undefined || winner.routeKey === t.routeKey) continue;
        const owner = scaledObjectKeyOfRoute(winner.routeKey);
        const headers = c.headers === '' ? '' : ` headers ${c.headers}`;
        lost.push(
          `host ${c.host} path prefix ${c.prefix}${headers} is also claimed by ${owner === key ? 'this ScaledObject' : `ScaledObject ${owner}`} at spec.triggers[${winner.index}], which keeps it`,
        );
      }
      if (lost.length === 0) continue;
      const more = lost.length > MAX_LISTED ? `; and ${lost.length - MAX_LISTED} more` : '';
      out.push({
        path: `${field}.hosts`,
        reason: RouteConflict,
        message: `${lost.slice(0, MAX_LISTED).join('; ')}${more} (of two claims the route key that sorts first wins); the activators route none of these requests to this trigger`,
      });
    }
    return out;
  }

  /** Of the routable triggers claiming `claim`, the one whose route key sorts first. */
  private winner(claim: string, view: ServicePortView | undefined): HttpTrigger | undefined {
    let best: HttpTrigger | undefined;
    for (const routeKey of this.claims.get(claim) ?? []) {
      if (best !== undefined && compareRouteKeys(best.routeKey, routeKey) < 0) continue;
      const t = this.objects.get(scaledObjectKeyOfRoute(routeKey))?.find((x) => x.routeKey === routeKey);
      if (t !== undefined && unresolvedPort(t, view) === undefined) best = t;
    }
    return best;
  }

  private hold(key: string, t: HttpTrigger, touched: Set<string>): void {
    for (const c of claimsOf(t)) {
      const id = claimIdOf(c);
      let holders = this.claims.get(id);
      if (holders === undefined) {
        holders = new Set();
        this.claims.set(id, holders);
      }
      for (const r of holders) touched.add(scaledObjectKeyOfRoute(r));
      holders.add(t.routeKey);
    }
    if ('name' in t.config.port) {
      const service = `${t.namespace}/${t.config.service}`;
      const users = this.byService.get(service) ?? new Set();
      users.add(key);
      this.byService.set(service, users);
    }
  }

  private release(key: string, t: HttpTrigger, touched: Set<string>): void {
    for (const c of claimsOf(t)) {
      const id = claimIdOf(c);
      const holders = this.claims.get(id);
      if (holders === undefined) continue;
      holders.delete(t.routeKey);
      for (const r of holders) touched.add(scaledObjectKeyOfRoute(r));
      if (holders.size === 0) this.claims.delete(id);
    }
    const service = `${t.namespace}/${t.config.service}`;
    const users = this.byService.get(service);
    users?.delete(key);
    if (users?.size === 0) this.byService.delete(service);
  }

  /** The activators' view of `service` changed: its users, and whoever shares their claims. */
  private servicePortsChanged(service: string | undefined): void {
    const users =
      service === undefined
        ? [...this.byService.values()].flatMap((s) => [...s])
        : [...(this.byService.get(service) ?? [])];
    if (users.length === 0) return;
    const keys = new Set(users);
    for (const key of users) {
      for (const t of this.objects.get(key) ?? []) {
        for (const c of claimsOf(t))
          for (const r of this.claims.get(claimIdOf(c)) ?? []) keys.add(scaledObjectKeyOfRoute(r));
      }
    }
    this.recheck([...keys]);
  }
}

/**
 * A controller's route claims, filled from everything in its cache (so the winner wins from the
 * first reconcile) and watching `view` when wiring gave one. `recheck` enqueues keys.
 */
export const loadRouteClaims = (
  source: ScaledObjectSource,
  recheck: (keys: readonly string[]) => void,
  view: ServicePortView | undefined,
): { readonly claims: RouteClaims; readonly stop: () => void } => {
  const claims = new RouteClaims(recheck);
  for (const key of source.keys()) {
    const raw = source.get(key);
    if (hasHttpTrigger(raw)) claims.update(key, admitScaledObject(raw));
  }
  return { claims, stop: view === undefined ? () => {} : claims.watch(view) };
};
