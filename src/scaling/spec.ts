// ScaledObject spec + pause annotations -> ScalingSpec: every knob of the scaling core with KEDA's
// defaults and the autoscaling/v2 HPA behavior defaults filled in, field by field, the way
// Kubernetes does it (pkg/apis/autoscaling/v2/defaults.go: SetDefaults_HorizontalPodAutoscalerBehavior,
// GenerateHPAScaleUpRules, GenerateHPAScaleDownRules, copyHPAScalingRules; the scale-down
// stabilization window left nil there is the controller's --horizontal-pod-autoscaler-downscale-
// stabilization default, 5 min, applied by maybeInitScaleDownStabilizationWindow in horizontal.go).
import type { PauseSettings } from '../api/annotations.ts';
import { fail, InvalidSpec, ok, type Problem, type Result } from '../api/reasons.ts';
import { DEFAULT_MAX_REPLICAS, RESOURCE_TRIGGER_TYPES } from '../api/rules.ts';
import type { HPAScalingRules, ScaledObjectSpec } from '../api/scaledobject.ts';
import { compileFormula } from './formula.ts';
import type { ScalingRules, ScalingSpec } from './types.ts';

/** KEDA's ScaledObject defaults (apis/keda/v1alpha1, pkg/scaling/executor). */
export const DEFAULT_POLLING_INTERVAL_SECONDS = 30;
export const DEFAULT_COOLDOWN_SECONDS = 300;
export const DEFAULT_INITIAL_COOLDOWN_SECONDS = 0;
export const DEFAULT_MIN_REPLICAS = 0;
export { DEFAULT_MAX_REPLICAS };
export const DEFAULT_FALLBACK_BEHAVIOR = 'static';
export const DEFAULT_ACTIVATION_TARGET = 0;

/** kube-controller-manager's --horizontal-pod-autoscaler-tolerance default. */
export const DEFAULT_TOLERANCE = 0.1;
/** kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization default (5m). */
export const DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300;

/** defaultHPAScaleUpRules: no stabilization, Max of (4 pods, 100 %) per 15 s. */
export const DEFAULT_SCALE_UP_RULES: Readonly<ScalingRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
  tolerance: DEFAULT_TOLERANCE,
};

/** defaultHPAScaleDownRules (+ the controller's 300 s window): Max of (100 %) per 15 s. */
export const DEFAULT_SCALE_DOWN_RULES: Readonly<ScalingRules> = {
  stabilizationWindowSeconds: DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  tolerance: DEFAULT_TOLERANCE,
};

const BEHAVIOR_PATH = 'spec.advanced.horizontalPodAutoscalerConfig.behavior';
const MODIFIERS_PATH = 'spec.advanced.scalingModifiers';

/**
 * A Kubernetes quantity used as a tolerance: "0.05" -> 0.05, "50m" -> 0.05, "1" -> 1.
 * Only the plain decimal forms the CRD schema admits; anything else is undefined.
 */
export const parseTolerance = (quantity: string): number | undefined => {
  const match = /^(0|0?\.\d+|[1-9]\d*(?:\.\d+)?)(m?)$/.exec(quantity.trim());
  if (match === null) return undefined;
  const base = Number(match[1]);
  return match[2] === 'm' ? base / 1000 : base;
};

/** strconv.ParseFloat's decimal forms ("10", "0.5", "1e3"); undefined when not a finite number. */
export const parseDecimal = (text: string): number | undefined => {
  const trimmed = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
};

/**
 * copyHPAScalingRules(from, defaults): every field the user set replaces the default (a given
 * `policies` list replaces the defaults whole, even when empty); tolerance falls back to the
 * cluster-wide 0.1 as the controller does when the field is nil.
 */
const generateRules = (
  from: HPAScalingRules | undefined,
  defaults: ScalingRules,
  path: string,
  problems: Problem[],
): ScalingRules => {
  if (from === undefined) return defaults;
  let tolerance = defaults.tolerance;
  if (from.tolerance !== undefined) {
    const parsed = parseTolerance(from.tolerance);
    if (parsed === undefined) {
      problems.push({
        path: `${path}.tolerance`,
        reason: InvalidSpec,
        message: `must be a non-negative quantity such as "0.1" or "100m", got "${from.tolerance}"`,
      });
    } else tolerance = parsed;
  }
  if (from.policies !== undefined && from.policies.length === 0) {
    // The HPA's validation refuses this ("must specify at least one Policy"); with no policy the
    // rate limit would be MinInt32/MaxInt32 and the direction would silently never scale.
    problems.push({
      path: `${path}.policies`,
      reason: InvalidSpec,
      message: 'must specify at least one policy',
    });
  }
  return {
    stabilizationWindowSeconds: from.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: from.selectPolicy ?? defaults.selectPolicy,
    policies: from.policies ?? defaults.policies,
    tolerance,
  };
};

/** GenerateHPAScaleUpRules (+ tolerance default). */
export const generateScaleUpRules = (rules: HPAScalingRules | undefined): Result<ScalingRules> => {
  const problems: Problem[] = [];
  const value = generateRules(rules, DEFAULT_SCALE_UP_RULES, `${BEHAVIOR_PATH}.scaleUp`, problems);
  return problems.length > 0 ? fail(problems) : ok(value);
};

/** GenerateHPAScaleDownRules (+ the controller's 300 s window and the tolerance default). */
export const generateScaleDownRules = (rules: HPAScalingRules | undefined): Result<ScalingRules> => {
  const problems: Problem[] = [];
  const value = generateRules(rules, DEFAULT_SCALE_DOWN_RULES, `${BEHAVIOR_PATH}.scaleDown`, problems);
  return problems.length > 0 ? fail(problems) : ok(value);
};

/**
 * The names a formula may use: named triggers that are not cpu/memory, as KEDA's
 * validateScalingModifiersFormula declares them.
 */
export const formulaTriggerNames = (spec: ScaledObjectSpec): string[] =>
  spec.triggers.flatMap((t) =>
    t.name !== undefined && t.name !== '' && !RESOURCE_TRIGGER_TYPES.has(t.type) ? [t.name] : [],
  );

const modifiersFrom = (spec: ScaledObjectSpec, problems: Problem[]): ScalingSpec['modifiers'] => {
  const m = spec.advanced?.scalingModifiers;
  if (m?.formula === undefined || m.formula.trim() === '') return undefined;
  let target = Number.NaN;
  const parsedTarget = m.target === undefined ? undefined : parseDecimal(m.target);
  if (parsedTarget === undefined || parsedTarget <= 0) {
    problems.push({
      path: `${MODIFIERS_PATH}.target`,
      reason: InvalidSpec,
      message:
        m.target === undefined
          ? 'is required when a formula is set'
          : `must be a number > 0 written as a string, got "${m.target}"`,
    });
  } else target = parsedTarget;
  let activationTarget = DEFAULT_ACTIVATION_TARGET;
  if (m.activationTarget !== undefined && m.activationTarget !== '') {
    const parsed = parseDecimal(m.activationTarget);
    if (parsed === undefined) {
      problems.push({
        path: `${MODIFIERS_PATH}.activationTarget`,
        reason: InvalidSpec,
        message: `must be a number written as a string, got "${m.activationTarget}"`,
      });
    } else activationTarget = parsed;
  }
  const compiled = compileFormula(m.formula, formulaTriggerNames(spec));
  if (!compiled.ok) problems.push(...compiled.error);
  return { formula: m.formula, target, activationTarget, metricType: m.metricType ?? 'AverageValue' };
};

/**
 * Defaults -> overlay -> validate. Problems name the field; cross-field rules (min <= max, idle < min,
 * unique trigger names) are `src/api/rules.ts`'s job and are not repeated here.
 */
export const scalingSpecFrom = (spec: ScaledObjectSpec, pause: PauseSettings): Result<ScalingSpec> => {
  const problems: Problem[] = [];
  const behavior = spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  const scaleUp = generateRules(
    behavior?.scaleUp,
    DEFAULT_SCALE_UP_RULES,
    `${BEHAVIOR_PATH}.scaleUp`,
    problems,
  );
  const scaleDown = generateRules(
    behavior?.scaleDown,
    DEFAULT_SCALE_DOWN_RULES,
    `${BEHAVIOR_PATH}.scaleDown`,
    problems,
  );
  const modifiers = modifiersFrom(spec, problems);
  if (problems.length > 0) return fail(problems);
  return ok({
    pollingIntervalSeconds: spec.pollingInterval ?? DEFAULT_POLLING_INTERVAL_SECONDS,
    cooldownSeconds: spec.cooldownPeriod ?? DEFAULT_COOLDOWN_SECONDS,
    initialCooldownSeconds: spec.initialCooldownPeriod ?? DEFAULT_INITIAL_COOLDOWN_SECONDS,
    minReplicas: spec.minReplicaCount ?? DEFAULT_MIN_REPLICAS,
    maxReplicas: spec.maxReplicaCount ?? DEFAULT_MAX_REPLICAS,
    idleReplicas: spec.idleReplicaCount,
    scaleUp,
    scaleDown,
    fallback:
      spec.fallback === undefined
        ? undefined
        : {
            failureThreshold: spec.fallback.failureThreshold,
            replicas: spec.fallback.replicas,
            behavior: spec.fallback.behavior ?? DEFAULT_FALLBACK_BEHAVIOR,
          },
    modifiers,
    pause,
  });
};
