// The report receiver (src/controller/activator-reports.ts) as an attacker meets it, on a real
// port with a fake TokenReviewer: who may report (401/403/503, before any body is read), what a
// report may say (each bound of report-validation.ts, the ±30 s clock-skew window), how many
// activators it holds (the id cap, freed as activators are forgotten), that a poke names a route
// that exists, and that each refusal is counted by reason. Nothing refused reaches the feed.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { GOODBYE_PATH, POKE_PATH, STATS_PATH } from '../../src/controller/activator-reports.ts';
import {
  ACTIVATOR_TOKEN,
  closeTestReceivers,
  jws,
  OTHER_TOKEN,
  startTestReceiver,
  type TestReceiver,
  WRONG_AUDIENCE_TOKEN,
} from './report-fakes.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
afterEach(closeTestReceivers);

type Receiver = TestReceiver & { clock: number };

/** A receiver whose clock is its `clock`, starting at T0. */
const start = async (maxActivators?: number): Promise<Receiver> => {
  let self: Receiver | undefined;
  const r = await startTestReceiver({
    now: () => self?.clock ?? T0,
    routes: ['shop/web'],
    ...(maxActivators === undefined ? {} : { maxActivators }),
  });
  self = Object.assign(r, { clock: T0 });
  return self;
};

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
}

const post = async (
  r: Receiver,
  path: string,
  body: unknown,
  token: string | null = ACTIVATOR_TOKEN,
): Promise<Reply> => {
  const res = await fetch(`${r.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: (await res.text()).trim(), headers: res.headers };
};

const route = (over: Record<string, unknown> = {}) => ({
  route: 'shop/web',
  inFlight: 1,
  held: 0,
  requests: 1,
  concurrencyMs: 10,
  ...over,
});
const stats = (at: number, over: Record<string, unknown> = {}) => ({
  activator: 'a',
  at,
  routes: [route()],
  ...over,
});
const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

describe('who may report', () => {
  it.each([
    {
      label: 'no token',
      token: null,
      status: 401,
      reason: 'Unauthenticated',
      challenge: 'Bearer realm="ebb-activator-reports"',
    },
    {
      label: 'a token nobody issued',
      token: jws('forged'),
      status: 401,
      reason: 'Unauthenticated',
      challenge: 'error="invalid_token"',
    },
    {
      label: 'a token for another audience',
      token: WRONG_AUDIENCE_TOKEN,
      status: 401,
      reason: 'Unauthenticated',
      challenge: 'error="invalid_token"',
    },
    {
      label: 'a ServiceAccount not allowed',
      token: OTHER_TOKEN,
      status: 403,
      reason: 'ForbiddenReporter',
      challenge: 'error="insufficient_scope"',
    },
  ])(
    '$label: $status on every path, counted, the feed untouched',
    async ({ token, status, reason, challenge }) => {
      const r = await start();
      for (const path of [STATS_PATH, POKE_PATH, GOODBYE_PATH]) {
        const body = path === POKE_PATH ? { activator: 'a', route: 'shop/web', held: 1 } : stats(r.clock);
        const got = await post(r, path, body, token);
        expect(got.status, path).toBe(status);
        expect(got.headers.get('www-authenticate')).toContain(challenge);
      }
      expect(r.refused).toEqual([reason, reason, reason]);
      expect(r.feed.activators()).toEqual([]);
      expect(r.pokes).toEqual([]);
    },
  );

  it('answers an unauthenticated request without reading its body, and closes the connection', async () => {
    const r = await start();
    const reply = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: r.port,
          method: 'POST',
          path: STATS_PATH,
          headers: { 'content-length': 1_000_000 },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
          req.destroy();
        },
      );
      req.on('error', reject);
      req.flushHeaders(); // the body never comes
    });
    expect(reply).toEqual({ status: 401, connection: 'close' });
  });

  it('the API server not answering is 503, and the next report is reviewed again', async () => {
    const r = await start();
    r.reviewer.down = 'connect ECONNREFUSED';
    expect((await post(r, STATS_PATH, stats(r.clock))).status).toBe(503);
    r.reviewer.down = undefined;
    expect((await post(r, STATS_PATH, stats(r.clock))).status).toBe(204);
    expect(r.refused).toEqual(['TokenReviewUnavailable']);
  });
});

describe('what a report may say', () => {
  const S = STATS_PATH;
  const P = POKE_PATH;
  it.each([
    {
      label: 'in flight over 1e6',
      path: S,
      body: (t: number) => stats(t, { routes: [route({ inFlight: 1_000_001 })] }),
      field: 'routes.0.inFlight',
    },
    {
      label: 'held over 1e6',
      path: S,
      body: (t: number) => stats(t, { routes: [route({ held: 1e9 })] }),
      field: 'routes.0.held',
    },
    {
      label: 'a counter past 2^53',
      path: S,
      body: (t: number) => stats(t, { routes: [route({ requests: 2 ** 53 })] }),
      field: 'routes.0.requests',
    },
    {
      label: '10,001 routes',
      path: S,
      body: (t: number) => stats(t, { routes: many(10_001, (i) => route({ route: `s/r${i}` })) }),
      field: 'routes',
    },
    {
      label: 'a route key of 513 characters',
      path: S,
      body: (t: number) => stats(t, { routes: [route({ route: 'x'.repeat(513) })] }),
      field: 'routes.0.route',
    },
    {
      label: 'an id of 254 characters',
      path: S,
      body: (t: number) => stats(t, { activator: 'a'.repeat(254) }),
      field: 'activator',
    },
    {
      label: '10,001 aliases',
      path: S,
      body: (t: number) =>
        stats(t, { aliases: Object.fromEntries(many(10_001, (i) => [`h${i}|/`, 'shop/web'])) }),
      field: 'aliases',
    },
    {
      label: '10,001 unresolved ports',
      path: S,
      body: (t: number) =>
        stats(t, {
          unresolved: many(10_001, () => ({
            route: 'shop/web',
            namespace: 'shop',
            service: 'web',
            port: 'http',
          })),
        }),
      field: 'unresolved',
    },
    {
      label: 'a poke holding over 1e6',
      path: P,
      body: () => ({ activator: 'a', route: 'shop/web', held: 1_000_001 }),
      field: 'held',
    },
    {
      label: "a poke with another activator's stats",
      path: P,
      body: (t: number) => ({
        activator: 'a',
        route: 'shop/web',
        held: 1,
        stats: stats(t, { activator: 'b' }),
      }),
      field: 'stats.activator',
    },
  ])('refuses $label: 400 InvalidReport naming $field', async ({ path, body, field }) => {
    const r = await start();
    const got = await post(r, path, body(r.clock));
    expect(got.status).toBe(400);
    expect(got.text.startsWith(`${field}: `), got.text).toBe(true);
    expect(r.refused).toEqual(['InvalidReport']);
    expect(r.feed.activators()).toEqual([]);
    expect(r.pokes).toEqual([]);
  });

  it.each([
    {
      label: 'stats from 31 s in the future',
      path: S,
      body: (t: number) => stats(t + 31_000),
      text: /^at: .* is 31 s ahead of the controller's clock \(allowed ±30 s\)$/,
    },
    {
      label: 'stats from 31 s ago',
      path: S,
      body: (t: number) => stats(t - 31_000),
      text: /^at: .* is 31 s behind/,
    },
    {
      label: 'a poke from the future',
      path: P,
      body: (t: number) => ({ activator: 'a', route: 'shop/web', held: 1, at: t + 3_600_000 }),
      text: /^at: .* is 3600 s ahead/,
    },
    {
      label: "a poke's stats from the future",
      path: P,
      body: (t: number) => ({ activator: 'a', route: 'shop/web', held: 1, stats: stats(t + 60_000) }),
      text: /^stats\.at: .* is 60 s ahead/,
    },
  ])('refuses $label: 400 ClockSkew', async ({ path, body, text }) => {
    const r = await start();
    const got = await post(r, path, body(r.clock));
    expect(got.status).toBe(400);
    expect(got.text).toMatch(text);
    expect(r.refused).toEqual(['ClockSkew']);
    expect(r.feed.activators()).toEqual([]);
  });

  it("a report from the future no longer hides the activator's real ones; ±30 s is accepted", async () => {
    const r = await start();
    expect(
      (await post(r, S, stats(r.clock + 3_600_000, { routes: [route({ inFlight: 999 })] }))).status,
    ).toBe(400);
    expect((await post(r, S, stats(r.clock - 29_000))).status).toBe(204);
    expect((await post(r, S, stats(r.clock + 29_000, { routes: [route({ inFlight: 2 })] }))).status).toBe(
      204,
    );
    expect(r.feed.latest('shop/web')).toMatchObject({ inFlight: 2 });
  });

  it('413 for a body over 1 MiB, 400 for one that is not JSON, each counted', async () => {
    const r = await start();
    expect((await post(r, S, stats(r.clock, { pad: 'x'.repeat(1024 * 1024) }))).status).toBe(413);
    expect((await post(r, S, '{"activator":')).status).toBe(400);
    expect(r.refused).toEqual(['ReportTooLarge', 'InvalidReport']);
  });
});

describe('how many activators, and which routes', () => {
  it('holds at most maxActivators ids; a new one is 503 until one is forgotten 30 s after its last report', async () => {
    const r = await start(3);
    for (const id of ['a', 'b', 'c'])
      expect((await post(r, STATS_PATH, stats(r.clock, { activator: id }))).status).toBe(204);
    const d = await post(r, STATS_PATH, stats(r.clock, { activator: 'd' }));
    expect(d.status).toBe(503);
    expect(d.headers.get('retry-after')).toBe('30');
    expect(d.text).toMatch(/^activator: 3 activators are reporting already/);
    expect((await post(r, POKE_PATH, { activator: 'e', route: 'shop/web', held: 1 })).status).toBe(503);
    // The known ones still report.
    expect((await post(r, STATS_PATH, stats(r.clock, { activator: 'a' }))).status).toBe(204);
    // b and c fall silent; 31 s later they are forgotten and d gets in.
    r.clock += 20_000;
    await post(r, STATS_PATH, stats(r.clock, { activator: 'a' }));
    r.clock += 11_000;
    expect((await post(r, STATS_PATH, stats(r.clock, { activator: 'd' }))).status).toBe(204);
    expect(r.feed.activators().sort()).toEqual(['a', 'd']);
    expect(r.refused).toEqual(['TooManyActivators', 'TooManyActivators']);
  });

  it('a poke must name a route a ScaledObject has: the leader asks its cache, a standby the report', async () => {
    const r = await start();
    const unknown = await post(r, POKE_PATH, { activator: 'a', route: 'shop/nothing', held: 1 });
    expect(unknown).toMatchObject({
      status: 400,
      text: 'route: no ScaledObject has the http route shop/nothing',
    });
    expect(r.pokes).toEqual([]);
    expect(r.feed.activators()).toEqual([]);
    expect((await post(r, POKE_PATH, { activator: 'a', route: 'shop/web', held: 2 })).status).toBe(204);
    expect(r.pokes).toEqual(['shop/web']);

    // A standby has no cache: a poke may raise only a route its activator's report names.
    r.leading = false;
    r.routes = undefined;
    const bare = await post(r, POKE_PATH, { activator: 'b', route: 'shop/made-up', held: 1 });
    expect(bare.status).toBe(400);
    expect(bare.text).toBe(
      "route: shop/made-up is in no report of activator b (send it in the poke's stats)",
    );
    expect(r.feed.activators()).toEqual(['a']);
    const withStats = {
      activator: 'b',
      route: 'shop/web',
      held: 3,
      stats: stats(r.clock, { activator: 'b' }),
    };
    expect((await post(r, POKE_PATH, withStats)).status).toBe(202);
    expect(r.feed.latest('shop/web')).toMatchObject({ held: 5 });
    expect(r.refused).toEqual(['UnknownRoute', 'UnknownRoute']);
  });
});
