// The routing table: request host + path → the route (one per ScaledObject with an `http`
// trigger). Hosts are matched exactly through one Map lookup; `*.example.com` matches any name
// below example.com (one or more labels, never example.com itself), the longest such suffix
// first; a lone `*` matches every host, last. Within a host the longest path prefix wins, and a
// prefix matches on a segment boundary: `/api` matches `/api`, `/api/x` and `/api?q`, not `/apix`.
// When a host matches but none of its prefixes does, the next less specific host is tried.
//
// Cost of a lookup: one Map probe for an exact host, plus one per label of the host for the
// wildcards, plus a scan of that host's prefixes (longest first) — O(1) for the usual one or two
// prefixes, O(hosts) at worst.

/** One route as the `http` trigger describes it, already validated and defaulted. */
export interface RouteSpec {
  /** `namespace/name` of the ScaledObject. */
  readonly key: string;
  /** Exact (`api.example.com`), wildcard (`*.example.com`) or `*` for any host. */
  readonly hosts: readonly string[];
  /** Path prefixes, each starting with `/`; `['/']` for everything. */
  readonly pathPrefixes: readonly string[];
  /** The Service's name, in the ScaledObject's namespace. */
  readonly service: string;
  /** The Service port. */
  readonly port: number;
  /** Requests one endpoint may serve at once; 0 = no limit. */
  readonly containerConcurrency: number;
  /** How long a request may wait for capacity before it is answered 504. */
  readonly holdTimeoutMs: number;
  /** Requests this route may hold at once; beyond it new ones are answered 503. */
  readonly maxHeldRequests: number;
  /** Exact paths (no query) that are forwarded but never counted and never wake the route. */
  readonly healthPaths: readonly string[];
  /** How long a forwarded request may wait for the response head before a 504; default the
   * activator's `limits.responseTimeoutMs`; 0 = no limit. */
  readonly responseTimeoutMs?: number;
  /** How long a forwarded request's body may stop arriving before a 408; default the
   * activator's `limits.requestBodyTimeoutMs`; 0 = no limit. */
  readonly requestBodyTimeoutMs?: number;
  /** Upgrade protocols relayed (lower-case names); default `['websocket']` (upgrades.ts). */
  readonly allowedUpgrades?: readonly string[];
  /** How long an upgraded connection may carry no byte either way before it is closed; default
   * the activator's `limits.upgradeIdleTimeoutMs`; 0 = no limit. */
  readonly upgradeIdleTimeoutMs?: number;
}

/** Two routes claim the same host and prefix: the one whose key sorts first keeps it. */
export interface RouteConflict {
  readonly host: string;
  readonly pathPrefix: string;
  readonly kept: string;
  readonly dropped: string;
  readonly message: string;
}

interface PrefixEntry<T> {
  readonly prefix: string;
  readonly route: T;
}

const ANY_HOST = '*';

export class RoutingTable<T extends { readonly spec: RouteSpec }> {
  /** Longest prefix first. */
  private readonly exact = new Map<string, PrefixEntry<T>[]>();
  /** Keyed by the suffix after `*.`. */
  private readonly wildcard = new Map<string, PrefixEntry<T>[]>();
  private any: PrefixEntry<T>[] | undefined;

  /** @internal used by buildRoutingTable only. */
  add(host: string, entries: PrefixEntry<T>[]): void {
    entries.sort((a, b) => b.prefix.length - a.prefix.length);
    if (host === ANY_HOST) this.any = entries;
    else if (host.startsWith('*.')) this.wildcard.set(host.slice(2), entries);
    else this.exact.set(host, entries);
  }

  /** `host` as normalizeHost returns it; `url` is the request target (path and query). */
  lookup(host: string, url: string): T | undefined {
    const exact = this.exact.get(host);
    if (exact !== undefined) {
      const hit = matchPrefix(exact, url);
      if (hit !== undefined) return hit;
    }
    if (this.wildcard.size > 0) {
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        const entries = this.wildcard.get(host.slice(dot + 1));
        if (entries === undefined) continue;
        const hit = matchPrefix(entries, url);
        if (hit !== undefined) return hit;
      }
    }
    return this.any === undefined ? undefined : matchPrefix(this.any, url);
  }
}

const matchPrefix = <T>(entries: readonly PrefixEntry<T>[], url: string): T | undefined => {
  for (const e of entries) if (pathHasPrefix(url, e.prefix)) return e.route;
  return undefined;
};

/** `prefix` covers `url` on a segment boundary; the query string is not part of the path. */
export const pathHasPrefix = (url: string, prefix: string): boolean => {
  if (!url.startsWith(prefix)) return false;
  if (url.length === prefix.length || prefix.charCodeAt(prefix.length - 1) === SLASH) return true;
  const next = url.charCodeAt(prefix.length);
  return next === SLASH || next === QUESTION;
};

const SLASH = 0x2f;
const QUESTION = 0x3f;

/** The path of a request target, without the query. */
export const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

/**
 * The Host header as the table keys it: lower case, without the port and a trailing dot.
 * `Example.COM:8080` → `example.com`; `[::1]:80` → `[::1]`.
 */
export const normalizeHost = (raw: string): string => {
  let end = raw.length;
  if (raw.charCodeAt(0) === 0x5b /* [ */) {
    const close = raw.indexOf(']');
    end = close < 0 ? end : close + 1;
  } else {
    const colon = raw.indexOf(':');
    if (colon >= 0) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 0x2e /* . */) end--;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return hasUpper(host) ? host.toLowerCase() : host;
};

const hasUpper = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
};

/**
 * Builds the table from routes (each carrying its spec). A host + prefix claimed twice goes to
 * the route whose key sorts first; every such clash is returned so the controller can report it.
 */
export const buildRoutingTable = <T extends { readonly spec: RouteSpec }>(
  routes: readonly T[],
): { table: RoutingTable<T>; conflicts: RouteConflict[] } => {
  const sorted = [...routes].sort((a, b) => (a.spec.key < b.spec.key ? -1 : a.spec.key > b.spec.key ? 1 : 0));
  const byHost = new Map<string, Map<string, T>>();
  const conflicts: RouteConflict[] = [];
  for (const route of sorted) {
    const prefixes = route.spec.pathPrefixes.length === 0 ? ['/'] : route.spec.pathPrefixes;
    for (const rawHost of route.spec.hosts) {
      const host = rawHost === ANY_HOST ? ANY_HOST : normalizeHost(rawHost);
      let paths = byHost.get(host);
      if (paths === undefined) {
        paths = new Map();
        byHost.set(host, paths);
      }
      for (const prefix of prefixes) {
        const owner = paths.get(prefix);
        if (owner === undefined) paths.set(prefix, route);
        else if (owner !== route)
          conflicts.push({
            host,
            pathPrefix: prefix,
            kept: owner.spec.key,
            dropped: route.spec.key,
            message: `host ${host} path prefix ${prefix} is claimed by ${owner.spec.key} and ${route.spec.key}; ${owner.spec.key} keeps it`,
          });
      }
    }
  }
  const table = new RoutingTable<T>();
  for (const [host, paths] of byHost)
    table.add(
      host,
      [...paths].map(([prefix, route]) => ({ prefix, route })),
    );
  return { table, conflicts };
};

/** The 404 body: names what was asked for, so a typo in a host is visible at once. */
export const noRouteMessage = (host: string, path: string): string =>
  `no route matches host "${host}" path "${path}"\n`;
