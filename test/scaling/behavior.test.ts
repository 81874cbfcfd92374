// Ported from kubernetes pkg/controller/podautoscaler/horizontal_test.go. Each label starts with
// the upstream test and case name. time.Now() there is the fixed NOW here.
import { describe, expect, it } from 'vitest';
import type { HPAScalingRules } from '../../src/api/scaledobject.ts';
import {
  calculateScaleDownLimitWithBehaviors,
  calculateScaleUpLimitWithScalingRules,
  convertDesiredReplicasWithBehaviorRate,
  getReplicasChangePerPeriod,
  type LimitReason,
  stabilizeRecommendationWithBehaviors,
  storeScaleEvent,
} from '../../src/scaling/behavior.ts';
import {
  DEFAULT_SCALE_DOWN_RULES,
  DEFAULT_SCALE_UP_RULES,
  generateScaleDownRules,
  generateScaleUpRules,
} from '../../src/scaling/spec.ts';
import type { ScalingRules, TimedValue } from '../../src/scaling/types.ts';
import { MINUTE, SECOND, T0 } from './helpers.ts';

const NOW = T0 + 24 * 60 * MINUTE;

/** generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow). */
const generateScalingRules = (
  pods: number,
  podsPeriod: number,
  percent: number,
  percentPeriod: number,
  stabilizationWindow: number,
): HPAScalingRules => ({
  stabilizationWindowSeconds: stabilizationWindow,
  selectPolicy: 'Max',
  policies: [
    ...(pods !== 0 ? [{ type: 'Pods' as const, value: pods, periodSeconds: podsPeriod }] : []),
    ...(percent !== 0 ? [{ type: 'Percent' as const, value: percent, periodSeconds: percentPeriod }] : []),
  ],
});

/** generateEventsUniformDistribution: events centred in equal segments of the last periodSeconds. */
const generateEventsUniformDistribution = (rawEvents: number[], periodSeconds: number): TimedValue[] => {
  const segment = periodSeconds / rawEvents.length;
  return rawEvents.map((value, idx) => ({
    value,
    time: NOW - Math.trunc(periodSeconds - segment * (idx + 1) + segment / 2) * SECOND,
  }));
};

const up = (r: HPAScalingRules | undefined): ScalingRules => {
  const result = generateScaleUpRules(r);
  if (!result.ok) throw new Error('bad rules');
  return result.value;
};
const down = (r: HPAScalingRules | undefined): ScalingRules => {
  const result = generateScaleDownRules(r);
  if (!result.ok) throw new Error('bad rules');
  return result.value;
};

interface RulesCase {
  name: string;
  scaleUpEvents?: TimedValue[];
  scaleDownEvents?: TimedValue[];
  specMinReplicas: number;
  specMaxReplicas: number;
  scaleUpRules?: HPAScalingRules;
  scaleDownRules?: HPAScalingRules;
  currentReplicas: number;
  prenormalizedDesiredReplicas: number;
  expectedReplicas: number;
  expectedCondition: LimitReason;
}

const scalingWithRules: RulesCase[] = [
  {
    name: 'prenormalized desired replicas within range',
    currentReplicas: 5,
    prenormalizedDesiredReplicas: 7,
    specMinReplicas: 3,
    specMaxReplicas: 8,
    expectedReplicas: 7,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'prenormalized desired replicas < minReplicas',
    currentReplicas: 3,
    prenormalizedDesiredReplicas: 1,
    specMinReplicas: 2,
    specMaxReplicas: 8,
    expectedReplicas: 2,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'prenormalized desired replicas within range when minReplicas is 0',
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 0,
    specMinReplicas: 0,
    specMaxReplicas: 10,
    expectedReplicas: 0,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
    currentReplicas: 20,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 1,
    specMaxReplicas: 10,
    expectedReplicas: 10,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'desired replica count is more than the maximum replica count',
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 100,
    specMaxReplicas: 150,
    expectedReplicas: 150,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies',
    currentReplicas: 3,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 1,
    specMaxReplicas: 2000,
    scaleUpRules: generateScalingRules(0, 0, 1, 60, 0),
    expectedReplicas: 4,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies (testThis: skipped upstream)',
    currentReplicas: 1000,
    prenormalizedDesiredReplicas: 3,
    specMinReplicas: 3,
    specMaxReplicas: 2000,
    scaleDownRules: generateScalingRules(20, 60, 0, 0, 0),
    expectedReplicas: 980,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleUp with default behavior',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 20,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with pods policy larger than percent policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(100, 60, 100, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 110,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy larger than pods policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(2, 60, 100, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 20,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(100, 60, 0, 0, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 50,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleUp with pod policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(30, 60, 0, 0, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 40,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(0, 0, 200, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 30,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleDown with percent policy larger than pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(20, 60, 1, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 80,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with pod policy larger than percent policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(2, 60, 1, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 98,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(100, 60, 0, 0, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 1,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large percent policy',
    specMinReplicas: 5,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 100, 60, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 5,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with pod policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(5, 60, 0, 0, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 5,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with percent policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 50, 60, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large pod policy and events',
    scaleUpEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 200,
    scaleUpRules: generateScalingRules(300, 60, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 200,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events',
    scaleUpEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(5, 120, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 100,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with pod policy and previous scale up events',
    scaleUpEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(150, 120, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 235,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy and previous scale up events',
    scaleUpEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(0, 0, 200, 120, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 255,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy and previous scale up and down events',
    scaleUpEvents: generateEventsUniformDistribution([4], 120),
    scaleDownEvents: generateEventsUniformDistribution([2], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(0, 0, 300, 300, 0),
    currentReplicas: 6,
    prenormalizedDesiredReplicas: 24,
    expectedReplicas: 16,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleDown with default policy and previous events',
    scaleDownEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large pod policy and previous events',
    scaleDownEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 5,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(130, 120, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 5,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with pod policy limitation and previous events',
    scaleDownEvents: generateEventsUniformDistribution([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(5, 120, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 100,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with percent policy limitation and previous events',
    scaleDownEvents: generateEventsUniformDistribution([2, 4, 6], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 50, 120, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 56,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with percent policy and previous scale up and down events',
    scaleUpEvents: generateEventsUniformDistribution([2], 120),
    scaleDownEvents: generateEventsUniformDistribution([4], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 50, 180, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 1,
    expectedReplicas: 6,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with previous events preventing further scale down',
    scaleDownEvents: generateEventsUniformDistribution([10, 10, 10], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 10, 120, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 100,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with with previous events still allowing more scale down',
    scaleDownEvents: generateEventsUniformDistribution([10, 10, 10], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(0, 0, 1000, 120, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were marked 'outdated' for two different policies in the behavior for up",
    scaleUpEvents: generateEventsUniformDistribution([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: generateScalingRules(1000, 30, 100, 60, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 200,
    expectedReplicas: 200,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were not marked 'outdated' for two different policies in the behavior for down",
    scaleDownEvents: generateEventsUniformDistribution([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: generateScalingRules(1000, 120, 100, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
];

describe('convertDesiredReplicasWithBehaviorRate', () => {
  it.each(scalingWithRules)('TestScalingWithRules: $name', (tc) => {
    const result = convertDesiredReplicasWithBehaviorRate(
      {
        scaleUp: up(tc.scaleUpRules),
        scaleDown: down(tc.scaleDownRules),
        minReplicas: tc.specMinReplicas,
        maxReplicas: tc.specMaxReplicas,
        currentReplicas: tc.currentReplicas,
        desiredReplicas: tc.prenormalizedDesiredReplicas,
        now: NOW,
      },
      { scaleUpEvents: tc.scaleUpEvents ?? [], scaleDownEvents: tc.scaleDownEvents ?? [] },
    );
    expect(result).toEqual({ replicas: tc.expectedReplicas, reason: tc.expectedCondition });
  });
});

describe('rate limits with Min select policy', () => {
  const minPolicy: ScalingRules = {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Min',
    tolerance: 0.1,
    policies: [
      { type: 'Pods', value: 2, periodSeconds: 60 },
      { type: 'Percent', value: 50, periodSeconds: 60 },
    ],
  };
  it('TestCalculateScaleUpLimitWithScalingRules: min(1 + 2, ceil(1 × 1.5)) = 2', () => {
    expect(calculateScaleUpLimitWithScalingRules(1, [], [], minPolicy, NOW)).toBe(2);
  });
  it('TestCalculateScaleDownLimitWithBehaviors: max(5 - 2, trunc(5 × 0.5)) = 3', () => {
    expect(calculateScaleDownLimitWithBehaviors(5, [], [], minPolicy, NOW)).toBe(3);
  });
  it('Disabled returns the current replicas in both directions', () => {
    const off: ScalingRules = { ...minPolicy, selectPolicy: 'Disabled' };
    expect(calculateScaleUpLimitWithScalingRules(7, [], [], off, NOW)).toBe(7);
    expect(calculateScaleDownLimitWithBehaviors(7, [], [], off, NOW)).toBe(7);
  });
});

interface StabilizationCase {
  name: string;
  recommendations: TimedValue[];
  currentReplicas: number;
  prenormalizedDesiredReplicas: number;
  expectedStabilizedReplicas: number;
  expectedRecommendations?: number[];
  scaleUpStabilizationWindowSeconds?: number;
  scaleDownStabilizationWindowSeconds?: number;
}

const rec = (value: number, agoMs: number): TimedValue => ({ value, time: NOW - agoMs });

const stabilization: StabilizationCase[] = [
  {
    name: 'empty recommendations for scaling down',
    recommendations: [],
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 5,
    expectedStabilizedReplicas: 5,
    expectedRecommendations: [5],
  },
  {
    name: 'simple scale down stabilization',
    recommendations: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 5,
    expectedRecommendations: [4, 5, 3],
    scaleDownStabilizationWindowSeconds: 3 * 60,
  },
  {
    name: 'simple scale up stabilization',
    recommendations: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 7,
    expectedStabilizedReplicas: 4,
    expectedRecommendations: [4, 5, 7],
    scaleUpStabilizationWindowSeconds: 5 * 60,
  },
  {
    name: 'no scale down stabilization',
    recommendations: [rec(1, 2 * MINUTE), rec(2, MINUTE)],
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 3,
    expectedRecommendations: [1, 2, 3],
    scaleUpStabilizationWindowSeconds: 5 * 60,
  },
  {
    name: 'no scale up stabilization',
    recommendations: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 3,
    expectedRecommendations: [4, 5, 3],
    scaleDownStabilizationWindowSeconds: 5 * 60,
  },
  {
    name: 'no scale down stabilization, reuse recommendation element',
    recommendations: [rec(10, 10 * MINUTE), rec(9, 9 * MINUTE)],
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 3,
    expectedRecommendations: [10, 3],
  },
  {
    name: 'no scale up stabilization, reuse recommendation element',
    recommendations: [rec(10, 10 * MINUTE), rec(9, 9 * MINUTE)],
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 100,
    expectedStabilizedReplicas: 100,
    expectedRecommendations: [10, 100],
  },
  {
    name: 'scale down stabilization, reuse one of obsolete recommendation element',
    recommendations: [rec(10, 10 * MINUTE), rec(4, MINUTE), rec(5, 2 * MINUTE), rec(9, 9 * MINUTE)],
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 5,
    expectedRecommendations: [10, 4, 5, 3],
    scaleDownStabilizationWindowSeconds: 3 * 60,
  },
  {
    name: 'scale up stabilization, reuse one of obsolete recommendation element',
    recommendations: [rec(10, 100 * MINUTE), rec(6, MINUTE), rec(5, 2 * MINUTE), rec(9, 3 * MINUTE)],
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 100,
    expectedStabilizedReplicas: 5,
    expectedRecommendations: [100, 6, 5, 9],
    scaleUpStabilizationWindowSeconds: 300,
  },
  {
    name: 'scale up and down stabilization, do not scale up when prenormalized rec goes down',
    recommendations: [rec(2, 100 * MINUTE), rec(3, 3 * MINUTE)],
    currentReplicas: 2,
    prenormalizedDesiredReplicas: 1,
    expectedStabilizedReplicas: 2,
    scaleUpStabilizationWindowSeconds: 300,
    scaleDownStabilizationWindowSeconds: 300,
  },
  {
    name: 'scale up and down stabilization, do not scale down when prenormalized rec goes up',
    recommendations: [rec(2, 100 * MINUTE), rec(1, 3 * MINUTE)],
    currentReplicas: 2,
    prenormalizedDesiredReplicas: 3,
    expectedStabilizedReplicas: 2,
    scaleUpStabilizationWindowSeconds: 300,
    scaleDownStabilizationWindowSeconds: 300,
  },
];

describe('stabilizeRecommendationWithBehaviors', () => {
  it.each(stabilization)('TestNormalizeDesiredReplicasWithBehavior: $name', (tc) => {
    const result = stabilizeRecommendationWithBehaviors(
      {
        scaleUp: {
          ...DEFAULT_SCALE_UP_RULES,
          stabilizationWindowSeconds: tc.scaleUpStabilizationWindowSeconds ?? 0,
        },
        scaleDown: {
          ...DEFAULT_SCALE_DOWN_RULES,
          stabilizationWindowSeconds: tc.scaleDownStabilizationWindowSeconds ?? 0,
        },
        minReplicas: 1,
        maxReplicas: 1000,
        currentReplicas: tc.currentReplicas,
        desiredReplicas: tc.prenormalizedDesiredReplicas,
        now: NOW,
      },
      tc.recommendations,
    );
    expect(result.recommendation).toBe(tc.expectedStabilizedReplicas);
    if (tc.expectedRecommendations !== undefined) {
      expect(result.recommendations.map((r) => r.value)).toEqual(tc.expectedRecommendations);
    }
  });

  it('an entry exactly at the cutoff is neither in the window nor reusable (Go After/Before)', () => {
    const result = stabilizeRecommendationWithBehaviors(
      {
        scaleUp: DEFAULT_SCALE_UP_RULES,
        scaleDown: DEFAULT_SCALE_DOWN_RULES,
        minReplicas: 1,
        maxReplicas: 100,
        currentReplicas: 9,
        desiredReplicas: 2,
        now: NOW,
      },
      [rec(9, 300 * SECOND)],
    );
    expect(result.recommendation).toBe(2);
    expect(result.recommendations.map((r) => r.value)).toEqual([9, 2]);
  });
});

interface StoreCase {
  name: string;
  prevScaleEvents: TimedValue[];
  newScaleEvents: number[];
  scalingRules: HPAScalingRules;
  expectedReplicasChange: number;
}

const ev = (value: number, agoSeconds: number): TimedValue => ({ value, time: NOW - agoSeconds * SECOND });

const store: StoreCase[] = [
  {
    name: 'empty entries with two-policy-behavior',
    prevScaleEvents: [],
    newScaleEvents: [5],
    scalingRules: generateScalingRules(10, 60, 100, 60, 0),
    expectedReplicasChange: 0,
  },
  {
    name: 'one outdated entry to be replaced with behavior',
    prevScaleEvents: [ev(7, 61)],
    newScaleEvents: [5],
    scalingRules: generateScalingRules(10, 60, 100, 60, 0),
    expectedReplicasChange: 0,
  },
  {
    name: 'one actual entry to be not touched with behavior',
    prevScaleEvents: [ev(7, 58)],
    newScaleEvents: [7, 5],
    scalingRules: generateScalingRules(10, 60, 100, 60, 0),
    expectedReplicasChange: 7,
  },
  {
    name: 'two entries, one of them to be replaced',
    prevScaleEvents: [ev(7, 61), ev(6, 59)],
    newScaleEvents: [5, 6],
    scalingRules: generateScalingRules(10, 60, 0, 0, 0),
    expectedReplicasChange: 6,
  },
  {
    name: 'replace one entry, use policies with different periods',
    prevScaleEvents: [ev(8, 29), ev(6, 59), ev(7, 61), ev(9, 61)],
    newScaleEvents: [8, 6, 7, 5],
    scalingRules: generateScalingRules(10, 60, 100, 30, 0),
    expectedReplicasChange: 14,
  },
  {
    name: 'two entries, both actual',
    prevScaleEvents: [ev(7, 58), ev(6, 59)],
    newScaleEvents: [7, 6, 5],
    scalingRules: generateScalingRules(10, 120, 100, 30, 0),
    expectedReplicasChange: 13,
  },
];

describe('storeScaleEvent / getReplicasChangePerPeriod', () => {
  it.each(store)('TestStoreScaleEvents: $name', (tc) => {
    const rules = { scaleUp: up(tc.scalingRules), scaleDown: down(tc.scalingRules) };
    // scale up 10 -> 15
    expect(getReplicasChangePerPeriod(60, tc.prevScaleEvents, NOW)).toBe(tc.expectedReplicasChange);
    const afterUp = storeScaleEvent(
      rules,
      { scaleUpEvents: tc.prevScaleEvents, scaleDownEvents: [] },
      10,
      15,
      NOW,
    );
    expect(afterUp.scaleUpEvents.map((e) => e.value)).toEqual(tc.newScaleEvents);
    expect(afterUp.scaleDownEvents).toEqual([]);
    // scale down 10 -> 5
    const afterDown = storeScaleEvent(
      rules,
      { scaleUpEvents: [], scaleDownEvents: tc.prevScaleEvents },
      10,
      5,
      NOW,
    );
    expect(afterDown.scaleDownEvents.map((e) => e.value)).toEqual(tc.newScaleEvents);
    expect(afterDown.scaleUpEvents).toEqual([]);
  });
});
