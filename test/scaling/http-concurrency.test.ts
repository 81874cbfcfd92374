// decide() with an http trigger in concurrency mode: Knative's stable/panic windows replace the
// HPA formula for that trigger (concurrency-triggers.ts), a cold start wakes what is held in one
// decision, and the HPA behavior still applies afterwards. Polls are replayed once a second with
// `now` moved explicitly; the target has what the previous poll decided (an instant controller).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScaledObjectSpec } from '../../src/api/scaledobject.ts';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import type { ScaleDecision, ScalingSpec, ScalingState, TriggerReading } from '../../src/scaling/types.ts';
import { expectDecision, failing, NO_PAUSE, reading, SECOND, specOf, T0 } from './helpers.ts';

/** An http trigger's reading in concurrency mode: value = in flight + held. */
const http = (value: number, targetPerReplica = 10, trigger = 'web'): TriggerReading => ({
  ok: true,
  trigger,
  metricName: `s0-http-${trigger}`,
  value,
  target: targetPerReplica,
  metricType: 'AverageValue',
  active: value > 0,
  concurrency: { targetPerReplica },
});

/** The same trigger in request-rate mode: no `concurrency`, the HPA formula applies. */
const httpRate = (value: number, target = 10): TriggerReading =>
  reading('web', value, target, { metricName: 's0-http-web' });

const behavior = (
  b: NonNullable<NonNullable<ScaledObjectSpec['advanced']>['horizontalPodAutoscalerConfig']>['behavior'],
): Partial<ScaledObjectSpec> => ({ advanced: { horizontalPodAutoscalerConfig: { behavior: b } } });

/** A behavior that lets the recommendation through at once, to watch the windows alone. */
const UNTHROTTLED = behavior({
  scaleUp: { policies: [{ type: 'Percent', value: 1000, periodSeconds: 1 }] },
  scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 1 }] },
});

interface Poll {
  readonly t: number;
  readonly current: number;
  readonly decision: ScaleDecision;
}

/** Polls at t = from..to s; `roundTrip` sends the state through JSON between polls. */
const replay = (
  spec: ScalingSpec,
  initialReplicas: number,
  readingsAt: (t: number) => readonly TriggerReading[],
  [from, to]: readonly [number, number],
  opts: { readonly roundTrip?: boolean; readonly state?: ScalingState } = {},
): Poll[] => {
  let state = opts.state ?? initialScalingState(T0);
  let current = initialReplicas;
  const polls: Poll[] = [];
  for (let t = from; t <= to; t++) {
    const decision = decide(
      spec,
      { now: T0 + t * SECOND, currentReplicas: current, readings: readingsAt(t) },
      state,
    );
    polls.push({ t, current, decision });
    state =
      opts.roundTrip === true ? (JSON.parse(JSON.stringify(decision.state)) as ScalingState) : decision.state;
    current = decision.desiredReplicas;
  }
  return polls;
};

const panicking = (d: ScaleDecision, trigger = 'web'): boolean =>
  d.state.concurrency[trigger]?.panicTime !== undefined;

interface WindowScenario {
  readonly label: string;
  readonly overlay: Partial<ScaledObjectSpec>;
  /** Concurrency at second t (target 10 per replica). */
  readonly load: (t: number) => number;
  readonly seconds: readonly [number, number];
  readonly expectAt: ReadonlyArray<{
    readonly t: number;
    readonly replicas: number;
    readonly panicking: boolean;
  }>;
}

/** 5 in flight for a minute, 100 from t=60 to t=79, then 5 again. */
const BURST = (t: number): number => (t >= 60 && t < 80 ? 100 : 5);

const windowScenarios: WindowScenario[] = [
  {
    label: 'a burst enters panic at once and is met within 6 s (the panic window fills)',
    overlay: UNTHROTTLED,
    load: BURST,
    seconds: [0, 70],
    expectAt: [
      { t: 59, replicas: 1, panicking: false },
      // panic window 55..60: (5 × 5 + 100) / 6 = 20.8 → 3 ≥ 2 × 1 ready; the HPA formula would say 10
      { t: 60, replicas: 3, panicking: true },
      { t: 62, replicas: 6, panicking: true },
      { t: 65, replicas: 10, panicking: true },
      { t: 70, replicas: 10, panicking: true },
    ],
  },
  {
    label: 'the default behavior still limits the scale-up: max(4 pods, 100 %) per 15 s',
    overlay: {},
    load: BURST,
    seconds: [0, 80],
    expectAt: [
      { t: 60, replicas: 3, panicking: true },
      { t: 62, replicas: 5, panicking: true }, // the windows ask for 6
      { t: 74, replicas: 5, panicking: true }, // and for 10 since t=65
      { t: 77, replicas: 10, panicking: true },
    ],
  },
  {
    label: 'panic never scales down: the burst ends at t=80, 10 replicas stay until the panic ends',
    overlay: UNTHROTTLED,
    load: BURST,
    seconds: [0, 120],
    expectAt: [
      { t: 80, replicas: 10, panicking: true },
      { t: 90, replicas: 10, panicking: true }, // the panic window is back at 5 → 1
      { t: 120, replicas: 10, panicking: true }, // last over the threshold at t=60: 60 + 60 is not < 120
    ],
  },
  {
    label: 'the panic ends a stable window after the last surge; then the stable window decides',
    overlay: UNTHROTTLED,
    load: BURST,
    seconds: [0, 140],
    expectAt: [
      // stable window 62..121: 18 s of 100 and 42 s of 5 → 33.5 → 4
      { t: 121, replicas: 4, panicking: false },
      { t: 140, replicas: 1, panicking: false }, // the burst has left the stable window
    ],
  },
  {
    label: 'the default behavior still holds the scale-down after the panic (300 s stabilization)',
    overlay: {},
    load: BURST,
    seconds: [0, 200],
    expectAt: [
      { t: 140, replicas: 10, panicking: false },
      { t: 200, replicas: 10, panicking: false },
    ],
  },
];

describe('Knative windows in decide()', () => {
  it.each(windowScenarios)('$label', (s) => {
    const spec = specOf({ minReplicaCount: 1, maxReplicaCount: 50, ...s.overlay });
    const polls = replay(spec, 1, (t) => [http(s.load(t))], s.seconds);
    for (const want of s.expectAt) {
      const poll = polls.find((p) => p.t === want.t);
      if (poll === undefined) throw new Error(`${s.label}: no poll at t=${want.t}`);
      expect(
        { replicas: poll.decision.desiredReplicas, panicking: panicking(poll.decision) },
        `${s.label} at t=${want.t} s (current ${poll.current}): ${poll.decision.explanation}`,
      ).toEqual({ replicas: want.replicas, panicking: want.panicking });
    }
  });

  it('the explanation names the windows', () => {
    const spec = specOf({ minReplicaCount: 1, ...UNTHROTTLED });
    const polls = replay(spec, 1, (t) => [http(BURST(t))], [0, 60]);
    expect(polls.at(-1)?.decision.explanation).toBe(
      'concurrency stable 6.583 / 10 → 1; panic 20.833 / 10 → 3 ≥ 2 × 1 ready; panicking: 3 (s0-http-web); 1 → 3',
    );
  });

  it('combines with the other triggers by max, as before', () => {
    const spec = specOf({ minReplicaCount: 1, ...UNTHROTTLED });
    const withLag = (lag: number) => () => [http(25), reading('orders', lag, 10)];
    expectDecision(
      'kafka asks for more',
      replay(spec, 3, withLag(80), [0, 10]).at(-1)?.decision as ScaleDecision,
      {
        desiredReplicas: 8,
      },
    );
    expectDecision(
      'http asks for more',
      replay(spec, 3, withLag(10), [0, 10]).at(-1)?.decision as ScaleDecision,
      {
        desiredReplicas: 3,
      },
    );
  });

  it('request-rate mode (no `concurrency` on the reading) stays on the HPA formula', () => {
    const d = decide(
      specOf(),
      { now: T0, currentReplicas: 2, readings: [httpRate(50)] },
      { ...initialScalingState(T0), lastActiveTime: T0 },
    );
    expectDecision('ceil(50 / 10)', d, { desiredReplicas: 5 });
    expect(d.explanation).toBe('ceil(50 / 10) = 5 (s0-http-web); 2 → 5');
    expect(d.state.concurrency).toEqual({});
  });

  it('with scalingModifiers the composite metric decides; no windows are kept', () => {
    const spec = specOf({
      triggers: [{ type: 'http', name: 'web', metadata: {} }],
      advanced: { scalingModifiers: { formula: 'web', target: '10' } },
    });
    const d = decide(spec, { now: T0, currentReplicas: 2, readings: [http(100)] }, initialScalingState(T0));
    expectDecision('composite', d, { desiredReplicas: 6, compositeValue: 100 }); // ceil(100 / 10), limited to 2 + 4
    expect(d.state.concurrency).toEqual({});
  });
});

describe('the windows in ScalingState', () => {
  const spec = specOf({ minReplicaCount: 1, ...UNTHROTTLED });
  const warmed = replay(spec, 1, (t) => [http(BURST(t))], [0, 62]).at(-1)?.decision.state as ScalingState;
  const next = (readings: readonly TriggerReading[]) =>
    decide(spec, { now: T0 + 63 * SECOND, currentReplicas: 6, readings }, warmed).state.concurrency;

  it('one entry per concurrency trigger, by trigger key', () => {
    expect(Object.keys(warmed.concurrency)).toEqual(['web']);
    expect(Object.keys(next([http(100), http(3, 10, 'api')])).sort()).toEqual(['api', 'web']);
  });

  it('a failed read keeps the windows as they were (no sample)', () => {
    expect(next([failing('web')]).web).toBe(warmed.concurrency.web);
  });

  it('dropped when the trigger disappears or stops scaling on concurrency', () => {
    expect(next([reading('orders', 5, 10)])).toEqual({});
    expect(next([httpRate(5)])).toEqual({});
  });

  it('survives a JSON round trip: the same decisions with the state serialised between polls', () => {
    const load = (t: number) => [http(BURST(t)), reading('orders', t % 7, 10)];
    const direct = replay(spec, 1, load, [0, 150]);
    const viaJson = replay(spec, 1, load, [0, 150], { roundTrip: true });
    expect(viaJson.map((p) => p.decision.desiredReplicas)).toEqual(
      direct.map((p) => p.decision.desiredReplicas),
    );
    expect(viaJson.map((p) => p.decision.explanation)).toEqual(direct.map((p) => p.decision.explanation));
    const last = direct.at(-1)?.decision.state;
    expect(JSON.parse(JSON.stringify(last))).toEqual(last);
  });

  it('property: any load, any polling gaps: serialising the state changes no decision', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 500 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (steps) => {
          let t = 0;
          const at = new Map<number, number>();
          for (const [gap, load] of steps) {
            t += gap;
            at.set(t, load);
          }
          const polls = [...at.entries()];
          const run = (roundTrip: boolean): number[] => {
            let state = initialScalingState(T0);
            let current = 1;
            return polls.map(([s, load]) => {
              const d = decide(
                spec,
                { now: T0 + s * SECOND, currentReplicas: current, readings: [http(load)] },
                state,
              );
              state = roundTrip ? (JSON.parse(JSON.stringify(d.state)) as ScalingState) : d.state;
              current = d.desiredReplicas;
              return current;
            });
          };
          expect(run(true)).toEqual(run(false));
        },
      ),
      { numRuns: 200 },
    );
  });
});

interface ColdStartRow {
  readonly label: string;
  readonly overlay?: Partial<ScaledObjectSpec>;
  readonly readings: readonly TriggerReading[];
  readonly scaleOutPaused?: boolean;
  readonly want: number;
  readonly explanation?: string;
}

const coldStarts: ColdStartRow[] = [
  {
    label: '1,000 held, target 100: 10 replicas in one decision',
    readings: [http(1000, 100)],
    want: 10,
    explanation: 'activated by web: 0 → 10 (ceil(1000 / 100) = 10 (web))',
  },
  {
    label: 'capped by maxReplicaCount',
    overlay: { maxReplicaCount: 4 },
    readings: [http(1000, 100)],
    want: 4,
    explanation: 'activated by web: 0 → 4 (ceil(1000 / 100) = 10 (web), capped at maxReplicaCount 4)',
  },
  {
    label: 'never below max(minReplicaCount, 1)',
    overlay: { minReplicaCount: 12 },
    readings: [http(1000, 100)],
    want: 12,
    explanation: 'activated by web: 0 → 12 (ceil(1000 / 100) = 10 (web), max(minReplicaCount, 1) = 12)',
  },
  { label: 'one held request: 1 replica', readings: [http(1, 100)], want: 1 },
  { label: 'fractional: ceil(0.3 / 0.1) = 3, not 4', readings: [http(0.3, 0.1)], want: 3 },
  {
    label: 'the largest need over several http triggers',
    readings: [http(250, 100, 'api'), http(1000, 200, 'web')],
    want: 5,
  },
  {
    label: 'a non-http activation keeps KEDA’s max(minReplicaCount, 1)',
    readings: [reading('orders', 1000, 100)],
    want: 1,
    explanation: 'activated by orders: 0 → 1 (max(minReplicaCount, 1))',
  },
  {
    label: 'http and kafka active together: the http need',
    readings: [reading('orders', 1000, 100), http(1000, 100)],
    want: 10,
  },
  {
    label: 'an inactive http trigger does not count, the kafka trigger activates',
    readings: [reading('orders', 5, 100), http(700, 100, 'web')].map((r) =>
      r.trigger === 'web' ? { ...r, active: false } : r,
    ),
    want: 1,
  },
  { label: 'request-rate mode keeps max(minReplicaCount, 1)', readings: [httpRate(1000, 100)], want: 1 },
  { label: 'paused-scale-out: no activation', readings: [http(1000, 100)], scaleOutPaused: true, want: 0 },
  { label: 'a failing http trigger does not activate', readings: [failing('web', 100)], want: 0 },
];

describe('cold start: one decision wakes what is held', () => {
  it.each(coldStarts)('$label', (row) => {
    const spec = specOf(row.overlay ?? {}, { ...NO_PAUSE, scaleOutPaused: row.scaleOutPaused ?? false });
    const d = decide(spec, { now: T0, currentReplicas: 0, readings: row.readings }, initialScalingState(T0));
    expectDecision(row.label, d, {
      desiredReplicas: row.want,
      transition: row.want > 0 ? 'activated' : undefined,
    });
    if (row.explanation !== undefined) expect(d.explanation).toBe(row.explanation);
  });

  it('after minutes idle at zero (samples of 0), the cold start still wakes 10 and keeps them', () => {
    const spec = specOf({ maxReplicaCount: 50, ...UNTHROTTLED });
    const held = (t: number) => [http(t < 120 ? 0 : 1000, 100)];
    const polls = replay(spec, 0, held, [0, 190]);
    expect(polls.find((p) => p.t === 119)?.decision.desiredReplicas).toBe(0);
    const wake = polls.find((p) => p.t === 120)?.decision;
    expectDecision('t=120', wake as ScaleDecision, { desiredReplicas: 10, transition: 'activated' });
    expect(panicking(wake as ScaleDecision)).toBe(true);
    // The windows still hold the idle seconds: without the panic started at the cold start they
    // would drop to 4 at t=121 (panic window 2 × 1000 / 6 → 4, stable → 1) and climb back.
    const after = polls.filter((p) => p.t > 120).map((p) => p.decision.desiredReplicas);
    expect(new Set(after)).toEqual(new Set([10]));
  });

  it('one scale write per cold start: the next polls keep the replicas of the first', () => {
    const spec = specOf({ maxReplicaCount: 50 }); // the default behavior
    const polls = replay(spec, 0, () => [http(1000, 100)], [0, 30]);
    const writes = polls.filter((p) => p.decision.desiredReplicas !== p.current);
    expect(writes.map((p) => [p.t, p.current, p.decision.desiredReplicas])).toEqual([[0, 0, 10]]);
  });
});
