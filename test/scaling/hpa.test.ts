// The HPA reconcile step (horizontal.go reconcileAutoscaler). Labels cite the upstream test whose
// situation they reproduce; CPU metrics there are abstract proposals here.
import { describe, expect, it } from 'vitest';
import type { BehaviorHistory } from '../../src/scaling/behavior.ts';
import { type HpaSpec, reconcileHpa } from '../../src/scaling/hpa.ts';
import type { MetricProposal } from '../../src/scaling/replicas.ts';
import { DEFAULT_SCALE_DOWN_RULES, DEFAULT_SCALE_UP_RULES } from '../../src/scaling/spec.ts';
import { MINUTE, SECOND, T0 } from './helpers.ts';

const EMPTY: BehaviorHistory = { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
const hpa = (min: number, max: number): HpaSpec => ({
  minReplicas: min,
  maxReplicas: max,
  scaleUp: DEFAULT_SCALE_UP_RULES,
  scaleDown: { ...DEFAULT_SCALE_DOWN_RULES, stabilizationWindowSeconds: 0 },
});
const valid = (metric: string, replicas: number): MetricProposal => ({
  ok: true,
  metric,
  replicas,
  formula: `→ ${replicas}`,
});
const invalid = (metric: string): MetricProposal => ({
  ok: false,
  metric,
  reason: 'KafkaError',
  message: 'something went wrong',
});

describe('reconcileHpa', () => {
  const cases: Array<{
    label: string;
    spec: HpaSpec;
    current: number;
    proposals: MetricProposal[];
    kind: string;
    expected: number;
  }> = [
    {
      label: 'TestScaleUpOneMetricEmpty: cpu asks 4, the external metric fails -> scale up to 4',
      spec: hpa(2, 6),
      current: 3,
      proposals: [valid('cpu', 4), invalid('qps')],
      kind: 'Metrics',
      expected: 4,
    },
    {
      label: 'TestNoScaleDownOneMetricEmpty: cpu asks 3, the external metric fails -> stay at 5',
      spec: hpa(2, 6),
      current: 5,
      proposals: [valid('cpu', 3), invalid('qps')],
      kind: 'InvalidMetrics',
      expected: 5,
    },
    {
      label: 'TestNoScaleDownOneMetricInvalid: an invalid metric blocks the scale down',
      spec: hpa(2, 6),
      current: 5,
      proposals: [valid('cpu', 3), invalid('CheddarCheese')],
      kind: 'InvalidMetrics',
      expected: 5,
    },
    {
      label: 'TestConditionFailedGetMetrics: the only metric fails -> no change',
      spec: hpa(1, 100),
      current: 3,
      proposals: [invalid('qps')],
      kind: 'InvalidMetrics',
      expected: 3,
    },
    {
      label: 'current above maxReplicas -> maxReplicas, whatever the metrics say',
      spec: hpa(1, 5),
      current: 8,
      proposals: [valid('qps', 20)],
      kind: 'AboveMax',
      expected: 5,
    },
    {
      label: 'current below minReplicas -> minReplicas, whatever the metrics say',
      spec: hpa(3, 5),
      current: 1,
      proposals: [invalid('qps')],
      kind: 'BelowMin',
      expected: 3,
    },
    {
      label: 'current 0 with minReplicas >= 1 -> ScalingDisabled, no change',
      spec: hpa(1, 5),
      current: 0,
      proposals: [valid('qps', 3)],
      kind: 'ScalingDisabled',
      expected: 0,
    },
    {
      label: 'metrics ask 0 -> clamped to minReplicas',
      spec: hpa(2, 10),
      current: 6,
      proposals: [valid('qps', 0)],
      kind: 'Metrics',
      expected: 2,
    },
    {
      label: 'scale up limited by the default policies: max(3 + 4, 3 × 2) = 7',
      spec: hpa(1, 100),
      current: 3,
      proposals: [valid('qps', 50)],
      kind: 'Metrics',
      expected: 7,
    },
  ];
  it.each(cases)('$label', ({ spec, current, proposals, kind, expected }) => {
    const { outcome } = reconcileHpa(spec, current, proposals, EMPTY, T0);
    expect({ kind: outcome.kind, desired: outcome.desiredReplicas }).toEqual({ kind, desired: expected });
  });

  it('recordInitialRecommendation: the first reconcile seeds the current replicas', () => {
    const { history } = reconcileHpa(hpa(1, 10), 4, [valid('qps', 6)], EMPTY, T0);
    expect(history.recommendations).toEqual([
      { time: T0, value: 4 },
      { time: T0, value: 6 },
    ]);
  });

  it('the seeded recommendation holds a fresh autoscaler for the default 300 s window', () => {
    const spec: HpaSpec = { ...hpa(1, 10), scaleDown: DEFAULT_SCALE_DOWN_RULES };
    const first = reconcileHpa(spec, 8, [valid('qps', 2)], EMPTY, T0);
    expect(first.outcome.desiredReplicas).toBe(8);
    const during = reconcileHpa(spec, 8, [valid('qps', 2)], first.history, T0 + 5 * MINUTE - SECOND);
    expect(during.outcome.desiredReplicas).toBe(8);
    const after = reconcileHpa(spec, 8, [valid('qps', 2)], during.history, T0 + 5 * MINUTE + SECOND);
    expect(after.outcome.desiredReplicas).toBe(2);
  });

  it('invalid metrics store no recommendation (reconcileAutoscaler returns early)', () => {
    const seeded = reconcileHpa(hpa(1, 10), 5, [valid('qps', 5)], EMPTY, T0).history;
    const { history } = reconcileHpa(hpa(1, 10), 5, [invalid('qps')], seeded, T0 + MINUTE);
    expect(history.recommendations).toEqual(seeded.recommendations);
  });
});
