// Knative-style stable/panic windows (src/scaling/concurrency.ts), replayed with `now` moved
// explicitly: one sample per second unless a scenario says otherwise.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConcurrencyRecommendation,
  type ConcurrencySpec,
  type ConcurrencyState,
  concurrencyRecommendation,
  DEFAULT_PANIC_THRESHOLD,
  DEFAULT_PANIC_WINDOW_MS,
  DEFAULT_STABLE_WINDOW_MS,
  initialConcurrencyState,
  recordConcurrency,
  windowAverage,
} from '../../src/scaling/concurrency.ts';
import { SECOND, T0 } from './helpers.ts';

const knative = (targetPerReplica: number, currentReplicas: number): ConcurrencySpec => ({
  targetPerReplica,
  stableWindowMs: DEFAULT_STABLE_WINDOW_MS,
  panicWindowMs: DEFAULT_PANIC_WINDOW_MS,
  panicThreshold: DEFAULT_PANIC_THRESHOLD,
  currentReplicas,
});

interface Scenario {
  readonly label: string;
  readonly target: number;
  /** Replicas at the start. */
  readonly replicas: number;
  /** `follow`: the target has what was recommended one poll earlier (an instant controller). */
  readonly replicasMode: 'follow' | 'fixed';
  /** Concurrency at second `t`. */
  readonly load: (t: number) => number;
  /** Seconds sampled: from, to (inclusive), step. */
  readonly seconds: readonly [number, number, number?];
  /** What the recommendation must be at these seconds. */
  readonly expectAt: ReadonlyArray<{
    readonly t: number;
    readonly desired: number;
    readonly panicking: boolean;
  }>;
}

interface Step {
  readonly t: number;
  readonly current: number;
  readonly result: ConcurrencyRecommendation;
}

const replay = (s: Scenario): Step[] => {
  const steps: Step[] = [];
  // A controller that has been running (a restart starts in panic: see 'panic mode' below).
  let state: ConcurrencyState | undefined = initialConcurrencyState(T0, 0);
  let current = s.replicas;
  const [from, to, step = 1] = s.seconds;
  for (let t = from; t <= to; t += step) {
    const result = concurrencyRecommendation(
      state,
      { now: T0 + t * SECOND, concurrency: s.load(t) },
      knative(s.target, current),
    );
    steps.push({ t, current, result });
    state = result.state;
    if (s.replicasMode === 'follow') current = result.desiredReplicas;
  }
  return steps;
};

/** One helper: the label, the poll's own explanation and the replicas it saw, beside the diff. */
const expectScenario = (s: Scenario): void => {
  const steps = replay(s);
  for (const want of s.expectAt) {
    const step = steps.find((x) => x.t === want.t);
    if (step === undefined) throw new Error(`${s.label}: no sample at t=${want.t}`);
    expect(
      { desired: step.result.desiredReplicas, panicking: step.result.panicking },
      `${s.label} at t=${want.t} s (current ${step.current}): ${step.result.explanation}`,
    ).toEqual({ desired: want.desired, panicking: want.panicking });
  }
};

const scenarios: Scenario[] = [
  {
    label: 'burst from idle: 0 → 100 at t=60 (target 10) reaches 10 replicas within 6 s, in panic',
    target: 10,
    replicas: 1,
    replicasMode: 'follow',
    load: (t) => (t < 60 ? 0 : 100),
    seconds: [0, 70],
    expectAt: [
      { t: 59, desired: 0, panicking: false },
      // panic window (55..60): 100/6 = 16.7 → 2 ≥ 2 × 1 ready: panic; stable 100/60 → 1
      { t: 60, desired: 2, panicking: true },
      { t: 61, desired: 4, panicking: true }, // 200/6 → 4
      { t: 62, desired: 5, panicking: true }, // 300/6 → 5
      { t: 65, desired: 10, panicking: true }, // the panic window is full: 100 → 10
      { t: 70, desired: 10, panicking: true },
    ],
  },
  {
    label:
      'the same burst with replicas fixed at 1: the panic window (100 → 10) beats the stable one (10 → 1)',
    target: 10,
    replicas: 1,
    replicasMode: 'fixed',
    load: (t) => (t < 60 ? 0 : 100),
    seconds: [0, 65],
    expectAt: [{ t: 65, desired: 10, panicking: true }],
  },
  {
    label: 'cold start with 1000 held requests (target 100): 10 replicas on the first sample',
    target: 100,
    replicas: 0,
    replicasMode: 'fixed',
    load: () => 1000,
    seconds: [0, 0],
    expectAt: [{ t: 0, desired: 10, panicking: true }],
  },
  {
    label: 'cold start with one held request: 1 replica, no panic (1 / 1 ready < 2)',
    target: 100,
    replicas: 0,
    replicasMode: 'fixed',
    load: () => 1,
    seconds: [0, 0],
    expectAt: [{ t: 0, desired: 1, panicking: false }],
  },
  {
    label: 'sustained load at the target: 5 replicas, stable, never panics',
    target: 10,
    replicas: 5,
    replicasMode: 'follow',
    load: (t) => 48 + (t % 2 === 0 ? 2 : -2), // 50, 46, 50, ... averages 48 → 5
    seconds: [0, 300],
    expectAt: [
      { t: 30, desired: 5, panicking: false },
      { t: 300, desired: 5, panicking: false },
    ],
  },
  {
    label: 'sustained growth below the threshold follows the stable window without panic',
    target: 10,
    replicas: 10,
    replicasMode: 'follow',
    load: (t) => (t < 60 ? 100 : 150),
    seconds: [0, 120],
    expectAt: [
      { t: 60, desired: 11, panicking: false }, // stable (59 × 100 + 150) / 60 = 100.8 → 11
      { t: 90, desired: 13, panicking: false }, // (29 × 100 + 31 × 150) / 60 = 125.8 → 13
      { t: 119, desired: 15, panicking: false },
    ],
  },
  {
    label: 'a drop waits the stable window: 100 → 0 at t=60 with 10 replicas, 0 only at t=119',
    target: 10,
    replicas: 10,
    replicasMode: 'follow',
    load: (t) => (t < 60 ? 100 : 0),
    seconds: [0, 130],
    expectAt: [
      { t: 60, desired: 10, panicking: false }, // 59 × 100 / 60 = 98.3 → 10
      { t: 61, desired: 10, panicking: false }, // 96.7 → 10
      { t: 90, desired: 5, panicking: false }, // 30 × 100 / 60 = 50 → 5
      { t: 118, desired: 1, panicking: false }, // 100 / 60 = 1.7 → 1
      { t: 119, desired: 0, panicking: false },
    ],
  },
  {
    label: 'in panic never scale down: a burst that stops stays at its peak until a stable window passes',
    target: 10,
    replicas: 1,
    replicasMode: 'follow',
    load: (t) => (t >= 60 && t < 70 ? 100 : 0),
    seconds: [0, 200],
    expectAt: [
      { t: 65, desired: 10, panicking: true },
      { t: 80, desired: 10, panicking: true }, // the load is gone; panic holds the peak
      // last over threshold at t=61 (current 2, desired panic 4): the panic ends once 61 + 60 < now
      { t: 121, desired: 10, panicking: true },
      { t: 122, desired: 2, panicking: false }, // stable (t 63..122): 7 × 100 / 60 = 11.7 → 2
      { t: 129, desired: 0, panicking: false }, // the burst has left the stable window
    ],
  },
  {
    label: 'slow polls (every 10 s) hold the level between samples instead of diluting it',
    target: 10,
    replicas: 5,
    replicasMode: 'follow',
    load: () => 50,
    seconds: [0, 120, 10],
    expectAt: [
      { t: 10, desired: 5, panicking: false },
      { t: 120, desired: 5, panicking: false },
    ],
  },
];

describe('concurrencyRecommendation', () => {
  it.each(scenarios.map((s) => [s.label, s] as const))('%s', (_label, s) => expectScenario(s));
});

/** Feeds `samples` ([ms after T0, concurrency]) with fixed replicas; returns every result. */
const feed = (
  samples: ReadonlyArray<readonly [number, number]>,
  spec: ConcurrencySpec,
  state?: ConcurrencyState,
): ConcurrencyRecommendation[] => {
  const results: ConcurrencyRecommendation[] = [];
  let s = state;
  for (const [ms, concurrency] of samples) {
    const r = concurrencyRecommendation(s, { now: T0 + ms, concurrency }, spec);
    results.push(r);
    s = r.state;
  }
  return results;
};

const last = <T>(items: readonly T[]): T => {
  const item = items.at(-1);
  if (item === undefined) throw new Error('no results');
  return item;
};

const seconds = (from: number, to: number, value: number): Array<[number, number]> =>
  Array.from({ length: to - from + 1 }, (_, i) => [(from + i) * SECOND, value] as [number, number]);

describe('the windows', () => {
  const cases: ReadonlyArray<{
    label: string;
    samples: ReadonlyArray<readonly [number, number]>;
    target: number;
    replicas: number;
    stable: number;
    panic: number;
    desired: number;
  }> = [
    {
      label: 'two samples in one bucket count as their mean',
      samples: [
        [200, 10],
        [700, 30],
      ],
      target: 20,
      replicas: 1,
      stable: 20,
      panic: 20,
      desired: 1,
    },
    {
      label: 'a young history is averaged over its own length, not diluted with zeros',
      samples: seconds(0, 2, 30),
      target: 10,
      replicas: 3,
      stable: 30,
      panic: 30,
      desired: 3,
    },
    {
      label: 'a gap shorter than the stable window holds the last level',
      samples: [...seconds(0, 10, 100), [50 * SECOND, 0]],
      target: 10,
      replicas: 10,
      stable: 98.039216, // (50 × 100 + 0) / 51
      panic: 83.333333, // (5 × 100 + 0) / 6
      desired: 10,
    },
    {
      label: 'a gap of a whole stable window starts a new history',
      samples: [...seconds(0, 10, 100), [70 * SECOND, 0]],
      target: 10,
      replicas: 10,
      stable: 0,
      panic: 0,
      desired: 0,
    },
    {
      label: 'a sample earlier than the previous one counts in the previous bucket',
      samples: [
        [5 * SECOND, 10],
        [3 * SECOND, 30],
      ],
      target: 10,
      replicas: 2,
      stable: 20,
      panic: 20,
      desired: 2,
    },
    {
      label: 'NaN and negative samples count as 0',
      samples: [
        [0, Number.NaN],
        [SECOND, -5],
        [2 * SECOND, 30],
      ],
      target: 10,
      replicas: 1,
      stable: 10,
      panic: 10,
      desired: 1,
    },
    {
      label: '0.1 + 0.2 per replica does not ceil to one replica too many (6-digit rounding)',
      samples: [
        [0, 0.1 + 0.2],
        [SECOND, 0.3],
      ],
      target: 0.3,
      replicas: 1,
      stable: 0.3,
      panic: 0.3,
      desired: 1,
    },
  ];
  it.each(cases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const r = last(feed(c.samples, knative(c.target, c.replicas)));
    expect(
      { stable: r.stableConcurrency, panic: r.panicConcurrency, desired: r.desiredReplicas },
      `${c.label}: ${r.explanation}`,
    ).toEqual({ stable: c.stable, panic: c.panic, desired: c.desired });
  });

  it('keeps the stable window and the one bucket before it, nothing older', () => {
    const states = feed([...seconds(0, 9, 5), [100 * SECOND, 7], [130 * SECOND, 9]], knative(10, 1));
    expect(last(states).state.buckets).toEqual([
      { index: Math.floor(T0 / SECOND) + 100, sum: 7, count: 1 },
      { index: Math.floor(T0 / SECOND) + 130, sum: 9, count: 1 },
    ]);
    const state = recordConcurrency({ buckets: [], firstIndex: undefined }, 10, 1, 60);
    const later = recordConcurrency(recordConcurrency(state, 50, 2, 60), 80, 3, 60);
    // the window of 60 at 80 is 21..80; bucket 10 is the newest before it, so it stays to fill 21..49
    expect(later.buckets.map((b) => b.index)).toEqual([10, 50, 80]);
    expect(later.firstIndex).toBe(10);
    // (29 × 1 + 30 × 2 + 3) / 60
    expect(windowAverage(later.buckets, later.firstIndex, 80, 60)).toBe(1.533333);
    const evenLater = recordConcurrency(later, 115, 4, 60); // window 56..115: bucket 50 fills it, 10 goes
    expect(evenLater.buckets.map((b) => b.index)).toEqual([50, 80, 115]);
  });
});

describe('panic mode', () => {
  it('a restarted controller (no state, 4 replicas running) keeps 4 for a stable window, then follows the load', () => {
    const results = feed(seconds(0, 61, 0), knative(10, 4));
    expect(results[0]).toMatchObject({ desiredReplicas: 4, panicking: true });
    expect(results[60]).toMatchObject({ desiredReplicas: 4, panicking: true }); // 0 + 60 s is not yet < now
    expect(results[61]).toMatchObject({ desiredReplicas: 0, panicking: false });
  });

  it('a restart with one replica starts stable', () => {
    expect(feed([[0, 0]], knative(10, 1))[0]).toMatchObject({ desiredReplicas: 0, panicking: false });
  });

  it('explains itself', () => {
    const r = last(feed([...seconds(0, 59, 0), [60 * SECOND, 100]], knative(10, 1)));
    expect(r.explanation).toBe('stable 1.667 / 10 → 1; panic 16.667 / 10 → 2 ≥ 2 × 1 ready; panicking: 2');
  });

  it('properties: integer replicas >= 0; never down while panicking; stable mode is ceil(stable / target)', () => {
    const sample = fc.record({
      gapMs: fc.integer({ min: 0, max: 20_000 }),
      concurrency: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.double({ min: 0, max: 500, noNaN: true })),
      replicas: fc.integer({ min: 0, max: 60 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(sample, { minLength: 1, maxLength: 120 }),
        (target, samples) => {
          let state: ConcurrencyState | undefined;
          let now = T0;
          let previous: ConcurrencyRecommendation | undefined;
          for (const s of samples) {
            now += s.gapMs;
            const r = concurrencyRecommendation(
              state,
              { now, concurrency: s.concurrency },
              knative(target, s.replicas),
            );
            expect(Number.isInteger(r.desiredReplicas) && r.desiredReplicas >= 0).toBe(true);
            if (r.panicking && previous?.panicking === true) {
              expect(r.desiredReplicas).toBeGreaterThanOrEqual(previous.desiredReplicas);
            }
            if (!r.panicking) expect(r.desiredReplicas).toBe(Math.ceil(r.stableConcurrency / target));
            state = r.state;
            previous = r;
          }
        },
      ),
    );
  });
});
