import { describe, expect, it } from 'vitest';
import type { ActivatorStats, RouteStats } from '../../src/activator/stats.ts';
import { ActivationFeed } from '../../src/controller/activation-feed.ts';

const route = (
  name: string,
  inFlight: number,
  held: number,
  requests: number,
  concurrencyMs = 0,
): RouteStats => ({
  route: name,
  inFlight,
  held,
  requests,
  concurrencyMs,
});
const report = (activator: string, at: number, ...routes: RouteStats[]): ActivatorStats => ({
  activator,
  at,
  routes,
});

describe('ActivationFeed', () => {
  it.each([
    {
      label: 'one activator: its counters as they are',
      reports: [report('a', 1000, route('ns/web', 2, 1, 10, 500))],
      key: 'ns/web',
      now: 1000,
      want: { inFlight: 2, held: 1, requests: 10, concurrencyMs: 500, at: 1000 },
    },
    {
      // a's integral back at 900: 500 - (2 + 1) · 100 = 200
      label: 'two activators: summed, at = the older report, integrals taken back to it',
      reports: [
        report('a', 1000, route('ns/web', 2, 1, 10, 500)),
        report('b', 900, route('ns/web', 1, 3, 5, 100)),
      ],
      key: 'ns/web',
      now: 1000,
      want: { inFlight: 3, held: 4, requests: 15, concurrencyMs: 300, at: 900 },
    },
    {
      label: 'an older report from the same activator is ignored',
      reports: [report('a', 1000, route('ns/web', 2, 0, 10)), report('a', 500, route('ns/web', 9, 9, 9))],
      key: 'ns/web',
      now: 1000,
      want: { inFlight: 2, held: 0, requests: 10, concurrencyMs: 0, at: 1000 },
    },
    {
      label: 'a stale activator still counts (the scaler reports it stale), a forgotten one does not',
      reports: [report('a', 20_000, route('ns/web', 1, 0, 1)), report('b', 100, route('ns/web', 5, 0, 5))],
      key: 'ns/web',
      now: 31_000,
      want: { inFlight: 1, held: 0, requests: 1, concurrencyMs: 0, at: 20_000 },
    },
    {
      label: 'a route nobody reports: undefined',
      reports: [report('a', 1000, route('ns/web', 1, 0, 1))],
      key: 'ns/api',
      now: 1000,
      want: undefined,
    },
  ])('$label', ({ reports, key, now, want }) => {
    const feed = new ActivationFeed({ now: () => now });
    for (const r of reports) feed.record(r);
    expect(feed.latest(key)).toEqual(want);
  });

  it('answers under an alias (a scaler keyed by hosts|paths) and forgets a stopped activator', () => {
    const feed = new ActivationFeed({ now: () => 1000 });
    feed.record(report('a', 1000, route('ns/web', 0, 2, 2)));
    feed.setAliases(new Map([['web.example.com|/', 'ns/web']]));
    expect(feed.latest('web.example.com|/')).toMatchObject({ held: 2 });
    feed.forget('a');
    expect(feed.latest('ns/web')).toBeUndefined();
    expect(feed.activators()).toEqual([]);
  });
});
