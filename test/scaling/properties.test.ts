// Properties of decide() over generated specs, states and readings (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScaledObjectSpec } from '../../src/api/scaledobject.ts';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import { scalingSpecFrom } from '../../src/scaling/spec.ts';
import type { ScalingSpec, ScalingState, TriggerReading } from '../../src/scaling/types.ts';
import { MINUTE, NO_PAUSE, SECOND, T0 } from './helpers.ts';

const NAMES = ['a', 'b'] as const;

const rules = fc.record(
  {
    stabilizationWindowSeconds: fc.integer({ min: 0, max: 600 }),
    selectPolicy: fc.constantFrom('Max' as const, 'Min' as const, 'Disabled' as const),
    policies: fc.array(
      fc.record({
        type: fc.constantFrom('Pods' as const, 'Percent' as const),
        value: fc.integer({ min: 1, max: 200 }),
        periodSeconds: fc.integer({ min: 1, max: 600 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

/** Valid ScaledObject specs: min <= max, max >= 1, idle < min when set. */
const soSpecArb = (opts: { formulas: boolean }): fc.Arbitrary<ScaledObjectSpec> =>
  fc
    .record({
      max: fc.integer({ min: 1, max: 30 }),
      minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      idle: fc.boolean(),
      cooldown: fc.integer({ min: 0, max: 900 }),
      initialCooldown: fc.integer({ min: 0, max: 900 }),
      fallback: fc.option(
        fc.record({
          failureThreshold: fc.integer({ min: 0, max: 4 }),
          replicas: fc.integer({ min: 0, max: 40 }),
          behavior: fc.constantFrom(
            'static' as const,
            'currentReplicas' as const,
            'currentReplicasIfHigher' as const,
            'currentReplicasIfLower' as const,
          ),
        }),
        { nil: undefined },
      ),
      formula: opts.formulas
        ? fc.option(fc.constantFrom('a + b', 'max(a, b / 2)', '(a ?? 0) + b'), { nil: undefined })
        : fc.constant(undefined),
      scaleUp: fc.option(rules, { nil: undefined }),
      scaleDown: fc.option(rules, { nil: undefined }),
    })
    .map((g) => {
      const min = Math.floor(g.minFraction * g.max);
      const spec: ScaledObjectSpec = {
        scaleTargetRef: { name: 'worker' },
        triggers: NAMES.map((name) => ({ type: 'kafka', name, metadata: {} })),
        minReplicaCount: min,
        maxReplicaCount: g.max,
        cooldownPeriod: g.cooldown,
        initialCooldownPeriod: g.initialCooldown,
        advanced: {
          horizontalPodAutoscalerConfig: {
            behavior: {
              ...(g.scaleUp === undefined ? {} : { scaleUp: g.scaleUp }),
              ...(g.scaleDown === undefined ? {} : { scaleDown: g.scaleDown }),
            },
          },
          ...(g.formula === undefined ? {} : { scalingModifiers: { formula: g.formula, target: '5' } }),
        },
      };
      if (g.idle && min > 0) spec.idleReplicaCount = min - 1;
      if (g.fallback !== undefined) {
        spec.fallback =
          g.formula === undefined ? g.fallback : { ...g.fallback, behavior: 'scalingModifiers' };
      }
      return spec;
    });

const specArb = (opts: { formulas: boolean; scalePauses: boolean }): fc.Arbitrary<ScalingSpec> =>
  fc
    .tuple(
      soSpecArb(opts),
      opts.scalePauses ? fc.boolean() : fc.constant(false),
      opts.scalePauses ? fc.boolean() : fc.constant(false),
    )
    .map(([so, scaleInPaused, scaleOutPaused]) => {
      const result = scalingSpecFrom(so, { ...NO_PAUSE, scaleInPaused, scaleOutPaused });
      if (!result.ok) throw new Error(JSON.stringify(result.error));
      return result.value;
    });

const readingArb = (name: string, index: number): fc.Arbitrary<TriggerReading> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({
          value: fc.double({ min: 0, max: 2000, noNaN: true }),
          active: fc.boolean(),
          type: fc.constantFrom('AverageValue' as const, 'Value' as const),
          target: fc.integer({ min: 1, max: 50 }),
        })
        .map(
          (r): TriggerReading => ({
            ok: true,
            trigger: name,
            metricName: `s${index}-${name}`,
            value: r.value,
            target: r.target,
            metricType: r.type,
            active: r.active,
          }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constant<TriggerReading>({
        ok: false,
        trigger: name,
        metricName: `s${index}-${name}`,
        target: 5,
        metricType: 'AverageValue',
        reason: 'RabbitMQError',
        message: 'boom',
      }),
    },
  );
const readingsArb = fc.tuple(readingArb('a', 0), readingArb('b', 1));
const pollsArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), readingsArb), {
  minLength: 1,
  maxLength: 25,
});

describe('decide() properties', () => {
  it('replicas stay within [0, max], and >= min while active (no scale-out pause)', () => {
    fc.assert(
      fc.property(
        specArb({ formulas: true, scalePauses: true }),
        fc.nat(30),
        pollsArb,
        (spec, start, polls) => {
          let replicas = Math.min(start, spec.maxReplicas);
          let state = initialScalingState(T0);
          let now = T0;
          for (const [dt, readings] of polls) {
            now += dt * SECOND;
            const d = decide(spec, { now, currentReplicas: replicas, readings }, state);
            expect(d.desiredReplicas).toBeGreaterThanOrEqual(0);
            expect(d.desiredReplicas).toBeLessThanOrEqual(spec.maxReplicas);
            expect(Number.isInteger(d.desiredReplicas)).toBe(true);
            if (d.active && !spec.pause.scaleOutPaused)
              expect(d.desiredReplicas).toBeGreaterThanOrEqual(spec.minReplicas);
            state = d.state;
            replicas = d.desiredReplicas;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a failing trigger never takes a non-zero target to 0', () => {
    const stateArb = fc.record({
      lastActiveAgo: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
      failures: fc.integer({ min: 0, max: 6 }),
    });
    fc.assert(
      fc.property(
        specArb({ formulas: true, scalePauses: true }),
        fc.integer({ min: 1, max: 30 }),
        readingsArb.filter(([a, b]) => !a.ok || !b.ok),
        stateArb,
        (spec, current, readings, s) => {
          const state: ScalingState = {
            ...initialScalingState(T0 - 60 * MINUTE),
            lastActiveTime: s.lastActiveAgo === undefined ? undefined : T0 - s.lastActiveAgo * SECOND,
            health: Object.fromEntries(
              readings.map((r) => [
                r.metricName,
                { numberOfFailures: s.failures, status: 'Failing' as const },
              ]),
            ),
          };
          const d = decide(
            spec,
            { now: T0, currentReplicas: Math.min(current, spec.maxReplicas), readings },
            state,
          );
          expect(d.desiredReplicas).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with no scale events, the default scale-down stabilization holds for 300 s', () => {
    const spec = (min: number) => {
      const r = scalingSpecFrom(
        {
          scaleTargetRef: { name: 'w' },
          minReplicaCount: min,
          triggers: [{ type: 'kafka', name: 'a', metadata: {} }],
        },
        NO_PAUSE,
      );
      if (!r.ok) throw new Error('spec');
      return r.value;
    };
    const at = (replicas: number): TriggerReading => ({
      ok: true,
      trigger: 'a',
      metricName: 's0-a',
      value: replicas * 5,
      target: 5,
      metricType: 'AverageValue',
      active: true,
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 59 }),
        fc.integer({ min: 1, max: 299_999 }),
        fc.integer({ min: 300_001, max: 3_600_000 }),
        (n, min, lowerBy, within, after) => {
          const low = Math.max(1, n - lowerBy);
          fc.pre(low / n < 0.9); // outside the 10% tolerance, so the metric really asks for `low`
          const s = spec(min);
          const first = decide(
            s,
            { now: T0, currentReplicas: n, readings: [at(n)] },
            initialScalingState(T0),
          );
          expect(first.desiredReplicas).toBe(n);
          const held = decide(s, { now: T0 + within, currentReplicas: n, readings: [at(low)] }, first.state);
          expect(held.desiredReplicas).toBe(n);
          const released = decide(
            s,
            { now: T0 + after, currentReplicas: n, readings: [at(low)] },
            first.state,
          );
          expect(released.desiredReplicas).toBe(low);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is pure: the same inputs give the same decision, and the input state is not mutated', () => {
    fc.assert(
      fc.property(
        specArb({ formulas: true, scalePauses: true }),
        fc.nat(30),
        pollsArb,
        (spec, start, polls) => {
          let state = initialScalingState(T0);
          let replicas = Math.min(start, spec.maxReplicas);
          let now = T0;
          for (const [dt, readings] of polls) {
            now += dt * SECOND;
            const frozen = JSON.stringify(state);
            const a = decide(spec, { now, currentReplicas: replicas, readings }, state);
            const b = decide(spec, { now, currentReplicas: replicas, readings }, state);
            expect(b).toEqual(a);
            expect(JSON.stringify(state)).toBe(frozen);
            state = a.state;
            replicas = a.desiredReplicas;
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
