// The routing table: request host + path (+ headers) → the route (one per http trigger). Hosts
// are matched exactly through one Map lookup; `*.example.com` matches any name below
// example.com (one or more labels, never example.com itself), the longest such suffix first; a
// lone `*` matches every host, last. Within a host the longest path prefix wins, and a prefix
// matches on a segment boundary: `/api` matches `/api`, `/api/x` and `/api?q`, not `/apix`.
// Of routes with the same host and prefix, one with more header matches is tried first (Gateway
// API's HTTPRoute precedence; header-matches.ts), then the key that sorts first. When a host
// matches but none of its entries does, the next less specific host is tried.
//
// Headers: a match holds when the request carries the field (name compared case-insensitively)
// and, for a value match, its value equals the match's exactly; a field sent on several lines is
// compared as RFC 9110 §5.3 combines it, the values joined by ", " (so `x-tenant: acme` twice is
// "acme, acme", which does not match "acme"). The request's rawHeaders are scanned only for
// entries that have header matches, after their prefix matched: a host none of whose routes
// match on headers costs what it did before.
//
// Cost of a lookup: one Map probe for an exact host, plus one per label of the host for the
// wildcards, plus a scan of that host's entries (longest first) — O(1) for the usual one or two
// prefixes, O(entries) at worst, plus O(matches × header lines) for entries with header matches.

import { type HeaderMatch, headerMatchesText } from '../routing/header-matches.ts';
import { compareRouteKeys, normalizeHost, type RouteConflict, type RouteSpec } from '../routing/routes.ts';

interface PrefixEntry<T> {
  readonly prefix: string;
  /** undefined when the route matches on no header (the common case: nothing to scan). */
  readonly headers: readonly HeaderMatch[] | undefined;
  readonly route: T;
}

const ANY_HOST = '*';

export class RoutingTable<T extends { readonly spec: RouteSpec }> {
  /** Longest prefix first, then the most header matches, then the key that sorts first. */
  private readonly exact = new Map<string, PrefixEntry<T>[]>();
  /** Keyed by the suffix after `*.`. */
  private readonly wildcard = new Map<string, PrefixEntry<T>[]>();
  private any: PrefixEntry<T>[] | undefined;

  /** @internal used by buildRoutingTable only. */
  add(host: string, entries: PrefixEntry<T>[]): void {
    entries.sort(
      (a, b) =>
        b.prefix.length - a.prefix.length ||
        (b.headers?.length ?? 0) - (a.headers?.length ?? 0) ||
        compareRouteKeys(a.route.spec.key, b.route.spec.key),
    );
    if (host === ANY_HOST) this.any = entries;
    else if (host.startsWith('*.')) this.wildcard.set(host.slice(2), entries);
    else this.exact.set(host, entries);
  }

  /** `host` as normalizeHost returns it; `url` is the request target (path and query); `raw`
   * the request's rawHeaders (name, value, name, value, …), read only for header matches. */
  lookup(host: string, url: string, raw: readonly string[]): T | undefined {
    const exact = this.exact.get(host);
    if (exact !== undefined) {
      const hit = matchEntry(exact, url, raw);
      if (hit !== undefined) return hit;
    }
    if (this.wildcard.size > 0) {
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        const entries = this.wildcard.get(host.slice(dot + 1));
        if (entries === undefined) continue;
        const hit = matchEntry(entries, url, raw);
        if (hit !== undefined) return hit;
      }
    }
    return this.any === undefined ? undefined : matchEntry(this.any, url, raw);
  }
}

const matchEntry = <T>(
  entries: readonly PrefixEntry<T>[],
  url: string,
  raw: readonly string[],
): T | undefined => {
  for (const e of entries)
    if (pathHasPrefix(url, e.prefix) && (e.headers === undefined || headersHold(e.headers, raw)))
      return e.route;
  return undefined;
};

/** Every match holds on `raw` (see the top of this file for repeated fields). */
export const headersHold = (matches: readonly HeaderMatch[], raw: readonly string[]): boolean => {
  for (const m of matches) {
    let value: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (!sameName(raw[i] as string, m.name)) continue;
      const v = raw[i + 1] as string;
      value = value === undefined ? v : `${value}, ${v}`;
    }
    if (value === undefined || (m.value !== undefined && value !== m.value)) return false;
  }
  return true;
};

/** `name` (as sent) equals `lower` (lower case) ignoring ASCII case, without lower-casing a copy. */
const sameName = (name: string, lower: string): boolean => {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
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
 * Builds the table from routes (each carrying its spec). A host + prefix + set of header matches
 * claimed twice goes to the route whose key sorts first; every such clash is returned so the
 * controller can report it.
 */
export const buildRoutingTable = <T extends { readonly spec: RouteSpec }>(
  routes: readonly T[],
): { table: RoutingTable<T>; conflicts: RouteConflict[] } => {
  const sorted = [...routes].sort((a, b) => compareRouteKeys(a.spec.key, b.spec.key));
  // host → `prefix headers` → the entry claiming it.
  const byHost = new Map<string, Map<string, PrefixEntry<T>>>();
  const conflicts: RouteConflict[] = [];
  for (const route of sorted) {
    const prefixes = route.spec.pathPrefixes.length === 0 ? ['/'] : route.spec.pathPrefixes;
    const matches = route.spec.headers;
    const headers = matches === undefined || matches.length === 0 ? undefined : matches;
    const headerText = headerMatchesText(headers);
    for (const rawHost of route.spec.hosts) {
      const host = rawHost === ANY_HOST ? ANY_HOST : normalizeHost(rawHost);
      let paths = byHost.get(host);
      if (paths === undefined) {
        paths = new Map();
        byHost.set(host, paths);
      }
      for (const prefix of prefixes) {
        const claim = `${prefix} ${headerText}`;
        const owner = paths.get(claim)?.route;
        if (owner === undefined) paths.set(claim, { prefix, headers, route });
        else if (owner !== route)
          conflicts.push({
            host,
            pathPrefix: prefix,
            headers: headerText,
            kept: owner.spec.key,
            dropped: route.spec.key,
            message: `host ${host} path prefix ${prefix}${headerText === '' ? '' : ` headers ${headerText}`} is claimed by ${owner.spec.key} and ${route.spec.key}; ${owner.spec.key} keeps it`,
          });
      }
    }
  }
  const table = new RoutingTable<T>();
  for (const [host, paths] of byHost) table.add(host, [...paths.values()]);
  return { table, conflicts };
};

/** The 404 body: names what was asked for, so a typo in a host is visible at once. */
export const noRouteMessage = (host: string, path: string): string =>
  `no route matches host "${host}" path "${path}"\n`;
