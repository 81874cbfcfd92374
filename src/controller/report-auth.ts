// Who may report to the controller (src/controller/activator-reports.ts): a standalone
// activator's ServiceAccount, proven by its bearer token and verified by the API server, as
// kube-rbac-proxy and the API server's webhook token authenticator do:
//   no `Authorization: Bearer <JWS>`                 401 (RFC 6750 §3, with WWW-Authenticate)
//   TokenReview(token, audiences) not authenticated  401 (invalid, expired, wrong audience)
//   authenticated, but not one of the allowed
//     ServiceAccounts (`namespace:name`)             403
//   the API server does not answer                   503 (nothing cached; the next report asks again)
// Reviews are cached by the token's SHA-256: authenticated ones for 2 min, refused ones for 10 s
// (the API server's webhook token cache defaults), each in its own bounded map (least recently
// used out), so tokens nobody holds cannot push out the activators'. Concurrent requests with one
// token share one review; at most `maxReviewsInFlight` different tokens are reviewed at once
// (beyond: 503), so a flood of made-up tokens costs the API server a bounded rate of reviews.
import { createHash } from 'node:crypto';
import { isDnsLabel, isDnsSubdomain } from '../api/names.ts';
import {
  ForbiddenReporter,
  type ReportRefusal,
  TokenReviewUnavailable,
  Unauthenticated,
} from '../api/reasons.ts';
import type { Logger } from '../logging.ts';
import type { PlatformResult, TokenReviewer, TokenReviewResult } from '../platform/ports.ts';

export type ReportAuth =
  | { readonly ok: true; readonly identity: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 503;
      readonly reason: ReportRefusal;
      readonly message: string;
      /** The WWW-Authenticate value of a 401 or 403 (RFC 6750 §3). */
      readonly challenge?: string;
      /** Why, for the controller's log only (the API server's words: expired, wrong audience). */
      readonly detail?: string;
    };

export interface ReportAuthenticator {
  /** For the log line at start. */
  readonly description: string;
  /** `authorization`: the request's Authorization header; `now`: ms since the epoch. */
  authenticate(authorization: string | undefined, now: number): Promise<ReportAuth>;
}

/** `--report-auth=none`: everyone is let in (development only; the wiring logs a warning). */
export const noReportAuthentication: Readonly<ReportAuthenticator> = {
  description: 'none: anyone who reaches the report port can drive scaling',
  authenticate: async () => ({ ok: true, identity: 'anonymous (--report-auth=none)' }),
};

const REALM = 'realm="ebb-activator-reports"';
/** A JWS in compact serialization (every ServiceAccount token): three base64url parts. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const SA_PREFIX = 'system:serviceaccount:';

/**
 * `namespace:name` entries (a comma-separated flag value may hold several) → the usernames the
 * API server gives those ServiceAccounts; an error names the entry and the rule it breaks.
 */
export const parseAllowedServiceAccounts = (
  entries: readonly string[],
): { ok: true; value: string[] } | { ok: false; error: string } => {
  const usernames: string[] = [];
  for (const entry of entries.flatMap((e) => e.split(','))) {
    const item = entry.trim();
    if (item === '') continue;
    const [namespace = '', name = '', ...rest] = item.split(':');
    if (rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) {
      return {
        ok: false,
        error: `${JSON.stringify(item)} must be namespace:name of a ServiceAccount (a DNS label, a colon, a DNS subdomain), e.g. ebb-system:ebb-activator`,
      };
    }
    usernames.push(`${SA_PREFIX}${namespace}:${name}`);
  }
  return { ok: true, value: [...new Set(usernames)] };
};

/** A map that forgets its least recently used entry beyond `max`. */
class BoundedCache<V> {
  private readonly entries = new Map<string, { readonly until: number; readonly value: V }>();
  constructor(private readonly max: number) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (e.until <= now) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, until: number): void {
    this.entries.delete(key);
    this.entries.set(key, { until, value });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface TokenReviewAuthOptions {
  readonly reviewer: TokenReviewer;
  /** Audiences the token must be valid for (`--report-token-audience`); empty: the API server's. */
  readonly audiences: readonly string[];
  /** Usernames (`system:serviceaccount:ns:name`) allowed to report; see parseAllowedServiceAccounts. */
  readonly allowed: readonly string[];
  readonly validForMs?: number;
  readonly invalidForMs?: number;
  /** Entries per cache (valid tokens, refused tokens); default 1024 each. */
  readonly maxEntries?: number;
  readonly maxReviewsInFlight?: number;
}

export class TokenReviewAuthenticator implements ReportAuthenticator {
  readonly description: string;
  private readonly allowed: ReadonlySet<string>;
  private readonly valid: BoundedCache<string>;
  private readonly invalid: BoundedCache<string>;
  private readonly inFlight = new Map<string, Promise<PlatformResult<TokenReviewResult>>>();
  private readonly validForMs: number;
  private readonly invalidForMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly opts: TokenReviewAuthOptions) {
    this.allowed = new Set(opts.allowed);
    this.valid = new BoundedCache(opts.maxEntries ?? 1024);
    this.invalid = new BoundedCache(opts.maxEntries ?? 1024);
    this.validForMs = opts.validForMs ?? 120_000;
    this.invalidForMs = opts.invalidForMs ?? 10_000;
    this.maxInFlight = opts.maxReviewsInFlight ?? 16;
    const audience = opts.audiences.length === 0 ? "the API server's" : opts.audiences.join(', ');
    this.description = `TokenReview (audience ${audience}) for ${opts.allowed.map((u) => u.slice(SA_PREFIX.length)).join(', ') || 'no ServiceAccount'}`;
  }

  async authenticate(authorization: string | undefined, now: number): Promise<ReportAuth> {
    const token = bearerToken(authorization);
    if (typeof token !== 'string') return token;
    const key = createHash('sha256').update(token).digest('hex');
    const known = this.valid.get(key, now);
    if (known !== undefined) return this.authorize(known);
    const refused = this.invalid.get(key, now);
    if (refused !== undefined) return unauthenticated(refused, true);

    let review = this.inFlight.get(key);
    if (review === undefined) {
      if (this.inFlight.size >= this.maxInFlight) {
        return {
          ok: false,
          status: 503,
          reason: TokenReviewUnavailable,
          message: `${this.maxInFlight} token reviews are in flight already; try again`,
        };
      }
      review = this.opts.reviewer.review(token, this.opts.audiences);
      this.inFlight.set(key, review);
      const done = () => void this.inFlight.delete(key);
      review.then(done, done);
    }
    const result = await review;
    if (!result.ok) {
      return {
        ok: false,
        status: 503,
        reason: TokenReviewUnavailable,
        message: `cannot verify the token: ${result.error.message}`,
      };
    }
    const r = result.value;
    // With audiences asked for, the API server names those the token is valid for; none is a 401.
    if (r.authenticated && (this.opts.audiences.length === 0 || r.audiences.length > 0)) {
      this.valid.set(key, r.username, now + this.validForMs);
      return this.authorize(r.username);
    }
    // The API server's reason (expired, wrong audience) goes to the log, not to the client.
    const why = r.authenticated ? 'the token is not valid for the audience' : r.error;
    this.invalid.set(key, why, now + this.invalidForMs);
    return unauthenticated(why, true);
  }

  /** Cached reviews (valid, refused), for tests. */
  cached(): { valid: number; invalid: number } {
    return { valid: this.valid.size, invalid: this.invalid.size };
  }

  private authorize(username: string): ReportAuth {
    if (this.allowed.has(username)) return { ok: true, identity: username };
    return {
      ok: false,
      status: 403,
      reason: ForbiddenReporter,
      message: `${username} may not report to the controller (not in --report-allowed-service-accounts)`,
      challenge: `Bearer ${REALM}, error="insufficient_scope"`,
    };
  }
}

/** 401; `why` reaches the client only when no token was sent (what to send is no secret). */
const unauthenticated = (why: string, tokenGiven: boolean): ReportAuth => ({
  ok: false,
  status: 401,
  reason: Unauthenticated,
  message: tokenGiven
    ? 'the bearer token was not accepted: invalid, expired, or not for this audience (the controller logs why)'
    : `${why}: send the activator's ServiceAccount token as Authorization: Bearer`,
  challenge: tokenGiven ? `Bearer ${REALM}, error="invalid_token"` : `Bearer ${REALM}`,
  detail: why,
});

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1), or why not. */
const bearerToken = (authorization: string | undefined): string | ReportAuth => {
  if (authorization === undefined || authorization === '')
    return unauthenticated('no Authorization header', false);
  const space = authorization.indexOf(' ');
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== 'bearer')
    return unauthenticated('the Authorization header is not a Bearer token', false);
  const token = authorization.slice(space + 1).trim();
  if (token.length > MAX_TOKEN_LENGTH || !JWS.test(token))
    return unauthenticated('the bearer token is not a ServiceAccount token (a JWS)', true);
  return token;
};

export interface ReportAuthConfig {
  /** `--report-auth`: `tokenreview` (the default) or `none`. */
  readonly mode: 'tokenreview' | 'none';
  /** `--report-allowed-service-accounts`: `namespace:name` entries. */
  readonly allowedServiceAccounts: readonly string[];
  /** `--report-token-audience`: empty: the API server's own. */
  readonly audiences: readonly string[];
}

/** The authenticator `config` asks for; a bad ServiceAccount entry throws, naming it. */
export const reportAuthenticator = (
  config: ReportAuthConfig,
  reviewer: TokenReviewer,
  log: Logger,
): ReportAuthenticator => {
  if (config.mode === 'none') {
    log.warn(
      'activator reports are NOT authenticated (--report-auth=none): anything that reaches the report port can scale every http-triggered workload; never use this in a shared cluster',
    );
    return noReportAuthentication;
  }
  const allowed = parseAllowedServiceAccounts(config.allowedServiceAccounts);
  if (!allowed.ok) throw new Error(`--report-allowed-service-accounts: ${allowed.error}`);
  if (allowed.value.length === 0) {
    log.warn(
      'no ServiceAccount may report (--report-allowed-service-accounts is empty): every activator report is refused with 403',
    );
  }
  return new TokenReviewAuthenticator({ reviewer, audiences: config.audiences, allowed: allowed.value });
};
