// The `http` trigger's metadata: which requests belong to the target (hosts, path prefixes and
// header matches: the activator's routing table), where they go (the target's Service and
// port), what to scale on (concurrency or request rate per replica) and the activator's limits
// for this route (per-replica concurrency, hold timeout, held-request cap, the upgrades it
// relays, its response, request-body and upgraded-connection timeouts). Values are trimmed and an empty
// value counts as absent, as for KEDA's scalers; unknown keys are ignored. It lives with routing
// because it is the route spec: the controller, the activator's wiring and the http scaler read it.
import { z } from 'zod';
import {
  commaList,
  DECIMAL,
  durationWithin,
  INT32_MAX,
  metadataProblem,
  number,
  parseMetadata,
  text,
  UNSIGNED_INTEGER,
} from '../../scalers/kit/metadata.ts';
import { fail, ok, type Problem, type Result } from '../api/reasons.ts';
import type { TriggerContext } from '../scaler.ts';
import { coldStartMetadata, coldStartOptions, type PlaceholderSpec } from './cold-start-options.ts';
import { type HeaderMatch, headerMatchesText, parseHeaderMatches } from './header-matches.ts';

export const DEFAULT_TARGET_CONCURRENCY = 100;
export const DEFAULT_PATH_PREFIXES: readonly string[] = ['/'];
export const DEFAULT_HOLD_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_HELD_REQUESTS = 1000;
export const DEFAULT_RATE_WINDOW_MS = 60_000;
/** A held client connection longer than this is a leak, not a cold start. */
export const MAX_HOLD_TIMEOUT_MS = 3_600_000;
/** The largest response-head and request-body timeouts, per route and as the activator's flags. */
export const MAX_RESPONSE_TIMEOUT_MS = 3_600_000;
export const MAX_REQUEST_BODY_TIMEOUT_MS = 3_600_000;
/** Upgrade idle limits up to a day: a quiet WebSocket may legitimately wait long between pings. */
export const MAX_UPGRADE_IDLE_MS = 86_400_000;
export const MIN_RATE_WINDOW_MS = 1000;
export const MAX_RATE_WINDOW_MS = 3_600_000;

/** What the trigger scales on, per replica. */
export type HttpScalingMode =
  /** Requests in flight plus held, averaged per replica (Knative's concurrency). */
  | { readonly kind: 'concurrency'; readonly target: number }
  /** Requests per second over the trailing `windowMs` (Knative's rps). */
  | { readonly kind: 'requestRate'; readonly target: number; readonly windowMs: number };

/** The target Service's port: its number, or its name (`http`). */
export type ServicePort = { readonly number: number } | { readonly name: string };

export interface HttpConfig {
  /**
   * Lowercased; exact (`api.example.com`), wildcard (`*.example.com`: any one or more labels
   * in front of `example.com`, not `example.com` itself) or `*` (any host: the catch-all).
   * Suggested precedence in the activator: exact, then the longest wildcard suffix, then `*`.
   */
  readonly hosts: readonly string[];
  /** Path prefixes matched segment-wise (`/api` matches `/api` and `/api/x`, not `/apix`); default `/`. */
  readonly pathPrefixes: readonly string[];
  /** Headers a request must carry too (`x-tenant=acme`: that value; `x-canary`: any), sorted by
   * name (header-matches.ts); absent: none. */
  readonly headers?: readonly HeaderMatch[];
  /** The target's Service in the ScaledObject's namespace. */
  readonly service: string;
  readonly port: ServicePort;
  readonly mode: HttpScalingMode;
  /** Requests one replica is sent at once by the activator; 0: no limit. */
  readonly containerConcurrency: number;
  /** How long a request waits for a ready endpoint before a 504. */
  readonly holdTimeoutMs: number;
  /** Requests held for this route at once; one more gets a 503 with Retry-After. */
  readonly maxHeldRequests: number;
  /** Exact paths proxied but never counted (liveness probes through the activator). */
  readonly healthPaths: readonly string[];
  /** Upgrade protocols the activator relays (lower-case names); absent: `websocket` only. */
  readonly allowedUpgrades?: readonly string[];
  /** The activator's limits for this route (absent: the activator's own; 0: no limit). An
   * upgraded connection with no byte either way for upgradeIdleTimeoutMs is closed; a forwarded
   * body that stops arriving for requestBodyTimeoutMs gets 408; a forwarded request waits
   * responseTimeoutMs for the response head, then gets 504. */
  readonly upgradeIdleTimeoutMs?: number;
  readonly requestBodyTimeoutMs?: number;
  readonly responseTimeoutMs?: number;
  /** What a browser sees during a cold start instead of waiting (cold-start-options.ts). */
  readonly placeholder?: PlaceholderSpec;
  /** Responses to requests held for a cold start carry `x-ebb-cold-start: <ms>ms`. */
  readonly coldStartHeader?: true;
}

// ---- value parsers (the scaler kit's, with ebb's own number formats) ----

const positiveNumber = number(DECIMAL, {
  fallback: undefined,
  within: (n) => n > 0,
  malformed: 'must be a number greater than 0',
});

const integerAtLeast = (min: number) =>
  number(UNSIGNED_INTEGER, {
    fallback: undefined,
    within: (n) => n >= min && n <= INT32_MAX,
    malformed: `must be an integer >= ${min}`,
  });

// ---- hosts and paths ----

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why `host` is not an exact host, a `*.` wildcard or `*`, or undefined. */
export const hostProblem = (host: string): string | undefined => {
  if (host === '*') return undefined;
  if (/:\d*$/.test(host)) return `host "${host}" must not include a port`;
  if (host.includes('/')) return `host "${host}" must be a host name, not a URL`;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (name.includes('*')) {
    return `host "${host}": a wildcard is only allowed as the whole first label ("*.example.com")`;
  }
  if (name.length > 253) return `host "${host}" is longer than 253 characters`;
  const bad = name.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `host "${host}" is not a valid DNS name (label "${bad}": lowercase letters, digits and "-", 1-63 characters)`;
  }
  return undefined;
};

/** Why `path` is not an absolute URL path, or undefined. */
export const pathProblem = (path: string): string | undefined => {
  if (!path.startsWith('/')) return `path "${path}" must start with "/"`;
  if (/[\s?#]/.test(path)) return `path "${path}" must not contain whitespace, "?" or "#"`;
  return undefined;
};

/** The first duplicate of a list, or undefined. */
const duplicateOf = (items: readonly string[]): string | undefined =>
  items.find((item, i) => items.indexOf(item) !== i);

// Service names are DNS-1035 labels; named ports are IANA service names (<= 15, a letter, no "--").
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^(?!-)(?!.*--)(?=.*[a-z])[a-z0-9-]{1,15}(?<!-)$/;

// An Upgrade protocol name: an RFC 9110 token (§5.6.2), without a version.
const UPGRADE_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export const HttpMetadataSchema = z.object({
  hosts: commaList,
  pathPrefixes: commaList,
  headers: commaList,
  service: text,
  port: text,
  targetConcurrency: positiveNumber,
  targetRequestRate: positiveNumber,
  window: durationWithin(MIN_RATE_WINDOW_MS, MAX_RATE_WINDOW_MS, '1m'),
  containerConcurrency: integerAtLeast(0),
  holdTimeout: durationWithin(1, MAX_HOLD_TIMEOUT_MS, '60s'),
  maxHeldRequests: integerAtLeast(1),
  healthPaths: commaList,
  allowedUpgrades: commaList,
  upgradeIdleTimeout: durationWithin(0, MAX_UPGRADE_IDLE_MS, '60s'),
  requestBodyTimeout: durationWithin(0, MAX_REQUEST_BODY_TIMEOUT_MS, '60s'),
  responseTimeout: durationWithin(0, MAX_RESPONSE_TIMEOUT_MS, '300s'),
  activationThreshold: text,
  ...coldStartMetadata,
});
export type HttpMetadata = z.output<typeof HttpMetadataSchema>;

type Key = keyof HttpMetadata;

const parsePort = (value: string): ServicePort | string => {
  if (UNSIGNED_INTEGER.pattern.test(value)) {
    const n = Number(value);
    return n >= 1 && n <= 65_535
      ? { number: n }
      : `must be a port number 1-65535 or a port name, got "${value}"`;
  }
  return PORT_NAME.test(value)
    ? { name: value }
    : `must be a port number 1-65535 or a Service port name (lowercase, <= 15 characters), got "${value}"`;
};

/**
 * The scaling mode: exactly one of targetConcurrency and targetRequestRate (neither:
 * concurrency). `window` belongs to targetRequestRate. With containerConcurrency c > 0 the
 * default target is min(100, c), and an explicit targetConcurrency above c is refused: a
 * replica is never sent more than c requests at once, so a target above c could never be met.
 */
const scalingMode = (
  m: HttpMetadata,
  add: (key: Key, message: string) => void,
): HttpScalingMode | undefined => {
  const cc = m.containerConcurrency ?? 0;
  if (m.targetRequestRate !== undefined) {
    if (m.targetConcurrency !== undefined) {
      add('targetRequestRate', 'cannot be combined with targetConcurrency: choose one scaling mode');
      return undefined;
    }
    return {
      kind: 'requestRate',
      target: m.targetRequestRate,
      windowMs: m.window ?? DEFAULT_RATE_WINDOW_MS,
    };
  }
  if (m.window !== undefined) {
    add('window', 'only applies with targetRequestRate (the request rate is averaged over it)');
    return undefined;
  }
  const target =
    m.targetConcurrency ?? (cc > 0 ? Math.min(DEFAULT_TARGET_CONCURRENCY, cc) : DEFAULT_TARGET_CONCURRENCY);
  if (cc > 0 && target > cc) {
    add(
      'targetConcurrency',
      `(${target}) must be <= containerConcurrency (${cc}): a replica never gets more than ${cc} requests at once`,
    );
    return undefined;
  }
  return { kind: 'concurrency', target };
};

/** Parses `spec.triggers[i].metadata` of an http trigger; problems carry the full field path. */
export const parseHttpMetadata = (ctx: TriggerContext): Result<HttpConfig, Problem[]> => {
  const { index } = ctx;
  const parsed = parseMetadata(HttpMetadataSchema, ctx);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  const problems: Problem[] = [];
  const add = (key: Key, message: string) => problems.push(metadataProblem(index, key, message));

  const hosts = (m.hosts ?? []).map((h) => h.toLowerCase());
  if (hosts.length === 0) add('hosts', 'is required (a comma-separated list of host names)');
  const hostProblems = hosts.map(hostProblem).filter((p) => p !== undefined);
  for (const p of hostProblems) add('hosts', p);
  const dupHost = duplicateOf(hosts);
  if (dupHost !== undefined) add('hosts', `lists "${dupHost}" more than once`);

  const pathPrefixes = m.pathPrefixes ?? [...DEFAULT_PATH_PREFIXES];
  for (const p of pathPrefixes.map(pathProblem)) if (p !== undefined) add('pathPrefixes', p);
  const dupPath = duplicateOf(pathPrefixes);
  if (dupPath !== undefined) add('pathPrefixes', `lists "${dupPath}" more than once`);

  let headers: readonly HeaderMatch[] | undefined;
  if (m.headers !== undefined) {
    const parsedHeaders = parseHeaderMatches(m.headers);
    if (parsedHeaders.ok) headers = parsedHeaders.matches;
    else for (const p of parsedHeaders.problems) add('headers', p);
  }

  const healthPaths = m.healthPaths ?? [];
  for (const p of healthPaths.map(pathProblem)) if (p !== undefined) add('healthPaths', p);

  if (m.service === undefined) add('service', "is required (the name of the target's Service)");
  else if (!SERVICE_NAME.test(m.service)) {
    add('service', `must be a Service name (a DNS-1035 label), got "${m.service}"`);
  }
  let port: ServicePort | undefined;
  if (m.port === undefined) add('port', "is required (the Service port's number or name)");
  else {
    const p = parsePort(m.port);
    if (typeof p === 'string') add('port', p);
    else port = p;
  }
  const allowedUpgrades = m.allowedUpgrades?.map((u) => u.toLowerCase());
  for (const name of allowedUpgrades ?? []) {
    if (name === 'h2c')
      add(
        'allowedUpgrades',
        'must not list "h2c": the activator serves an h2c upgrade as a plain HTTP/1.1 request',
      );
    else if (!UPGRADE_NAME.test(name))
      add(
        'allowedUpgrades',
        `"${name}" is not a protocol name (an HTTP token such as "websocket", without a version)`,
      );
  }
  if (m.activationThreshold !== undefined) {
    add(
      'activationThreshold',
      'is not supported by the http trigger: any request in flight or held activates the target, so a held request is never left waiting',
    );
  }
  const friendly = coldStartOptions(m, add);
  const mode = scalingMode(m, add);
  if (problems.length > 0 || mode === undefined || port === undefined || m.service === undefined) {
    return fail(problems);
  }
  return ok({
    hosts,
    pathPrefixes,
    ...(headers === undefined ? {} : { headers }),
    service: m.service,
    port,
    mode,
    containerConcurrency: m.containerConcurrency ?? 0,
    holdTimeoutMs: m.holdTimeout ?? DEFAULT_HOLD_TIMEOUT_MS,
    maxHeldRequests: m.maxHeldRequests ?? DEFAULT_MAX_HELD_REQUESTS,
    healthPaths,
    ...(allowedUpgrades === undefined ? {} : { allowedUpgrades }),
    ...(m.upgradeIdleTimeout === undefined ? {} : { upgradeIdleTimeoutMs: m.upgradeIdleTimeout }),
    ...(m.requestBodyTimeout === undefined ? {} : { requestBodyTimeoutMs: m.requestBodyTimeout }),
    ...(m.responseTimeout === undefined ? {} : { responseTimeoutMs: m.responseTimeout }),
    ...friendly,
  });
};

/**
 * The key an http trigger's counters are reported under: its hosts and path prefixes, each
 * sorted, `hosts|paths` (`*.example.com,api.example.com|/,/v1`), and `|headers` when it has
 * header matches (`…|/|x-tenant=acme`). Two triggers with the same key are the same route.
 * Computed from the parsed config, so the controller's feed (which sums the activators'
 * per-route snapshots) and the scaler agree without sharing state.
 */
export const httpRouteKey = (config: Pick<HttpConfig, 'hosts' | 'pathPrefixes' | 'headers'>): string => {
  const key = `${[...config.hosts].sort().join(',')}|${[...config.pathPrefixes].sort().join(',')}`;
  const headers = headerMatchesText(config.headers);
  return headers === '' ? key : `${key}|${headers}`;
};
