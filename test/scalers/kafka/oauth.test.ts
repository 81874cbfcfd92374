import { describe, expect, it } from 'vitest';
import { createOAuthBearerProvider, type OAuthBearerSettings } from '../../../scalers/kafka/oauth.ts';
import { realClock } from '../../../src/clock.ts';

const SETTINGS: OAuthBearerSettings = {
  clientId: 'my id',
  clientSecret: 's3cret:x',
  tokenEndpoint: 'https://idp.example/token',
  scopes: ['scope1', 'scope2'],
  extensions: { logicalCluster: 'lkc-1' },
};

interface Seen {
  readonly authorization: string | undefined;
  readonly body: Record<string, string>;
}

/** A token endpoint answering from a list of [status, body] in order. */
const endpoint = (answers: readonly (readonly [number, unknown])[]) => {
  const seen: Seen[] = [];
  let i = 0;
  const fetchImpl = (async (_url: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    seen.push({
      authorization: headers.authorization,
      body: Object.fromEntries(new URLSearchParams(String(init?.body))),
    });
    const [status, body] = answers[Math.min(i++, answers.length - 1)] ?? [500, {}];
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { seen, fetchImpl };
};

describe('OAuth bearer token provider (KEDA bearer: client credentials)', () => {
  it('sends client credentials as Basic auth with the scopes, and returns the token with the extensions', async () => {
    const { seen, fetchImpl } = endpoint([[200, { access_token: 't1', expires_in: 3600 }]]);
    const provider = createOAuthBearerProvider(SETTINGS, {
      fetch: fetchImpl,
      clock: { ...realClock, wallNow: () => 0 },
    });
    expect(await provider()).toEqual({ value: 't1', extensions: { logicalCluster: 'lkc-1' } });
    expect(seen).toEqual([
      {
        authorization: `Basic ${Buffer.from('my%20id:s3cret%3Ax').toString('base64')}`,
        body: { grant_type: 'client_credentials', scope: 'scope1 scope2' },
      },
    ]);
  });

  it('reuses the token until shortly before it expires', async () => {
    let t = 0;
    const { seen, fetchImpl } = endpoint([
      [200, { access_token: 't1', expires_in: 600 }],
      [200, { access_token: 't2', expires_in: 600 }],
    ]);
    const provider = createOAuthBearerProvider(SETTINGS, {
      fetch: fetchImpl,
      clock: { ...realClock, wallNow: () => t },
    });
    expect((await provider()).value).toBe('t1');
    t = 500_000; // 540 s is the renewal point (600 s - 60 s margin)
    expect((await provider()).value).toBe('t1');
    t = 540_000;
    expect((await provider()).value).toBe('t2');
    expect(seen).toHaveLength(2);
  });

  it('fetches once for concurrent callers', async () => {
    const { seen, fetchImpl } = endpoint([[200, { access_token: 't1', expires_in: 600 }]]);
    const provider = createOAuthBearerProvider(SETTINGS, {
      fetch: fetchImpl,
      clock: { ...realClock, wallNow: () => 0 },
    });
    const tokens = await Promise.all([provider(), provider(), provider()]);
    expect(tokens.map((x) => x.value)).toEqual(['t1', 't1', 't1']);
    expect(seen).toHaveLength(1);
  });

  it('falls back to credentials in the form body when the server refuses Basic auth, and keeps that style', async () => {
    const { seen, fetchImpl } = endpoint([
      [401, { error: 'invalid_client' }],
      [200, { access_token: 't1', expires_in: 1 }],
      [200, { access_token: 't2', expires_in: 600 }],
    ]);
    let t = 0;
    const provider = createOAuthBearerProvider(
      { ...SETTINGS, scopes: [] },
      { fetch: fetchImpl, clock: { ...realClock, wallNow: () => t } },
    );
    expect((await provider()).value).toBe('t1');
    t = 500; // expires_in 1 s: the margin is half of so short a lifetime
    expect((await provider()).value).toBe('t2');
    expect(seen.map((s) => [s.authorization, s.body])).toEqual([
      [expect.stringMatching(/^Basic /), { grant_type: 'client_credentials' }],
      [undefined, { grant_type: 'client_credentials', client_id: 'my id', client_secret: 's3cret:x' }],
      [undefined, { grant_type: 'client_credentials', client_id: 'my id', client_secret: 's3cret:x' }],
    ]);
  });

  it.each([
    { label: 'an HTTP error', answer: [500, {}] as const, message: 'answered HTTP 500' },
    {
      label: 'no access_token',
      answer: [200, { token_type: 'bearer' }] as const,
      message: 'returned no access_token',
    },
  ])('fails on $label, naming the endpoint', async ({ answer, message }) => {
    const { fetchImpl } = endpoint([answer, answer]);
    const provider = createOAuthBearerProvider(SETTINGS, {
      fetch: fetchImpl,
      clock: { ...realClock, wallNow: () => 0 },
    });
    await expect(provider()).rejects.toThrow(`OAuth token endpoint https://idp.example/token ${message}`);
  });
});
