// Routing rules both sides apply: the route spec an http trigger becomes, how a Host is
// normalised, the tie-break between two routes claiming one host + path prefix (+ the same
// header matches: header-matches.ts states the precedence), and route keys.
// The activator's table (src/activator/routes.ts) and the controller's conflict report
// (src/controller/route-claims.ts) import these, so the two can never disagree.
import type { PlaceholderSpec } from './cold-start-options.ts';
import type { HeaderMatch } from './header-matches.ts';

/** One route as the `http` trigger describes it, already validated and defaulted. */
export interface RouteSpec {
  /** `namespace/name` of the ScaledObject. */
  readonly key: string;
  /** Exact (`api.example.com`), wildcard (`*.example.com`) or `*` for any host. */
  readonly hosts: readonly string[];
  /** Path prefixes, each starting with `/`; `['/']` for everything. */
  readonly pathPrefixes: readonly string[];
  /** Headers a request must also carry (all of them), sorted by name; absent or empty: none. */
  readonly headers?: readonly HeaderMatch[];
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
  /** A page for browsers instead of a hold while no endpoint is ready (cold-start-options.ts). */
  readonly placeholder?: PlaceholderSpec;
  /** Responses to requests held for a cold start carry `x-ebb-cold-start: <ms>ms`. */
  readonly coldStartHeader?: true;
}

/** Two routes claim the same host, prefix and header matches: the one whose key sorts first keeps it. */
export interface RouteConflict {
  readonly host: string;
  readonly pathPrefix: string;
  /** The header matches both require (headerMatchesText), '' for none. */
  readonly headers: string;
  readonly kept: string;
  readonly dropped: string;
  readonly message: string;
}

/**
 * The tie-break: of two routes claiming one host + path prefix, the one whose key sorts first
 * (plain code-unit order) keeps it. Negative when `a` keeps it from `b`.
 */
export const compareRouteKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The ScaledObject key a route key names: `ns/name#1` → `ns/name`. */
export const scaledObjectKeyOfRoute = (routeKey: string): string => {
  const hash = routeKey.indexOf('#');
  return hash < 0 ? routeKey : routeKey.slice(0, hash);
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
