// decide(): scalingModifiers (KEDA pkg/scaling/modifiers, scale_handler's composite activity),
// explanations and state.
import { describe, expect, it } from 'vitest';
import type { ScaledObjectSpec } from '../../src/api/scaledobject.ts';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import type { ScalingState } from '../../src/scaling/types.ts';
import { expectDecision, failing, MINUTE, reading, SECOND, specOf, T0 } from './helpers.ts';

const fresh = initialScalingState(T0);
const wasActive: ScalingState = { ...fresh, lastActiveTime: T0 - 60 * MINUTE };

const TRIGGERS: ScaledObjectSpec['triggers'] = [
  { type: 'prometheus', name: 'p2d_ratio', metadata: {} },
  { type: 'kafka', name: 'qlen', metadata: {} },
];
const withFormula = (
  formula: string,
  extra: Partial<NonNullable<NonNullable<ScaledObjectSpec['advanced']>['scalingModifiers']>> = {},
  overlay: Partial<ScaledObjectSpec> = {},
) =>
  specOf({
    triggers: TRIGGERS,
    advanced: {
      scalingModifiers: { formula, target: '2', ...extra },
      horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
    },
    ...overlay,
  });
const p2d = (value: number) => reading('p2d_ratio', value, 1, { metricName: 's0-p2d_ratio' });
const qlen = (value: number) => reading('qlen', value, 100, { metricName: 's1-qlen' });

describe('scalingModifiers', () => {
  it('the corpus formula max(p2d_ratio, qlen/1000): composite 9, ceil(9 / 2) = 5', () => {
    const d = decide(
      withFormula('max(p2d_ratio, qlen/1000)'),
      { now: T0, currentReplicas: 1, readings: [p2d(1.5), qlen(9000)] },
      wasActive,
    );
    expectDecision('1 -> 5', d, { desiredReplicas: 5, compositeValue: 9, active: true });
    expect(d.explanation).toBe('max(p2d_ratio, qlen/1000) = 9; ceil(9 / 2) = 5 (composite-metric); 1 → 5');
  });

  it('activity comes from the composite: composite 0.5 <= activationTarget 1 -> inactive, stays at 0', () => {
    const spec = withFormula('p2d_ratio + qlen', { activationTarget: '1' });
    expectDecision(
      'inactive',
      decide(spec, { now: T0, currentReplicas: 0, readings: [p2d(0.25), qlen(0.25)] }, wasActive),
      {
        desiredReplicas: 0,
        active: false,
        compositeValue: 0.5,
      },
    );
  });

  it('activity ignores the triggers own activity: both inactive but composite 3 > 0 -> activates', () => {
    const readings = [
      reading('p2d_ratio', 1, 1, { active: false, metricName: 's0-p2d_ratio' }),
      reading('qlen', 2, 1, { active: false, metricName: 's1-qlen' }),
    ];
    expectDecision(
      'activate',
      decide(withFormula('p2d_ratio + qlen'), { now: T0, currentReplicas: 0, readings }, fresh),
      {
        desiredReplicas: 1,
        active: true,
        transition: 'activated',
        compositeValue: 3,
      },
    );
  });

  it('metricType Value: ceil(composite × current / target) = ceil(30 × 2 / 2) = 30, rate-limited to 6', () => {
    const spec = withFormula('qlen', { metricType: 'Value' });
    expectDecision(
      '2 -> 6',
      decide(spec, { now: T0, currentReplicas: 2, readings: [p2d(0), qlen(30)] }, wasActive),
      {
        desiredReplicas: 6,
        compositeValue: 30,
      },
    );
  });

  it('a failing trigger without fallback: composite error, not active, replicas kept', () => {
    const d = decide(
      withFormula('p2d_ratio + qlen'),
      { now: T0, currentReplicas: 4, readings: [p2d(1), failing('qlen', 100, { metricName: 's1-qlen' })] },
      wasActive,
    );
    expectDecision('4 kept', d, { desiredReplicas: 4, active: false, compositeValue: undefined });
    expect(d.triggerError?.message).toContain('qlen: KafkaError');
  });

  it('a non-finite composite is a failed read (MetricNotFinite): replicas kept, never deactivated', () => {
    // qlen 0: p2d_ratio / qlen = Infinity. It used to be clamped to 0: inactive, 3 -> 0.
    const d = decide(
      withFormula('p2d_ratio / qlen'),
      { now: T0, currentReplicas: 3, readings: [p2d(1), qlen(0)] },
      wasActive,
    );
    expectDecision('3 kept', d, {
      desiredReplicas: 3,
      active: false,
      compositeValue: undefined,
      transition: undefined,
    });
    expect(d.triggerError?.message).toBe(
      'composite-metric: MetricNotFinite: formula evaluated to Infinity, not a finite number',
    );
    expect(d.state.health['composite-metric']).toEqual({ numberOfFailures: 1, status: 'Failing' });
  });

  it('a failing composite counts toward the fallback like a trigger; recovering clears its health', () => {
    const spec = withFormula('p2d_ratio / qlen', {}, { fallback: { failureThreshold: 2, replicas: 7 } });
    const failedTwice: ScalingState = {
      ...wasActive,
      health: { 'composite-metric': { numberOfFailures: 2, status: 'Failing' } },
    };
    const d = decide(spec, { now: T0, currentReplicas: 3, readings: [p2d(1), qlen(0)] }, failedTwice);
    expectDecision('fallback 7', d, {
      desiredReplicas: 7,
      fallbackActive: true,
      active: true,
      triggerError: undefined,
      compositeValue: 14,
    });
    const recovered = decide(spec, { now: T0, currentReplicas: 7, readings: [p2d(4), qlen(1)] }, d.state);
    expect(recovered.state.health['composite-metric']).toBeUndefined();
    expect(recovered.fallbackActive).toBe(false);
  });

  it('a negative composite is clamped to 0 as KEDA does, and the clamp is listed and explained', () => {
    const d = decide(
      withFormula('p2d_ratio - qlen'),
      { now: T0, currentReplicas: 0, readings: [p2d(1), qlen(6)] },
      wasActive,
    );
    expectDecision('0, inactive', d, { compositeValue: 0, active: false, desiredReplicas: 0 });
    expect(d.clamped).toEqual([{ metric: 'composite-metric', value: -5 }]);
    expect(d.explanation).toContain('composite-metric was -5, clamped to 0');
  });

  it('a negative trigger reading (clamped at the boundary) is listed and explained', () => {
    const clampedQlen = { ...qlen(0), clampedFrom: -2 };
    const d = decide(
      withFormula('qlen'),
      { now: T0, currentReplicas: 0, readings: [p2d(0), clampedQlen] },
      fresh,
    );
    expect(d.clamped).toEqual([{ metric: 's1-qlen', value: -2 }]);
    expect(d.explanation).toContain('s1-qlen was -2, clamped to 0');
  });

  describe('with fallback', () => {
    const failingQlen = failing('qlen', 100, { metricName: 's1-qlen' });
    const failedBefore: ScalingState = {
      ...wasActive,
      health: { 's1-qlen': { numberOfFailures: 3, status: 'Failing' } },
    };

    it('fallback static: composite = target × fallback.replicas -> 7 replicas', () => {
      const spec = withFormula('p2d_ratio + qlen', {}, { fallback: { failureThreshold: 3, replicas: 7 } });
      const d = decide(spec, { now: T0, currentReplicas: 7, readings: [p2d(1), failingQlen] }, failedBefore);
      expectDecision('static 7', d, {
        desiredReplicas: 7,
        compositeValue: 14,
        fallbackActive: true,
        active: true,
        triggerError: undefined,
      });
    });

    it('fallback scalingModifiers: the failing trigger is nil and `??` supplies a value', () => {
      const spec = withFormula(
        'p2d_ratio + (qlen ?? 5)',
        {},
        { fallback: { failureThreshold: 3, replicas: 7, behavior: 'scalingModifiers' } },
      );
      const d = decide(spec, { now: T0, currentReplicas: 3, readings: [p2d(1), failingQlen] }, failedBefore);
      expectDecision('composite 6 -> ceil(6 / 2) = 3', d, {
        desiredReplicas: 3,
        compositeValue: 6,
        fallbackActive: true,
        triggerError: undefined,
      });
    });

    it('fallback scalingModifiers: a formula that yields nil -> target × fallback.replicas', () => {
      const spec = withFormula(
        'p2d_ratio + qlen',
        {},
        { fallback: { failureThreshold: 3, replicas: 7, behavior: 'scalingModifiers' } },
      );
      const d = decide(spec, { now: T0, currentReplicas: 7, readings: [p2d(1), failingQlen] }, failedBefore);
      expectDecision('nil -> 7', d, { desiredReplicas: 7, compositeValue: 14, fallbackActive: true });
    });

    it('below the threshold the failure is an error, not nil', () => {
      const spec = withFormula(
        'p2d_ratio + (qlen ?? 5)',
        {},
        { fallback: { failureThreshold: 3, replicas: 7, behavior: 'scalingModifiers' } },
      );
      const d = decide(spec, { now: T0, currentReplicas: 3, readings: [p2d(1), failingQlen] }, wasActive);
      expectDecision('error', d, {
        desiredReplicas: 3,
        fallbackActive: false,
        active: false,
        compositeValue: undefined,
      });
      expect(d.triggerError?.reason).toBe('TriggerError');
    });
  });
});

describe('explanations and state', () => {
  it('initialScalingState', () => {
    expect(initialScalingState(T0)).toEqual({
      lastActiveTime: undefined,
      createdAt: T0,
      health: {},
      recommendations: [],
      scaleUpEvents: [],
      scaleDownEvents: [],
      concurrency: {},
    });
  });

  it('one line on why, per kind of decision', () => {
    const spec = specOf();
    const line = (current: number, value: number, state: ScalingState, now = T0) =>
      decide(spec, { now, currentReplicas: current, readings: [reading('orders', value, 5)] }, state)
        .explanation;
    expect(line(1, 12, wasActive)).toBe('ceil(12 / 5) = 3 (s0-orders); 1 → 3');
    expect(line(0, 12, fresh)).toBe('activated by orders: 0 → 1 (max(minReplicaCount, 1))');
    expect(line(3, 0, { ...fresh, lastActiveTime: T0 - 120 * SECOND })).toMatch(
      /^cooldown: 180 s left before 3 → 0; /,
    );
    expect(line(3, 0, wasActive)).toBe('no trigger active for 300 s: 3 → 0 (minReplicaCount)');
  });

  it('records the HPA scale event (value = replicas changed) only for HPA-driven changes', () => {
    const spec = specOf();
    const activation = decide(
      spec,
      { now: T0, currentReplicas: 0, readings: [reading('orders', 12, 5)] },
      fresh,
    );
    expect(activation.state.scaleUpEvents).toEqual([]);
    const up = decide(
      spec,
      { now: T0 + 30 * SECOND, currentReplicas: 1, readings: [reading('orders', 12, 5)] },
      activation.state,
    );
    expect(up.state.scaleUpEvents).toEqual([{ time: T0 + 30 * SECOND, value: 2 }]);
    expect(up.state.lastActiveTime).toBe(T0 + 30 * SECOND);
  });
});
