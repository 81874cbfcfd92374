// The readings store's freshness (the adapter's /readyz and the pod's readiness): when an object
// counts as "not polled in time", with and without the pollingInterval the poll reports.
import { describe, expect, it } from 'vitest';
import { type Clock, realClock } from '../../src/clock.ts';
import type { PollObservation } from '../../src/controller/observer.ts';
import {
  type AgeLimits,
  allowedAgeMs,
  DEFAULT_INTERVAL_FACTOR,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_SLACK_MS,
  describeStale,
  MetricReadings,
  staleNamesLogger,
} from '../../src/metrics/readings.ts';

const S = 1000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DEFAULTS: AgeLimits = {
  maxAgeMs: DEFAULT_MAX_AGE_MS,
  intervalFactor: DEFAULT_INTERVAL_FACTOR,
  slackMs: DEFAULT_SLACK_MS,
};

/** realClock with its wall time read from `wallNow` (the store reads nothing else here). */
const wallClock = (wallNow: () => number): Clock => ({ ...realClock, wallNow });

const observation = (at: number, pollingIntervalMs: number | undefined): PollObservation => ({
  namespace: 'shop',
  name: 'orders',
  at,
  ...(pollingIntervalMs === undefined ? {} : { pollingIntervalMs }),
  triggers: [
    {
      trigger: 'queue',
      type: 'rabbitmq',
      index: 0,
      metricName: 's0-rabbitmq-queue',
      target: 10,
      metricType: 'AverageValue',
      latencyMs: 1,
      value: 5,
      active: true,
    },
  ],
  currentReplicas: 1,
  desiredReplicas: 1,
  active: true,
  error: false,
});

describe('allowedAgeMs', () => {
  const rows: readonly {
    readonly label: string;
    readonly reportedMs: number | undefined;
    readonly observedMs: number;
    readonly allowedMs: number;
  }[] = [
    { label: 'KEDA default 30 s: the floor', reportedMs: 30 * S, observedMs: 0, allowedMs: 120 * S },
    { label: 'an http object (1 s): the floor', reportedMs: 1 * S, observedMs: 1 * S, allowedMs: 120 * S },
    { label: '45 s: 2 × 45 + 30 = 120, the floor', reportedMs: 45 * S, observedMs: 0, allowedMs: 120 * S },
    { label: '60 s: 2 × 60 + 30', reportedMs: 60 * S, observedMs: 0, allowedMs: 150 * S },
    { label: '300 s: 2 × 300 + 30', reportedMs: 300 * S, observedMs: 0, allowedMs: 630 * S },
    { label: '1 h: 2 h + 30 s', reportedMs: 3600 * S, observedMs: 0, allowedMs: 7230 * S },
    {
      label: 'reported wins over a longer observed gap (late polls are late)',
      reportedMs: 60 * S,
      observedMs: 400 * S,
      allowedMs: 150 * S,
    },
    {
      label: 'not reported, no second poll yet: the floor',
      reportedMs: undefined,
      observedMs: 0,
      allowedMs: 120 * S,
    },
    {
      label: 'not reported, observed 30 s: the floor',
      reportedMs: undefined,
      observedMs: 30 * S,
      allowedMs: 120 * S,
    },
    {
      label: 'not reported, observed 300 s: 3 × 300',
      reportedMs: undefined,
      observedMs: 300 * S,
      allowedMs: 900 * S,
    },
  ];
  for (const row of rows) {
    it(row.label, () => {
      expect(allowedAgeMs({ reportedMs: row.reportedMs, observedMs: row.observedMs }, DEFAULTS)).toBe(
        row.allowedMs,
      );
    });
  }

  it('takes its limits as given', () => {
    const limits = { maxAgeMs: 10 * S, intervalFactor: 4, slackMs: 1 * S };
    expect(allowedAgeMs({ reportedMs: 20 * S, observedMs: 0 }, limits)).toBe(41 * S);
    expect(allowedAgeMs({ reportedMs: undefined, observedMs: 20 * S }, limits)).toBe(80 * S);
  });
});

describe('MetricReadings.freshness', () => {
  // Each row: polls at these offsets (s) reporting `intervalS`, then freshness `ageS` after the last.
  const rows: readonly {
    readonly label: string;
    readonly intervalS: number | undefined;
    readonly pollsS: readonly number[];
    readonly ageS: number;
    readonly stale: boolean;
  }[] = [
    { label: '30 s interval, 100 s since the poll', intervalS: 30, pollsS: [0], ageS: 100, stale: false },
    { label: '30 s interval, 121 s since the poll', intervalS: 30, pollsS: [0], ageS: 121, stale: true },
    // The bug: a long interval was stale between its polls.
    {
      label: '300 s interval, just before its next poll',
      intervalS: 300,
      pollsS: [0],
      ageS: 299,
      stale: false,
    },
    { label: '300 s interval, one slot skipped', intervalS: 300, pollsS: [0, 300], ageS: 600, stale: false },
    {
      label: '300 s interval, 631 s since the poll',
      intervalS: 300,
      pollsS: [0, 300],
      ageS: 631,
      stale: true,
    },
    {
      label: '1 h interval, 1 h 59 min since the poll',
      intervalS: 3600,
      pollsS: [0],
      ageS: 7140,
      stale: false,
    },
    {
      label: '1 h interval, 2 h 1 min since the poll',
      intervalS: 3600,
      pollsS: [0],
      ageS: 7260,
      stale: true,
    },
    // Without the reported interval: the observed gap (the old rule, kept for such observers).
    { label: 'unreported, one poll, 121 s', intervalS: undefined, pollsS: [0], ageS: 121, stale: true },
    {
      label: 'unreported, polls 300 s apart, 899 s',
      intervalS: undefined,
      pollsS: [0, 300],
      ageS: 899,
      stale: false,
    },
    {
      label: 'unreported, polls 300 s apart, 901 s',
      intervalS: undefined,
      pollsS: [0, 300],
      ageS: 901,
      stale: true,
    },
  ];
  for (const row of rows) {
    it(row.label, () => {
      const readings = new MetricReadings({ clock: wallClock(() => T0) });
      for (const at of row.pollsS) {
        readings.polled(
          observation(T0 + at * S, row.intervalS === undefined ? undefined : row.intervalS * S),
        );
      }
      const last = T0 + (row.pollsS.at(-1) ?? 0) * S;
      const fresh = readings.freshness(last + row.ageS * S);
      expect(
        { stale: fresh.stale.map((s) => `${s.namespace}/${s.name}`), fresh: fresh.fresh },
        JSON.stringify(fresh.stale),
      ).toEqual(row.stale ? { stale: ['shop/orders'], fresh: false } : { stale: [], fresh: true });
    });
  }

  it('keeps the reported interval across polls that could not read the target', () => {
    let now = T0;
    const readings = new MetricReadings({ clock: wallClock(() => now) });
    readings.polled(observation(T0, 300 * S));
    now = T0 + 300 * S;
    readings.targetFailed('shop', 'orders');
    expect(readings.freshness(now + 500 * S).fresh).toBe(true);
    expect(readings.freshness(now + 700 * S).stale).toMatchObject([
      { namespace: 'shop', name: 'orders', ageMs: 700 * S, allowedMs: 630 * S },
    ]);
  });

  it('follows a changed interval (the latest poll reports it)', () => {
    const readings = new MetricReadings({ clock: wallClock(() => T0) });
    readings.polled(observation(T0, 600 * S));
    readings.polled(observation(T0 + 600 * S, 30 * S));
    expect(readings.freshness(T0 + 600 * S + 121 * S).fresh).toBe(false);
  });

  it('an object first seen (paused: false) and not yet polled gets the floor; paused ones never go stale', () => {
    let now = T0;
    const readings = new MetricReadings({ clock: wallClock(() => now) });
    readings.paused('shop', 'new', false);
    readings.paused('shop', 'held', true);
    now = T0 + 121 * S;
    expect(readings.freshness(now).stale.map((s) => s.name)).toEqual(['new']);
  });

  it('an empty store is fresh; a removed or cleared object no longer counts', () => {
    const readings = new MetricReadings({ clock: wallClock(() => T0) });
    expect(readings.freshness(T0).fresh).toBe(true);
    readings.polled(observation(T0, 30 * S));
    readings.removed('shop', 'orders');
    expect(readings.freshness(T0 + 1000 * S).fresh).toBe(true);
    readings.polled(observation(T0, 30 * S));
    readings.clear();
    expect(readings.freshness(T0 + 1000 * S).fresh).toBe(true);
  });

  it('refuses limits that make no sense, naming the option', () => {
    expect(() => new MetricReadings({ maxAgeMs: 0 })).toThrow('maxAgeMs = 0, must be > 0');
    expect(() => new MetricReadings({ intervalFactor: 0.5 })).toThrow('intervalFactor = 0.5, must be >= 1');
    expect(() => new MetricReadings({ slackMs: -1 })).toThrow('slackMs = -1, must be >= 0');
  });
});

describe('what unauthenticated probes say about stale readings', () => {
  const stale = (name: string, ageMs: number) => ({ namespace: 'shop', name, ageMs, allowedMs: 120 * S });

  it('a count and the worst age, never a name', () => {
    expect(describeStale([stale('orders', 185 * S), stale('billing', 130 * S)])).toBe(
      '2 ScaledObjects not polled in time (the most overdue 185 s old, allowed 120 s)',
    );
    expect(describeStale([stale('orders', 121 * S)])).toBe(
      '1 ScaledObject not polled in time (the most overdue 121 s old, allowed 120 s)',
    );
  });

  it('the names go to the log, once per change of the stale set', () => {
    const told: string[][] = [];
    const log = staleNamesLogger((names) => void told.push([...names]));
    log([stale('orders', 130 * S)]);
    log([stale('orders', 140 * S)]); // same set: nothing new
    log([stale('orders', 150 * S), stale('billing', 130 * S)]);
    log([]);
    log([stale('orders', 130 * S)]);
    expect(told).toEqual([['shop/orders'], ['shop/orders', 'shop/billing'], ['shop/orders']]);
  });
});
