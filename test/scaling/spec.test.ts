import { describe, expect, it } from 'vitest';
import type { HPAScalingRules } from '../../src/api/scaledobject.ts';
import {
  DEFAULT_SCALE_DOWN_RULES,
  DEFAULT_SCALE_UP_RULES,
  generateScaleDownRules,
  generateScaleUpRules,
  parseTolerance,
  scalingSpecFrom,
} from '../../src/scaling/spec.ts';
import type { ScalingRules } from '../../src/scaling/types.ts';
import { NO_PAUSE, soSpec, specOf } from './helpers.ts';

describe('scalingSpecFrom: KEDA defaults', () => {
  it('fills every knob KEDA defaults', () => {
    expect(specOf()).toEqual({
      pollingIntervalSeconds: 30,
      cooldownSeconds: 300,
      initialCooldownSeconds: 0,
      minReplicas: 0,
      maxReplicas: 100,
      idleReplicas: undefined,
      scaleUp: DEFAULT_SCALE_UP_RULES,
      scaleDown: DEFAULT_SCALE_DOWN_RULES,
      fallback: undefined,
      modifiers: undefined,
      pause: NO_PAUSE,
    });
  });

  it('keeps what the user wrote, including explicit zeros', () => {
    const spec = specOf({
      pollingInterval: 5,
      cooldownPeriod: 0,
      initialCooldownPeriod: 60,
      minReplicaCount: 2,
      maxReplicaCount: 7,
      idleReplicaCount: 0,
      fallback: { failureThreshold: 3, replicas: 6 },
    });
    expect(spec).toMatchObject({
      pollingIntervalSeconds: 5,
      cooldownSeconds: 0,
      initialCooldownSeconds: 60,
      minReplicas: 2,
      maxReplicas: 7,
      idleReplicas: 0,
      fallback: { failureThreshold: 3, replicas: 6, behavior: 'static' },
    });
  });

  it('parses scalingModifiers: target from a string, activationTarget 0, metricType AverageValue', () => {
    const spec = specOf({
      triggers: [
        { type: 'kafka', name: 'qlen', metadata: {} },
        { type: 'prometheus', name: 'p2d_ratio', metadata: {} },
      ],
      advanced: { scalingModifiers: { formula: 'max(p2d_ratio, qlen/1000)', target: '2' } },
    });
    expect(spec.modifiers).toEqual({
      formula: 'max(p2d_ratio, qlen/1000)',
      target: 2,
      activationTarget: 0,
      metricType: 'AverageValue',
    });
  });

  const rejected: Array<{
    label: string;
    overlay: Parameters<typeof soSpec>[0];
    path: string;
    message: RegExp;
  }> = [
    {
      label: 'a formula naming an unknown trigger',
      overlay: { advanced: { scalingModifiers: { formula: 'orders + payments', target: '5' } } },
      path: 'spec.advanced.scalingModifiers.formula',
      message: /"payments" is not a trigger name \(triggers: orders\)/,
    },
    {
      label: 'a formula with a syntax error',
      overlay: { advanced: { scalingModifiers: { formula: 'orders +', target: '5' } } },
      path: 'spec.advanced.scalingModifiers.formula',
      message: /^unexpected end of the formula, expected an operand \(at offset 8\)$/,
    },
    {
      label: 'a formula without a target',
      overlay: { advanced: { scalingModifiers: { formula: 'orders' } } },
      path: 'spec.advanced.scalingModifiers.target',
      message: /is required/,
    },
    {
      label: 'a non-positive target (KEDA validateScalingModifiersTarget)',
      overlay: { advanced: { scalingModifiers: { formula: 'orders', target: '0' } } },
      path: 'spec.advanced.scalingModifiers.target',
      message: /must be a number > 0/,
    },
    {
      label: 'an activationTarget that is not a number',
      overlay: {
        advanced: { scalingModifiers: { formula: 'orders', target: '1', activationTarget: 'ten' } },
      },
      path: 'spec.advanced.scalingModifiers.activationTarget',
      message: /"ten"/,
    },
    {
      label: 'an empty policies list (the HPA validation: "must specify at least one Policy")',
      overlay: { advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { policies: [] } } } } },
      path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies',
      message: /at least one policy/,
    },
    {
      label: 'a tolerance that is not a quantity',
      overlay: {
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { tolerance: '5%' } } } },
      },
      path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.tolerance',
      message: /"5%"/,
    },
  ];
  it.each(rejected)('rejects $label', ({ overlay, path, message }) => {
    const result = scalingSpecFrom(soSpec(overlay), NO_PAUSE);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContainEqual(
      expect.objectContaining({ path, reason: 'InvalidSpec', message: expect.stringMatching(message) }),
    );
  });
});

describe('tolerance quantities', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0.1', 0.1],
    ['0.05', 0.05],
    ['.05', 0.05],
    ['50m', 0.05],
    ['100m', 0.1],
    ['0', 0],
    ['1', 1],
    ['1.5', 1.5],
    ['5%', undefined],
    ['-0.1', undefined],
    ['', undefined],
  ];
  it.each(cases)('%j -> %j', (quantity, expected) => {
    expect(parseTolerance(quantity)).toBe(expected);
  });
});

// pkg/apis/autoscaling/v2/defaults_test.go (TestGenerateScaleUpRules, TestGenerateScaleDownRules):
// every field the user sets replaces the default; the others keep theirs.
describe('GenerateHPAScaleUpRules / GenerateHPAScaleDownRules', () => {
  const rules = (r: Partial<ScalingRules>, base: ScalingRules): ScalingRules => ({ ...base, ...r });
  const up: Array<{ label: string; given: HPAScalingRules | undefined; expected: ScalingRules }> = [
    {
      label: 'TestGenerateScaleUpRules "Default values"',
      given: undefined,
      expected: DEFAULT_SCALE_UP_RULES,
    },
    { label: 'empty rules keep every default', given: {}, expected: DEFAULT_SCALE_UP_RULES },
    {
      label: 'TestGenerateScaleUpRules "All parameters are specified"',
      given: {
        stabilizationWindowSeconds: 25,
        selectPolicy: 'Min',
        policies: [
          { type: 'Pods', value: 1, periodSeconds: 2 },
          { type: 'Percent', value: 3, periodSeconds: 4 },
        ],
      },
      expected: rules(
        {
          stabilizationWindowSeconds: 25,
          selectPolicy: 'Min',
          policies: [
            { type: 'Pods', value: 1, periodSeconds: 2 },
            { type: 'Percent', value: 3, periodSeconds: 4 },
          ],
        },
        DEFAULT_SCALE_UP_RULES,
      ),
    },
    {
      label: 'TestGenerateScaleUpRules: only a Pods policy given, the list replaces the defaults',
      given: { policies: [{ type: 'Pods', value: 1, periodSeconds: 2 }] },
      expected: rules({ policies: [{ type: 'Pods', value: 1, periodSeconds: 2 }] }, DEFAULT_SCALE_UP_RULES),
    },
    {
      label: 'TestGenerateScaleUpRules: only stabilization and selectPolicy given',
      given: { stabilizationWindowSeconds: 25, selectPolicy: 'Max' },
      expected: rules({ stabilizationWindowSeconds: 25 }, DEFAULT_SCALE_UP_RULES),
    },
    {
      label: 'tolerance "50m"',
      given: { tolerance: '50m' },
      expected: rules({ tolerance: 0.05 }, DEFAULT_SCALE_UP_RULES),
    },
  ];
  it.each(up)('scale up: $label', ({ given, expected }) => {
    expect(generateScaleUpRules(given)).toEqual({ ok: true, value: expected });
  });

  const down: Array<{ label: string; given: HPAScalingRules | undefined; expected: ScalingRules }> = [
    {
      label: 'TestGenerateScaleDownRules "Default values" (+ the controller window 300 s)',
      given: undefined,
      expected: DEFAULT_SCALE_DOWN_RULES,
    },
    {
      label: 'TestGenerateScaleDownRules: only a Percent policy given',
      given: { policies: [{ type: 'Percent', value: 7, periodSeconds: 8 }] },
      expected: rules(
        { policies: [{ type: 'Percent', value: 7, periodSeconds: 8 }] },
        DEFAULT_SCALE_DOWN_RULES,
      ),
    },
    {
      label: 'TestGenerateScaleDownRules: only stabilization and selectPolicy Min given',
      given: { stabilizationWindowSeconds: 0, selectPolicy: 'Min' },
      expected: rules({ stabilizationWindowSeconds: 0, selectPolicy: 'Min' }, DEFAULT_SCALE_DOWN_RULES),
    },
    {
      label: 'Disabled select policy',
      given: { selectPolicy: 'Disabled' },
      expected: rules({ selectPolicy: 'Disabled' }, DEFAULT_SCALE_DOWN_RULES),
    },
    {
      label: 'tolerance "0.05"',
      given: { tolerance: '0.05' },
      expected: rules({ tolerance: 0.05 }, DEFAULT_SCALE_DOWN_RULES),
    },
  ];
  it.each(down)('scale down: $label', ({ given, expected }) => {
    expect(generateScaleDownRules(given)).toEqual({ ok: true, value: expected });
  });

  it('the defaults are the HPA defaults', () => {
    expect(DEFAULT_SCALE_UP_RULES).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
      tolerance: 0.1,
    });
    expect(DEFAULT_SCALE_DOWN_RULES).toEqual({
      stabilizationWindowSeconds: 300,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      tolerance: 0.1,
    });
  });
});
