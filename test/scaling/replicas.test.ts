import { describe, expect, it } from 'vitest';
import {
  MAX_REPLICA_COUNT,
  type MetricProposal,
  type MetricSample,
  metricReplicas,
  replicasForMetrics,
  type Tolerances,
} from '../../src/scaling/replicas.ts';

const TOLERANCE: Tolerances = { scaleUp: 0.1, scaleDown: 0.1 };

// kubernetes pkg/controller/podautoscaler/replica_calculator_test.go, External metric cases.
// Levels and targets there are milli-values: 8600 -> 8.6.
const external: Array<{
  label: string;
  current: number;
  sample: MetricSample;
  tolerances?: Tolerances;
  expected: number;
}> = [
  {
    label: 'TestReplicaCalcScaleUpCMExternal: Value 8.6 / 4.4 on 1 replica -> ceil(1.95) = 2',
    current: 1,
    sample: { value: 8.6, target: 4.4, metricType: 'Value' },
    expected: 2,
  },
  {
    label:
      'TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods: upstream gives 2 (1 of 3 pods ready); ebb counts all 3 replicas ready -> ceil(1.95 × 3) = 6',
    current: 3,
    sample: { value: 8.6, target: 4.4, metricType: 'Value' },
    expected: 6,
  },
  {
    label: 'TestReplicaCalcScaleUpPerPodCMExternal: AverageValue 8.6 / 2.15 on 3 -> ceil(4) = 4',
    current: 3,
    sample: { value: 8.6, target: 2.15, metricType: 'AverageValue' },
    expected: 4,
  },
  {
    label: 'TestReplicaCalcScaleDownCMExternal: Value 8.6 / 14.334 on 5 -> ceil(2.9998) = 3',
    current: 5,
    sample: { value: 8.6, target: 14.334, metricType: 'Value' },
    expected: 3,
  },
  {
    label: 'TestReplicaCalcScaleDownPerPodCMExternal: AverageValue 8.6 / 2.867 on 5 -> ceil(2.9996) = 3',
    current: 5,
    sample: { value: 8.6, target: 2.867, metricType: 'AverageValue' },
    expected: 3,
  },
  {
    label: 'TestReplicaCalcToleranceCMExternal: Value 8.6 / 8.888 = 0.968 within 10% -> 3',
    current: 3,
    sample: { value: 8.6, target: 8.888, metricType: 'Value' },
    expected: 3,
  },
  {
    label: 'TestReplicaCalcTolerancePerPodCMExternal: 8.6 / (2.9 × 3) = 0.989 within 10% -> 3',
    current: 3,
    sample: { value: 8.6, target: 2.9, metricType: 'AverageValue' },
    expected: 3,
  },
];

const ebb: typeof external = [
  {
    label: 'AverageValue: ceil(12 / 5) = 3 from 1',
    current: 1,
    sample: { value: 12, target: 5, metricType: 'AverageValue' },
    expected: 3,
  },
  {
    label: 'AverageValue at current 0: ratio is +Inf, never within tolerance -> ceil(12 / 5) = 3',
    current: 0,
    sample: { value: 12, target: 5, metricType: 'AverageValue' },
    expected: 3,
  },
  {
    label: 'AverageValue at current 0 with 0 usage: ratio NaN -> ceil(0 / 5) = 0',
    current: 0,
    sample: { value: 0, target: 5, metricType: 'AverageValue' },
    expected: 0,
  },
  {
    label: "Value at current 0: getUsageRatioReplicaCount's scale-to-zero branch ceil(12 / 5) = 3",
    current: 0,
    sample: { value: 12, target: 5, metricType: 'Value' },
    expected: 3,
  },
  {
    label: 'Value: ceil(12 × 4 / 10) = 5',
    current: 4,
    sample: { value: 12, target: 10, metricType: 'Value' },
    expected: 5,
  },
  {
    label: 'milli-units keep ceil() exact: ceil(1.1 / 0.1) = 11 (float64 says 11.000000000000002)',
    current: 1,
    sample: { value: 1.1, target: 0.1, metricType: 'AverageValue' },
    expected: 11,
  },
  {
    label: 'exactly at the upper tolerance edge (1.1) stays',
    current: 10,
    sample: { value: 11, target: 1, metricType: 'AverageValue' },
    expected: 10,
  },
  {
    label: 'just above the upper tolerance edge scales',
    current: 10,
    sample: { value: 11.01, target: 1, metricType: 'AverageValue' },
    expected: 12,
  },
  {
    label: 'exactly at the lower tolerance edge (0.9) stays',
    current: 10,
    sample: { value: 9, target: 1, metricType: 'AverageValue' },
    expected: 10,
  },
  {
    label: 'a tighter scale-up tolerance (0.02) scales at +5%',
    current: 20,
    sample: { value: 21, target: 1, metricType: 'AverageValue' },
    tolerances: { scaleUp: 0.02, scaleDown: 0.1 },
    expected: 21,
  },
  {
    label: 'a looser scale-down tolerance (0.3) holds at -25%',
    current: 20,
    sample: { value: 15, target: 1, metricType: 'AverageValue' },
    tolerances: { scaleUp: 0.1, scaleDown: 0.3 },
    expected: 20,
  },
  {
    label: 'zero tolerance moves on any difference',
    current: 4,
    sample: { value: 4.001, target: 1, metricType: 'AverageValue' },
    tolerances: { scaleUp: 0, scaleDown: 0 },
    expected: 5,
  },
  {
    label: 'proposals are capped at MaxInt32 as the HPA does',
    current: 1,
    sample: { value: 1e12, target: 0.001, metricType: 'AverageValue' },
    expected: MAX_REPLICA_COUNT,
  },
];

describe('metricReplicas', () => {
  it.each([...external, ...ebb])('$label', ({ current, sample, tolerances, expected }) => {
    const result = metricReplicas(current, sample, tolerances ?? TOLERANCE);
    expect(result.replicas, result.formula).toBe(expected);
  });

  it('states its arithmetic', () => {
    expect(metricReplicas(1, { value: 12, target: 5, metricType: 'AverageValue' }, TOLERANCE).formula).toBe(
      'ceil(12 / 5) = 3',
    );
    expect(metricReplicas(3, { value: 12, target: 4, metricType: 'AverageValue' }, TOLERANCE).formula).toBe(
      '12 / (4 × 3) = 1 within tolerance → 3',
    );
  });
});

const valid = (metric: string, replicas: number): MetricProposal => ({
  ok: true,
  metric,
  replicas,
  formula: `${replicas}`,
});
const invalid = (metric: string): MetricProposal => ({
  ok: false,
  metric,
  reason: 'RabbitMQError',
  message: 'boom',
});

// horizontal.go computeReplicasForMetrics.
describe('replicasForMetrics', () => {
  const cases: Array<{
    label: string;
    current: number;
    proposals: MetricProposal[];
    expected: number | undefined;
  }> = [
    {
      label: 'max over metrics',
      current: 3,
      proposals: [valid('a', 2), valid('b', 7), valid('c', 5)],
      expected: 7,
    },
    { label: 'all zero is zero', current: 3, proposals: [valid('a', 0), valid('b', 0)], expected: 0 },
    {
      label: 'TestScaleUpOneMetricEmpty: one metric fails, the other scales up -> allowed',
      current: 3,
      proposals: [valid('cpu', 4), invalid('qps')],
      expected: 4,
    },
    {
      label: 'TestNoScaleDownOneMetricEmpty: one metric fails, the other scales down -> no recommendation',
      current: 5,
      proposals: [valid('cpu', 3), invalid('qps')],
      expected: undefined,
    },
    {
      label: 'one metric fails, the other keeps the count -> allowed (replicas == current)',
      current: 5,
      proposals: [valid('cpu', 5), invalid('qps')],
      expected: 5,
    },
    {
      label: 'all metrics fail -> no recommendation',
      current: 5,
      proposals: [invalid('a'), invalid('b')],
      expected: undefined,
    },
    { label: 'no metrics -> no recommendation', current: 5, proposals: [], expected: undefined },
  ];
  it.each(cases)('$label', ({ current, proposals, expected }) => {
    const result = replicasForMetrics(current, proposals);
    expect(result.ok ? result.replicas : undefined).toBe(expected);
  });

  it('names the first metric that reached the maximum', () => {
    const result = replicasForMetrics(1, [valid('a', 3), valid('b', 3)]);
    expect(result.ok && result.metric).toBe('a');
  });
});
