import { describe, expect, it } from 'vitest';
import { httpScaler } from '../../../scalers/http/index.ts';
import {
  createHttpScaler,
  DEFAULT_STALE_AFTER_MS,
  HttpMetricsStale,
  HttpMetricsUnavailable,
} from '../../../scalers/http/source.ts';
import { createScalerDeps, resolveTrigger } from '../../../scalers/index.ts';
import { type HttpConfig, httpRouteKey } from '../../../src/routing/http-trigger.ts';
import type { ConcurrencyFeed, RouteReading } from '../../../src/routing/reports.ts';
import type { MetricSpec } from '../../../src/scaler.ts';

const T0 = Date.UTC(2024, 0, 1);
const S = 1000;
const signal = new AbortController().signal;

const config = (overlay: Partial<HttpConfig> = {}): HttpConfig => ({
  hosts: ['shop.example.com'],
  pathPrefixes: ['/'],
  service: 'shop',
  port: { number: 8080 },
  mode: { kind: 'concurrency', target: 10 },
  containerConcurrency: 0,
  holdTimeoutMs: 60_000,
  maxHeldRequests: 1000,
  healthPaths: [],
  ...overlay,
});
const metric: MetricSpec = { name: 's0-http-shop-example-com', target: 10, metricType: 'AverageValue' };

/** A feed whose readings the test sets per route key. */
const scriptedFeed = () => {
  const readings = new Map<string, RouteReading>();
  const feed: ConcurrencyFeed = { latest: (key) => readings.get(key) };
  return { feed, set: (key: string, r: RouteReading) => readings.set(key, r) };
};

describe('the http scaler', () => {
  it('reads the route from the feed it was given: concurrency and activity', async () => {
    const { feed, set } = scriptedFeed();
    const key = httpRouteKey(config());
    const scaler = createHttpScaler(config(), metric, { feed });
    expect(scaler.metric).toBe(metric);

    set(key, { inFlight: 3, held: 2, requests: 10, at: T0 });
    expect(await scaler.read(new Date(T0 + S), signal)).toMatchObject({
      ok: true,
      value: { value: 5, active: true, concurrency: 5 },
    });
    // Nothing in flight, but 4 requests came and went since the last reading: still active.
    set(key, { inFlight: 0, held: 0, requests: 14, at: T0 + 30 * S });
    expect(await scaler.read(new Date(T0 + 31 * S), signal)).toMatchObject({
      ok: true,
      value: { value: 0, active: true, newRequests: 4 },
    });
    set(key, { inFlight: 0, held: 0, requests: 14, at: T0 + 60 * S });
    expect(await scaler.read(new Date(T0 + 61 * S), signal)).toMatchObject({
      ok: true,
      value: { value: 0, active: false },
    });
    await scaler.close();
  });

  it('computes the request rate over its window across reads', async () => {
    const { feed, set } = scriptedFeed();
    const cfg = config({ mode: { kind: 'requestRate', target: 5, windowMs: 60 * S } });
    const scaler = createHttpScaler(cfg, metric, { feed, staleAfterMs: 10 * S });
    const key = httpRouteKey(cfg);
    const values: number[] = [];
    for (const [s, requests] of [
      [0, 0],
      [30, 300],
      [60, 600],
      [90, 600],
      [120, 600],
      [150, 600],
    ] as const) {
      set(key, { inFlight: 0, held: 0, requests, at: T0 + s * S });
      const r = await scaler.read(new Date(T0 + s * S), signal);
      values.push(r.ok ? r.value.value : -1);
    }
    // 0 (one sample), 10/s, 10/s, 300 over 60 s = 5/s, 0 over the last 60 s, 0
    expect(values).toEqual([0, 10, 10, 5, 0, 0]);
  });

  it.each([
    {
      label: 'no feed given',
      binding: undefined,
      reading: undefined,
      now: T0,
      error: { reason: HttpMetricsUnavailable, message: /no activator feed is connected/ },
    },
    {
      label: 'the route was never reported',
      binding: 'bound',
      reading: undefined,
      now: T0,
      error: {
        reason: HttpMetricsUnavailable,
        message: /shop\.example\.com \/ \(service shop\): no activator has reported/,
      },
    },
    {
      label: 'the latest report is too old',
      binding: 'bound',
      reading: { inFlight: 0, held: 0, requests: 0, at: T0 },
      now: T0 + DEFAULT_STALE_AFTER_MS + 1,
      error: { reason: HttpMetricsStale, message: /latest report is 10 s old \(limit 10 s\)/ },
    },
  ] as const)('fails when $label (so the target is never scaled to zero on missing data)', async (c) => {
    const { feed, set } = scriptedFeed();
    if (c.reading !== undefined) set(httpRouteKey(config()), c.reading);
    const deps = { feed: c.binding === 'bound' ? feed : undefined };
    const r = await createHttpScaler(config(), metric, deps).read(new Date(c.now), signal);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.reason).toBe(c.error.reason);
    expect(r.error.message).toMatch(c.error.message);
  });

  it('a report exactly at the limit is fresh; the limit is the deps’', async () => {
    const { feed, set } = scriptedFeed();
    set(httpRouteKey(config()), { inFlight: 1, held: 0, requests: 1, at: T0 });
    const scaler = createHttpScaler(config(), metric, { feed, staleAfterMs: 2 * S });
    expect((await scaler.read(new Date(T0 + 2 * S), signal)).ok).toBe(true);
    expect((await scaler.read(new Date(T0 + 2 * S + 1), signal)).ok).toBe(false);
  });

  it('two controllers’ scalers each read their own feed: one feed never replaces the other', async () => {
    const first = scriptedFeed();
    const second = scriptedFeed();
    const one = createScalerDeps({ concurrencyFeed: first.feed });
    const two = createScalerDeps({ concurrencyFeed: second.feed });
    const resolved = resolveTrigger(
      { type: 'http', metadata: { hosts: 'shop.example.com', service: 'shop', port: '8080' } },
      0,
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.error));
    const key = httpRouteKey(config());
    first.set(key, { inFlight: 3, held: 0, requests: 0, at: T0 });
    second.set(key, { inFlight: 7, held: 0, requests: 0, at: T0 });
    const a = resolved.value.create(one);
    const b = resolved.value.create(two); // built second: it does not take over a's feed
    expect(await a.read(new Date(T0), signal)).toMatchObject({ ok: true, value: { value: 3 } });
    expect(await b.read(new Date(T0), signal)).toMatchObject({ ok: true, value: { value: 7 } });
    // Fresh deps without a feed: nothing leaks in from the other controllers.
    const c = resolved.value.create(createScalerDeps());
    expect(await c.read(new Date(T0), signal)).toMatchObject({
      ok: false,
      error: { reason: HttpMetricsUnavailable },
    });
    // Nor do they share pools or memos: each controller's deps are its own.
    expect(one.kafka.pool).not.toBe(two.kafka.pool);
    expect(one.rabbitmq.amqp).not.toBe(two.rabbitmq.amqp);
    expect(one.cron).not.toBe(two.cron);
  });

  it('is what the registry creates for an http trigger', async () => {
    const { feed, set } = scriptedFeed();
    const resolved = resolveTrigger(
      {
        type: 'http',
        metadata: { hosts: 'b.example.com,a.example.com', pathPrefixes: '/api', service: 's', port: '80' },
      },
      0,
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.error));
    set('a.example.com,b.example.com|/api', { inFlight: 250, held: 0, requests: 0, at: T0 });
    const scaler = resolved.value.create(createScalerDeps({ concurrencyFeed: feed }));
    expect(scaler.metric).toEqual(
      httpScaler.metric(
        {
          ...config(),
          hosts: ['b.example.com', 'a.example.com'],
          mode: { kind: 'concurrency', target: 100 },
        },
        { index: 0, trigger: resolved.value.trigger, authParams: {} },
      ),
    );
    expect(await scaler.read(new Date(T0), signal)).toMatchObject({
      ok: true,
      value: { value: 250, active: true },
    });
  });
});

describe('the http scaler keyed by its ScaledObject', () => {
  it('reads the route under the key it was given', async () => {
    const readings = new Map<string, RouteReading>([
      ['shop/web', { inFlight: 9, held: 0, requests: 0, at: T0 }],
    ]);
    const scaler = createHttpScaler(config(), metric, {
      feed: { latest: (key) => readings.get(key) },
      staleAfterMs: DEFAULT_STALE_AFTER_MS,
      routeKey: 'shop/web',
    });
    expect(await scaler.read(new Date(T0), signal)).toMatchObject({ ok: true, value: { value: 9 } });
  });
});

describe('the http scaler with the activators’ concurrency integral', () => {
  it('reports the average concurrency since its previous read when it beats the gauges', async () => {
    const { feed, set } = scriptedFeed();
    const scaler = createHttpScaler(config(), metric, { feed, staleAfterMs: 10 * S });
    const key = httpRouteKey(config());
    set(key, { inFlight: 0, held: 0, requests: 0, at: T0, concurrencyMs: 0 });
    expect(await scaler.read(new Date(T0), signal)).toMatchObject({
      ok: true,
      value: { value: 0, active: false },
    });
    // 30 requests in flight for 2 of the 4 s between reads, none now: 15 on average.
    set(key, { inFlight: 0, held: 0, requests: 30, at: T0 + 4 * S, concurrencyMs: 60_000 });
    expect(await scaler.read(new Date(T0 + 4 * S), signal)).toMatchObject({
      ok: true,
      value: { value: 15, active: true },
    });
  });
});
