import { describe, expect, it } from 'vitest';
import {
  computeHttpMetric,
  type HttpMetric,
  type RequestSample,
  recordRequestSample,
  requestIncrease,
  requestRate,
} from '../../../scalers/http/metric.ts';
import type { HttpScalingMode } from '../../../src/routing/http-trigger.ts';
import { sumRouteReadings } from '../../../src/routing/reports.ts';
import { concurrencyScalingOf } from '../../../src/scaler.ts';

const T0 = Date.UTC(2024, 0, 1);
const S = 1000;

describe('sumRouteReadings (several activators)', () => {
  it('sums the counters and keeps the oldest time', () => {
    expect(
      sumRouteReadings([
        { inFlight: 3, held: 0, requests: 100, at: T0 + 2 * S },
        { inFlight: 1, held: 7, requests: 40, at: T0 + S },
        { inFlight: 0, held: 0, requests: 5, at: T0 + 3 * S },
      ]),
    ).toEqual({ inFlight: 4, held: 7, requests: 145, at: T0 + S });
  });

  it('counts broken counters as 0, and nothing as no reading', () => {
    expect(sumRouteReadings([{ inFlight: Number.NaN, held: -2, requests: 9, at: T0 }])).toEqual({
      inFlight: 0,
      held: 0,
      requests: 9,
      at: T0,
    });
    expect(sumRouteReadings([])).toBeUndefined();
  });
});

const samples = (...pairs: Array<[number, number]>): RequestSample[] =>
  pairs.map(([s, requests]) => ({ at: T0 + s * S, requests }));

describe('request history', () => {
  it.each([
    {
      label: 'appends and drops samples older than the window',
      history: samples([0, 1], [30, 5], [60, 9]),
      sample: { at: T0 + 90 * S, requests: 12 },
      windowMs: 60 * S,
      want: samples([30, 5], [60, 9], [90, 12]),
    },
    {
      label: 'always keeps the newest two (activity compares them), even with a 0 window',
      history: samples([0, 1], [30, 5]),
      sample: { at: T0 + 90 * S, requests: 12 },
      windowMs: 0,
      want: samples([30, 5], [90, 12]),
    },
    {
      label: 'a sample at the same time replaces the last one',
      history: samples([0, 1], [30, 5]),
      sample: { at: T0 + 30 * S, requests: 6 },
      windowMs: 60 * S,
      want: samples([0, 1], [30, 6]),
    },
    {
      label: 'an older sample is ignored',
      history: samples([0, 1], [30, 5]),
      sample: { at: T0 + 10 * S, requests: 99 },
      windowMs: 60 * S,
      want: samples([0, 1], [30, 5]),
    },
  ])('$label', ({ history, sample, windowMs, want }) => {
    expect(recordRequestSample(history, sample, windowMs)).toEqual(want);
  });

  it.each([
    { label: 'a monotonic counter', history: samples([0, 10], [1, 15], [2, 30]), increase: 20, rate: 10 },
    {
      label: 'an activator restart (the sum went down) adds nothing for that step',
      history: samples([0, 100], [1, 120], [2, 30], [3, 40]),
      increase: 30,
      rate: 10,
    },
    { label: 'one sample: no rate yet', history: samples([0, 10]), increase: 0, rate: 0 },
    { label: 'no samples', history: [], increase: 0, rate: 0 },
    {
      label: 'only samples inside the window count (window 60 s)',
      history: samples([0, 0], [50, 1000], [80, 1030], [110, 1060]),
      increase: 1060,
      rate: 1, // 60 requests over the 60 s from t=50 to t=110
    },
  ])('$label', ({ history, increase, rate }) => {
    expect(requestIncrease(history)).toBe(increase);
    expect(requestRate(history, 60 * S)).toBe(rate);
  });
});

const concurrency: HttpScalingMode = { kind: 'concurrency', target: 100 };
const rate: HttpScalingMode = { kind: 'requestRate', target: 10, windowMs: 60 * S };

describe('computeHttpMetric', () => {
  const cases: Array<{
    label: string;
    mode: HttpScalingMode;
    counters: { inFlight: number; held: number; requests: number };
    history: RequestSample[];
    want: Partial<HttpMetric>;
  }> = [
    {
      label: 'concurrency is in flight plus held',
      mode: concurrency,
      counters: { inFlight: 30, held: 12, requests: 500 },
      history: samples([0, 480], [1, 500]),
      want: { value: 42, active: true, concurrency: 42, requestRate: undefined, newRequests: 20 },
    },
    {
      label: 'a cold start: only held requests, active',
      mode: concurrency,
      counters: { inFlight: 0, held: 1, requests: 0 },
      history: samples([0, 0]),
      want: { value: 1, active: true, concurrency: 1 },
    },
    {
      label: 'idle: nothing in flight, held or received since the previous reading',
      mode: concurrency,
      counters: { inFlight: 0, held: 0, requests: 77 },
      history: samples([0, 77], [30, 77]),
      want: { value: 0, active: false, newRequests: 0 },
    },
    {
      label: 'requests that came and went between two readings keep the route active',
      mode: concurrency,
      counters: { inFlight: 0, held: 0, requests: 78 },
      history: samples([0, 77], [30, 78]),
      want: { value: 0, active: true, newRequests: 1 },
    },
    {
      label: 'the first reading: an old counter is not activity',
      mode: concurrency,
      counters: { inFlight: 0, held: 0, requests: 5000 },
      history: samples([0, 5000]),
      want: { value: 0, active: false, newRequests: 0 },
    },
    {
      label: 'an activator restart is not activity',
      mode: concurrency,
      counters: { inFlight: 0, held: 0, requests: 3 },
      history: samples([0, 500], [1, 3]),
      want: { active: false, newRequests: 0 },
    },
    {
      label: 'request rate: requests per second over the window',
      mode: rate,
      counters: { inFlight: 2, held: 0, requests: 1200 },
      history: samples([0, 0], [30, 600], [60, 1200]),
      want: { value: 20, active: true, concurrency: 2, requestRate: 20 },
    },
    {
      label: 'request rate: idle once the counter stops',
      mode: rate,
      counters: { inFlight: 0, held: 0, requests: 1200 },
      history: samples([60, 1200], [90, 1200], [120, 1200]),
      want: { value: 0, active: false, requestRate: 0 },
    },
    {
      label: 'broken counters are clamped',
      mode: concurrency,
      counters: { inFlight: -4, held: Number.NaN, requests: 0 },
      history: samples([0, 0]),
      want: { value: 0, active: false, concurrency: 0 },
    },
  ];
  it.each(cases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    expect(computeHttpMetric(c.mode, c.counters, c.history)).toMatchObject(c.want);
  });
});

describe('interval-average concurrency (the activators’ concurrencyMs integral)', () => {
  const withIntegral = (...rows: Array<[number, number, number]>): RequestSample[] =>
    rows.map(([s, requests, concurrencyMs]) => ({ at: T0 + s * S, requests, concurrencyMs }));

  it('sums the integral only when every activator reports it', () => {
    expect(
      sumRouteReadings([
        { inFlight: 1, held: 0, requests: 1, at: T0, concurrencyMs: 500 },
        { inFlight: 0, held: 0, requests: 1, at: T0, concurrencyMs: 250 },
      ]),
    ).toMatchObject({ concurrencyMs: 750 });
    expect(
      sumRouteReadings([
        { inFlight: 1, held: 0, requests: 1, at: T0, concurrencyMs: 500 },
        { inFlight: 0, held: 0, requests: 1, at: T0 },
      ]),
    ).not.toHaveProperty('concurrencyMs');
  });

  it.each([
    {
      label: 'a burst that came and went between two readings: 40 requests in flight for half of 1 s',
      history: withIntegral([0, 0, 0], [1, 40, 20_000]),
      counters: { inFlight: 0, held: 0, requests: 40 },
      want: { value: 20, concurrency: 20, active: true },
    },
    {
      label: 'a burst that just began: the gauge (50) beats the average (5)',
      history: withIntegral([0, 0, 0], [1, 50, 5_000]),
      counters: { inFlight: 50, held: 0, requests: 50 },
      want: { value: 50, concurrency: 50 },
    },
    {
      label: 'an integral that went down (an activator restarted) is ignored',
      history: withIntegral([0, 0, 90_000], [1, 0, 1_000]),
      counters: { inFlight: 3, held: 0, requests: 0 },
      want: { value: 3, concurrency: 3 },
    },
    {
      label: 'without the integral: the gauges alone',
      history: samples([0, 0], [1, 40]),
      counters: { inFlight: 2, held: 1, requests: 40 },
      want: { value: 3, concurrency: 3 },
    },
  ])('$label', ({ history, counters, want }) => {
    expect(computeHttpMetric(concurrency, counters, history)).toMatchObject(want);
  });
});

describe('concurrencyTarget: which readings get the Knative windows', () => {
  const counters = { inFlight: 5, held: 0, requests: 10 };
  const history = samples([0, 10]);
  const rows: Array<{
    label: string;
    mode: HttpScalingMode;
    metricType?: 'AverageValue' | 'Value';
    want: number | undefined;
  }> = [
    {
      label: 'concurrency mode, AverageValue (the default): targetConcurrency',
      mode: concurrency,
      want: 100,
    },
    {
      label: 'concurrency mode, metricType Value: the HPA formula',
      mode: concurrency,
      metricType: 'Value',
      want: undefined,
    },
    { label: 'request-rate mode: the HPA formula', mode: rate, want: undefined },
  ];
  it.each(rows.map((r) => [r.label, r] as const))('%s', (_label, r) => {
    const metric = computeHttpMetric(r.mode, counters, history, r.metricType);
    expect(metric.concurrencyTarget).toBe(r.want);
    expect(concurrencyScalingOf(metric)).toEqual(
      r.want === undefined ? undefined : { targetPerReplica: r.want },
    );
  });

  it('readings of other scalers carry none', () => {
    expect(concurrencyScalingOf({ value: 3, active: true })).toBeUndefined();
  });
});
