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

import { compareRouteKeys, normalizeHost, type RouteConflict, type RouteSpec } from '../routing/routes.ts';

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
 * Builds the table from routes (each carrying its spec). A host + prefix claimed twice goes to
 * the route whose key sorts first; every such clash is returned so the controller can report it.
 */
export const buildRoutingTable = <T extends { readonly spec: RouteSpec }>(
  routes: readonly T[],
): { table: RoutingTable<T>; conflicts: RouteConflict[] } => {
  const sorted = [...routes].sort((a, b) => compareRouteKeys(a.spec.key, b.spec.key));
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
