// SASL/OAUTHBEARER tokens as KEDA's `bearer` token provider gets them
// (pkg/scalers/kafka/kafka_scaler_oauth_token_provider.go): the OAuth 2 client-credentials grant
// against `oauthTokenEndpointUri`, username = client id, password = client secret, with `scopes`
// and `oauthExtensions`. Tokens are reused until shortly before they expire.
import { type Clock, realClock } from '../../src/clock.ts';

export interface OAuthBearerSettings {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenEndpoint: string;
  readonly scopes: readonly string[];
  readonly extensions: Readonly<Record<string, string>>;
}

export interface OAuthBearerToken {
  readonly value: string;
  readonly extensions: Record<string, string>;
}

export interface OAuthBearerOptions {
  readonly fetch?: typeof fetch;
  /** Token expiry (wallNow) and the request timeout; default realClock. */
  readonly clock?: Clock;
  readonly timeoutMs?: number;
}

/** Renew this long before the token's own expiry. */
const EXPIRY_MARGIN_MS = 60_000;
/** A token without `expires_in` is fetched again after this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

/** RFC 6749 2.3.1: client id and secret are form-urlencoded before the Basic header. */
const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * An async provider as kafkajs' `oauthBearerProvider` wants it. Like golang.org/x/oauth2's
 * auto-detection, it sends the client credentials as a Basic header first and, when the server
 * refuses that, in the form body; the style that worked is kept.
 */
export const createOAuthBearerProvider = (
  settings: OAuthBearerSettings,
  options: OAuthBearerOptions = {},
): (() => Promise<OAuthBearerToken>) => {
  const doFetch = options.fetch ?? fetch;
  const clock = options.clock ?? realClock;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let cached: { token: string; expiresAt: number } | undefined;
  let inBody: boolean | undefined;
  let inflight: Promise<string> | undefined;

  const request = async (credentialsInBody: boolean): Promise<Response> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (settings.scopes.length > 0) form.set('scope', settings.scopes.join(' '));
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (credentialsInBody) {
      form.set('client_id', settings.clientId);
      form.set('client_secret', settings.clientSecret);
    } else {
      headers.authorization = basic(settings.clientId, settings.clientSecret);
    }
    // Not AbortSignal.timeout(): that timer is node's, off the clock, and cannot be cleared.
    const abort = new AbortController();
    const timer = clock.after(timeoutMs, () =>
      abort.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
    );
    return doFetch(settings.tokenEndpoint, {
      method: 'POST',
      headers,
      body: form.toString(),
      signal: abort.signal,
    }).finally(() => clock.cancel(timer));
  };

  const fetchToken = async (): Promise<string> => {
    let response = await request(inBody ?? false);
    if (inBody === undefined && (response.status === 400 || response.status === 401)) {
      const retry = await request(true);
      if (retry.ok) inBody = true;
      response = retry;
    } else if (response.ok && inBody === undefined) {
      inBody = false;
    }
    if (!response.ok) {
      throw new Error(`OAuth token endpoint ${settings.tokenEndpoint} answered HTTP ${response.status}`);
    }
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new Error(`OAuth token endpoint ${settings.tokenEndpoint} returned no access_token`);
    }
    const lifetime = Number(body.expires_in);
    const lifetimeMs = Number.isFinite(lifetime) && lifetime > 0 ? lifetime * 1000 : DEFAULT_LIFETIME_MS;
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
    cached = { token: body.access_token, expiresAt: clock.wallNow() + lifetimeMs - margin };
    return body.access_token;
  };

  return async () => {
    let token = cached !== undefined && clock.wallNow() < cached.expiresAt ? cached.token : undefined;
    if (token === undefined) {
      // One request for every connection that authenticates at once.
      inflight ??= fetchToken().finally(() => {
        inflight = undefined;
      });
      token = await inflight;
    }
    return { value: token, extensions: { ...settings.extensions } };
  };
};
