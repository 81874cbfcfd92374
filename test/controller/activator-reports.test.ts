// The controller's receiver for standalone activators (src/controller/activator-reports.ts) on a
// real port, every request with an allowed activator's token (a fake TokenReviewer;
// report-receiver.test.ts tests refusals, test/integration/report-auth.test.ts the real API
// server): bad bodies are refused with 400 naming the field, stats from several activators are
// summed by id, a poke starts a poll of its ScaledObject only while leading, a goodbye or silence
// takes an activator out of the sums, and the http scaler reads a silent activator's data as
// stale (an error, never a zero). The last case sends through the real ActivatorReporter.
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpScaler } from '../../scalers/http/source.ts';
import { ActivatorReporter } from '../../src/activator/reporter.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import type { ActivationFeed } from '../../src/controller/activation-feed.ts';
import { GOODBYE_PATH, POKE_PATH, STATS_PATH } from '../../src/controller/activator-reports.ts';
import { silentLogger } from '../../src/logging.ts';
import { parseHttpMetadata } from '../../src/routing/http-trigger.ts';
import { until } from '../activator/helpers.ts';
import { ACTIVATOR_TOKEN, closeTestReceivers, startTestReceiver, type TestReceiver } from './report-fakes.ts';

let clock = 1_000_000;
afterEach(closeTestReceivers);

const setup = (): Promise<TestReceiver> => {
  clock = 1_000_000;
  return startTestReceiver({ now: () => clock, routes: ['shop/web', 'shop/web#2', 'shop/new'] });
};

const post = async (s: TestReceiver, path: string, body: unknown, method = 'POST') => {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ACTIVATOR_TOKEN}` },
    ...(method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, text: (await res.text()).trim() };
};

const stats = (
  activator: string,
  at: number,
  inFlight: number,
  held: number,
  requests = 0,
): ActivatorStats => ({
  activator,
  at,
  routes: [{ route: 'shop/web', inFlight, held, requests, concurrencyMs: 0 }],
});

/** The http scaler of route shop/web (target 100 per replica), reading `feed`. */
const httpScaler = (feed: ActivationFeed) => {
  const config = parseHttpMetadata({
    index: 0,
    trigger: { type: 'http', metadata: { hosts: 'web.example.com', service: 'web', port: '80' } },
    authParams: {},
  });
  if (!config.ok) throw new Error('metadata');
  return createHttpScaler(
    config.value,
    { name: 's0-http-web', target: 100, metricType: 'AverageValue' },
    { routeKey: 'shop/web', feed, staleAfterMs: 10_000 },
  );
};

describe('the activator report endpoint', () => {
  it.each([
    { label: 'not JSON', path: STATS_PATH, body: '{"activator":', status: 400, text: /^body is not JSON: / },
    {
      label: 'no activator id',
      path: STATS_PATH,
      body: { at: clock, routes: [] },
      status: 400,
      text: /^activator: /,
    },
    {
      label: 'a negative gauge',
      path: STATS_PATH,
      body: stats('a', clock, -1, 0),
      status: 400,
      text: /^routes\.0\.inFlight: /,
    },
    {
      label: 'a fractional counter',
      path: STATS_PATH,
      body: stats('a', clock, 0, 0, 1.5),
      status: 400,
      text: /^routes\.0\.requests: /,
    },
    {
      label: 'a route without a key',
      path: STATS_PATH,
      body: {
        activator: 'a',
        at: clock,
        routes: [{ route: '', inFlight: 0, held: 0, requests: 0, concurrencyMs: 0 }],
      },
      status: 400,
      text: /^routes\.0\.route: /,
    },
    {
      label: 'an unresolved port without its Service',
      path: STATS_PATH,
      body: {
        ...stats('a', clock, 0, 0),
        unresolved: [{ route: 'shop/web', namespace: 'shop', port: 'http' }],
      },
      status: 400,
      text: /^unresolved\.0\.service: /,
    },
    {
      label: 'a poke without held',
      path: POKE_PATH,
      body: { activator: 'a', route: 'shop/web' },
      status: 400,
      text: /^held: /,
    },
    {
      label: "a poke's snapshot with a bad route",
      path: POKE_PATH,
      body: { activator: 'a', route: 'shop/web', held: 1, stats: stats('a', clock, 0, -2) },
      status: 400,
      text: /^stats\.routes\.0\.held: /,
    },
    { label: 'a goodbye without an id', path: GOODBYE_PATH, body: {}, status: 400, text: /^activator: / },
    {
      label: 'JSON that is not an object',
      path: GOODBYE_PATH,
      body: '[1]',
      status: 400,
      text: /^\(body\): /,
    },
    {
      label: 'an unknown path',
      path: '/v1/activator/statz',
      body: {},
      status: 404,
      text: /^no such path \/v1\/activator\/statz; POST \/v1\/activator\/stats, /,
    },
  ])('refuses $label ($status, naming the field)', async ({ path, body, status, text }) => {
    const s = await setup();
    const got = await post(s, path, body);
    expect(got.status).toBe(status);
    expect(got.text).toMatch(text);
    expect(s.feed.activators()).toEqual([]);
  });

  it('answers 405 to anything but POST, and 413 to a body over 1 MiB', async () => {
    const s = await setup();
    expect(await post(s, STATS_PATH, undefined, 'GET')).toEqual({
      status: 405,
      text: `${STATS_PATH} takes POST, not GET`,
    });
    const huge = { ...stats('a', clock, 0, 0), aliases: { x: 'y'.repeat(1024 * 1024) } };
    expect((await post(s, STATS_PATH, huge)).status).toBe(413);
  });

  it('sums the routes of several activators by id; a newer report from one replaces its last', async () => {
    const s = await setup();
    expect((await post(s, STATS_PATH, stats('a', clock, 2, 1, 10))).status).toBe(204);
    expect((await post(s, STATS_PATH, stats('b', clock - 500, 3, 0, 5))).status).toBe(204);
    expect(s.feed.latest('shop/web')).toEqual({
      inFlight: 5,
      held: 1,
      requests: 15,
      concurrencyMs: 0,
      at: clock - 500,
    });
    await post(s, STATS_PATH, stats('a', clock + 100, 0, 0, 12));
    expect(s.feed.latest('shop/web')).toMatchObject({ inFlight: 3, held: 0, requests: 17 });
    expect(s.feed.activators().sort()).toEqual(['a', 'b']);
    // A route nobody reports: no reading (the scaler says HttpMetricsUnavailable).
    expect(s.feed.latest('shop/unknown')).toBeUndefined();
  });

  it.each([
    { label: 'both steady at 3', rampAt: Number.NEGATIVE_INFINITY },
    { label: "A's 3 arriving between B's reports", rampAt: 3_400 },
  ])('averages the sum truly whatever phase each activator reports in ($label)', async ({ rampAt }) => {
    const s = await setup();
    const scaler = httpScaler(s.feed);
    const start = clock;
    // B holds 3 in flight all along; A holds 0 until rampAt, then 3: at most 6 at once.
    // A reports just before each poll; B sometimes just before, sometimes most of a second before.
    const gauge = (activator: string, t: number) => (activator === 'a' && t - start < rampAt ? 0 : 3);
    const integral = (activator: string, t: number) =>
      activator === 'a' ? 3 * Math.max(0, t - start - Math.max(0, rampAt)) : 3 * (t - start);
    const report = (activator: string, at: number): ActivatorStats => ({
      activator,
      at,
      routes: [
        {
          route: 'shop/web',
          inFlight: gauge(activator, at),
          held: 0,
          requests: 6,
          concurrencyMs: integral(activator, at),
        },
      ],
    });
    const values: number[] = [];
    for (let poll = 1; poll <= 8; poll++) {
      const now = start + poll * 1000;
      s.feed.record(report('a', now - 100));
      s.feed.record(report('b', now - (poll % 2 === 0 ? 50 : 900)));
      clock = now;
      const read = await scaler.read(new Date(now), new AbortController().signal);
      if (!read.ok) throw new Error(read.error.message);
      values.push(read.value.value);
    }
    // Summed as reported, the phase shifts read up to 17.25 here: three replicas too many.
    expect(Math.max(...values)).toBeLessThanOrEqual(6);
    expect(values.slice(-3)).toEqual([6, 6, 6]);
  });

  it('answers under the aliases a report carries (scalers keyed by hosts|paths)', async () => {
    const s = await setup();
    await post(s, STATS_PATH, { ...stats('a', clock, 1, 0), aliases: { 'web.example.com|/': 'shop/web' } });
    expect(s.feed.latest('web.example.com|/')).toMatchObject({ inFlight: 1 });
  });

  it('a poke raises held at once and polls the ScaledObject only while leading', async () => {
    const s = await setup();
    await post(s, STATS_PATH, stats('a', clock, 0, 0));
    expect((await post(s, POKE_PATH, { activator: 'a', route: 'shop/web#2', held: 3 })).status).toBe(204);
    expect(s.pokes).toEqual(['shop/web']); // the ScaledObject of the route
    const poke = { activator: 'b', route: 'shop/web', held: 1, at: clock, stats: stats('b', clock, 0, 1) };
    expect((await post(s, POKE_PATH, poke)).status).toBe(204);
    expect(s.feed.latest('shop/web')).toMatchObject({ held: 1 }); // b's snapshot; a's poke was another route
    // A poke for a route the cache has, that no report named yet, starts that activator's entry.
    expect((await post(s, POKE_PATH, { activator: 'c', route: 'shop/new', held: 1 })).status).toBe(204);
    expect(s.feed.latest('shop/new')).toMatchObject({ held: 1, at: clock });
    s.leading = false;
    s.routes = undefined; // a standby has no cache of ScaledObjects
    expect((await post(s, POKE_PATH, { ...poke, held: 4 })).status).toBe(202);
    expect(s.pokes).toEqual(['shop/web', 'shop/web', 'shop/new']);
    expect(s.feed.latest('shop/web')).toMatchObject({ held: 4 }); // a standby keeps its feed warm
  });

  it('an activator that stops reporting: stale (the scaler errs, never zero), then dropped from the sums', async () => {
    const s = await setup();
    const scaler = httpScaler(s.feed);
    await post(s, STATS_PATH, stats('a', clock, 0, 0));
    await post(s, STATS_PATH, stats('b', clock, 0, 2));
    const read = () => scaler.read(new Date(clock), new AbortController().signal);
    expect(await read()).toMatchObject({ ok: true, value: { active: true } });

    // b goes silent (a crash: no goodbye) while a keeps reporting idle counters.
    for (const step of [5_000, 10_000]) {
      clock += step;
      await post(s, STATS_PATH, stats('a', clock, 0, 0));
    }
    expect(await read()).toMatchObject({ ok: false, error: { reason: 'HttpMetricsStale' } });
    expect(s.feed.latest('shop/web')).toMatchObject({ held: 2 }); // still summed: the target stays up

    clock += 16_000; // b is 31 s silent: gone; a's counters are the whole truth again
    await post(s, STATS_PATH, stats('a', clock, 0, 0));
    expect(s.feed.activators()).toEqual(['a']);
    expect(await read()).toMatchObject({ ok: true, value: { value: 0, active: false } });
  });

  it('a goodbye takes the activator out of the sums at once, and what it said of ports with it', async () => {
    const s = await setup();
    const told: string[] = [];
    s.feed.onChange((service) => told.push(service));
    const unresolved = [{ route: 'shop/web', namespace: 'shop', service: 'web', port: 'grpc' }];
    await post(s, STATS_PATH, { ...stats('a', clock, 1, 0), unresolved });
    await post(s, STATS_PATH, stats('b', clock, 2, 0));
    expect(s.feed.unresolved('shop', 'web', 'grpc')).toBe(true);
    expect(told).toEqual(['shop/web']);
    expect((await post(s, GOODBYE_PATH, { activator: 'a' })).status).toBe(204);
    expect(s.feed.latest('shop/web')).toMatchObject({ inFlight: 2 });
    expect(s.feed.unresolved('shop', 'web', 'grpc')).toBe(false);
    expect(told).toEqual(['shop/web', 'shop/web']);
  });

  it('receives what the real ActivatorReporter sends', async () => {
    const s = await setup();
    const reporter = new ActivatorReporter({
      urls: [s.url],
      log: silentLogger,
      credentials: { current: () => ACTIVATOR_TOKEN, rejected: () => {} },
    });
    try {
      reporter.stats(stats('a', clock, 1, 0, 1));
      await until(() => s.feed.latest('shop/web') !== undefined, 'the stats');
      reporter.poke({
        activator: 'b',
        route: 'shop/web',
        held: 2,
        at: clock,
        stats: stats('b', clock, 0, 2, 2),
      });
      await until(() => s.pokes.length === 1, 'the poke');
      expect(s.feed.latest('shop/web')).toMatchObject({ inFlight: 1, held: 2, requests: 3 });
      await reporter.goodbye('b');
      expect(s.feed.activators()).toEqual(['a']);
    } finally {
      reporter.close();
    }
  });
});
