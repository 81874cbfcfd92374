// One poll's readings -> activity, errors, fallback and the metric proposals the HPA computation
// takes: per trigger (KEDA's scale_handler getScaledObjectState + fallback.GetMetricsWithFallback), or
// one composite metric from scalingModifiers.formula (pkg/scaling/modifiers/formula.go).
import { type ReadErrorReason, TriggerError as TriggerErrorReason } from '../api/reasons.ts';
import { fallbackReplicas, fallbackSample, isFallingBack, nextHealth } from './fallback.ts';
import { compiledFormulaFor } from './formula.ts';
import {
  formatNumber,
  type MetricProposal,
  metricReplicas,
  type ReplicaCount,
  type Tolerances,
  tolerancesOf,
} from './replicas.ts';
import type { ScalingSpec, TriggerHealth, TriggerReading } from './types.ts';

/** KEDA's name for the scalingModifiers metric (kedav1alpha1.CompositeMetricName). */
export const COMPOSITE_METRIC = 'composite-metric';

export interface TriggerFailure {
  readonly trigger: string;
  readonly reason: ReadErrorReason;
  readonly message: string;
}

export interface Assessment {
  readonly active: boolean;
  /** Triggers (or the composite metric) that made the ScaledObject active. */
  readonly activeTriggers: readonly string[];
  readonly proposals: readonly MetricProposal[];
  /** Failures that no fallback covers (and formula errors). */
  readonly errors: readonly TriggerFailure[];
  /** Triggers beyond their failure threshold, served by the fallback. */
  readonly fallbackTriggers: readonly string[];
  readonly compositeValue: number | undefined;
  /** The composite's raw value when it was negative and counted as 0 (KEDA clamps it too). */
  readonly compositeClampedFrom?: number;
  readonly health: Readonly<Record<string, TriggerHealth>>;
}

/** Explanations quote a formula up to this length (an Event note is at most 1 KB). */
const QUOTED_FORMULA_LENGTH = 80;

const fallbackProposal = (
  spec: ScalingSpec,
  metric: string,
  current: number,
  tolerances: Tolerances,
  replicas: number,
): MetricProposal => {
  const count = metricReplicas(current, fallbackSample(replicas), tolerances);
  const behavior = spec.fallback?.behavior ?? 'static';
  return {
    ok: true,
    metric,
    replicas: count.replicas,
    formula: `fallback (${behavior}) ${replicas} replicas: ${count.formula}`,
  };
};

/**
 * Per trigger:
 *   ok, a concurrency trigger  -> proposal from its Knative windows (concurrency-triggers.ts)
 *   ok                         -> proposal from its metric; active when the reading says so
 *   failing beyond threshold   -> proposal from fallback replicas; counts as active
 *   failing otherwise          -> invalid proposal and an error
 */
const assessPerTrigger = (
  spec: ScalingSpec,
  readings: readonly TriggerReading[],
  current: number,
  health: Readonly<Record<string, TriggerHealth>>,
  concurrencyCounts: ReadonlyMap<string, ReplicaCount>,
): Assessment => {
  const tolerances = tolerancesOf(spec);
  const proposals: MetricProposal[] = [];
  const activeTriggers: string[] = [];
  const errors: TriggerFailure[] = [];
  const fallbackTriggers: string[] = [];
  for (const r of readings) {
    if (r.ok) {
      const count = concurrencyCounts.get(r.trigger) ?? metricReplicas(current, r, tolerances);
      proposals.push({ ok: true, metric: r.metricName, replicas: count.replicas, formula: count.formula });
      if (r.active) activeTriggers.push(r.trigger);
    } else if (spec.fallback !== undefined && isFallingBack(health[r.metricName], spec.fallback)) {
      const replicas = fallbackReplicas(spec.fallback, current);
      proposals.push(fallbackProposal(spec, r.metricName, current, tolerances, replicas));
      fallbackTriggers.push(r.trigger);
      activeTriggers.push(r.trigger);
    } else {
      proposals.push({ ok: false, metric: r.metricName, reason: r.reason, message: r.message });
      errors.push({ trigger: r.trigger, reason: r.reason, message: r.message });
    }
  }
  return {
    active: activeTriggers.length > 0,
    activeTriggers,
    proposals,
    errors,
    fallbackTriggers,
    compositeValue: undefined,
    health,
  };
};

/**
 * With scalingModifiers (KEDA's HandleScalingModifiers + getScaledObjectState):
 *   a trigger beyond its threshold, fallback behavior != scalingModifiers -> composite = target × fallback replicas
 *   any other failure                                                       -> error, not active
 *   otherwise composite = formula(trigger values), nil (fallback behavior scalingModifiers) for
 *   triggers beyond their threshold; a nil result -> target × fallback.replicas
 *   a failed evaluation (NaN or infinite result, budget exceeded) -> a failure of the metric
 *     `composite-metric`, counted in its health like a trigger's: beyond the threshold the
 *     fallback applies (KEDA has no fallback there: the HPA just cannot read the metric);
 *     the entry is dropped on the next success
 *   a negative composite -> 0, as KEDA clamps it (compositeClampedFrom keeps the raw value)
 *   active = composite > activationTarget (or a fallback is in use)
 */
const assessComposite = (
  spec: ScalingSpec,
  modifiers: NonNullable<ScalingSpec['modifiers']>,
  readings: readonly TriggerReading[],
  current: number,
  health: Readonly<Record<string, TriggerHealth>>,
): Assessment => {
  const tolerances = tolerancesOf(spec);
  const values: Record<string, number | null> = {};
  const errors: TriggerFailure[] = [];
  const fallbackTriggers: string[] = [];
  const nilForFallback = spec.fallback?.behavior === 'scalingModifiers';
  for (const r of readings) {
    if (r.ok) values[r.trigger] = r.value;
    else if (spec.fallback !== undefined && isFallingBack(health[r.metricName], spec.fallback)) {
      fallbackTriggers.push(r.trigger);
      values[r.trigger] = null;
    } else errors.push({ trigger: r.trigger, reason: r.reason, message: r.message });
  }
  const base: { health: Readonly<Record<string, TriggerHealth>>; fallbackTriggers: string[] } = {
    health,
    fallbackTriggers,
  };
  const inFallback = (replicas: number): Assessment => ({
    ...base,
    active: true,
    activeTriggers: [COMPOSITE_METRIC],
    proposals: [fallbackProposal(spec, COMPOSITE_METRIC, current, tolerances, replicas)],
    errors: [],
    compositeValue: modifiers.target * replicas,
  });
  const failed = (failures: TriggerFailure[]): Assessment => ({
    ...base,
    active: false,
    activeTriggers: [],
    proposals: [
      {
        ok: false,
        metric: COMPOSITE_METRIC,
        reason: TriggerErrorReason,
        message: failures.map((f) => `${f.trigger}: ${f.message}`).join('; '),
      },
    ],
    errors: failures,
    compositeValue: undefined,
  });
  if (spec.fallback !== undefined && fallbackTriggers.length > 0 && !nilForFallback) {
    return inFallback(fallbackReplicas(spec.fallback, current));
  }
  if (errors.length > 0) return failed(errors);
  const compiled = compiledFormulaFor(
    modifiers.formula,
    readings.map((r) => r.trigger),
  );
  if (!compiled.ok) {
    return failed(
      compiled.error.map((p) => ({
        trigger: COMPOSITE_METRIC,
        reason: TriggerErrorReason,
        message: p.message,
      })),
    );
  }
  const result = compiled.value.evaluate(values);
  if (!result.ok) {
    const composite = health[COMPOSITE_METRIC];
    const counted = {
      ...health,
      [COMPOSITE_METRIC]: {
        numberOfFailures: (composite?.numberOfFailures ?? 0) + 1,
        status: 'Failing' as const,
      },
    };
    if (spec.fallback !== undefined && isFallingBack(counted[COMPOSITE_METRIC], spec.fallback)) {
      const replicas = fallbackReplicas(spec.fallback, current);
      return {
        ...inFallback(replicas),
        health: counted,
        fallbackTriggers: [...fallbackTriggers, COMPOSITE_METRIC],
      };
    }
    return {
      ...failed([{ trigger: COMPOSITE_METRIC, reason: result.reason, message: result.message }]),
      health: counted,
    };
  }
  if (health[COMPOSITE_METRIC] !== undefined) {
    const { [COMPOSITE_METRIC]: _recovered, ...others } = health;
    base.health = others;
  }
  if (result.value === null) {
    if (spec.fallback === undefined) {
      return failed([
        {
          trigger: COMPOSITE_METRIC,
          reason: TriggerErrorReason,
          message: 'formula evaluated to nil and no fallback is set',
        },
      ]);
    }
    return inFallback(spec.fallback.replicas);
  }
  const composite = Math.max(result.value, 0);
  const shown = modifiers.formula.length <= QUOTED_FORMULA_LENGTH ? modifiers.formula : 'formula';
  const count = metricReplicas(
    current,
    { value: composite, target: modifiers.target, metricType: modifiers.metricType },
    tolerances,
  );
  const active = fallbackTriggers.length > 0 || composite > modifiers.activationTarget;
  return {
    ...base,
    active,
    activeTriggers: active ? [COMPOSITE_METRIC] : [],
    proposals: [
      {
        ok: true,
        metric: COMPOSITE_METRIC,
        replicas: count.replicas,
        formula: `${shown} = ${formatNumber(composite)}; ${count.formula}`,
      },
    ],
    errors: [],
    compositeValue: composite,
    ...(result.value < 0 ? { compositeClampedFrom: result.value } : {}),
  };
};

/**
 * Health first (KEDA counts the failure, then compares it with the threshold), then the metrics.
 * `concurrencyCounts` (by trigger key) replace the HPA formula of those triggers.
 */
export const assessTriggers = (
  spec: ScalingSpec,
  readings: readonly TriggerReading[],
  currentReplicas: number,
  previousHealth: Readonly<Record<string, TriggerHealth>>,
  concurrencyCounts: ReadonlyMap<string, ReplicaCount> = new Map(),
): Assessment => {
  const health = nextHealth(previousHealth, readings);
  return spec.modifiers === undefined
    ? assessPerTrigger(spec, readings, currentReplicas, health, concurrencyCounts)
    : assessComposite(spec, spec.modifiers, readings, currentReplicas, health);
};
