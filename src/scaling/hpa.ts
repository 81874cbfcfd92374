// The HPA's reconcile step, pure (kubernetes horizontal.go: reconcileAutoscaler from
// recordInitialRecommendation to normalizeDesiredReplicasWithBehaviors). It runs once per poll
// here (the HPA runs every 15 s); the caller records the scale event once it knows what is applied.

import type { LimitReason, StabilizationReason } from './behavior.ts';
import {
  type BehaviorHistory,
  normalizeDesiredReplicasWithBehaviors,
  recordInitialRecommendation,
} from './behavior.ts';
import {
  formatNumber,
  type MetricProposal,
  type MetricsRecommendation,
  replicasForMetrics,
} from './replicas.ts';
import type { ScalingRules } from './types.ts';

export interface HpaSpec {
  /** The HPA's minReplicas: KEDA's GetHPAMinReplicas, max(minReplicaCount, 1). */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

export type HpaOutcome =
  /** currentReplicas == 0 and minReplicas != 0: the HPA does not scale ("ScalingDisabled"). */
  | { readonly kind: 'ScalingDisabled'; readonly desiredReplicas: number }
  /** "Current number of replicas above Spec.MaxReplicas". */
  | { readonly kind: 'AboveMax'; readonly desiredReplicas: number }
  /** "Current number of replicas below Spec.MinReplicas". */
  | { readonly kind: 'BelowMin'; readonly desiredReplicas: number }
  /** computeReplicasForMetrics returned no recommendation: keep the current replicas. */
  | {
      readonly kind: 'InvalidMetrics';
      readonly desiredReplicas: number;
      readonly metrics: Extract<MetricsRecommendation, { ok: false }>;
    }
  | {
      readonly kind: 'Metrics';
      readonly desiredReplicas: number;
      readonly metrics: Extract<MetricsRecommendation, { ok: true }>;
      readonly stabilized: number;
      readonly stabilizationReason: StabilizationReason;
      readonly limitReason: LimitReason;
    };

export interface HpaStep {
  readonly outcome: HpaOutcome;
  readonly history: BehaviorHistory;
}

/**
 * reconcileAutoscaler's decision:
 *   current == 0 (min >= 1)  -> no change
 *   current > max            -> max
 *   current < min            -> min
 *   otherwise                -> normalizeDesiredReplicasWithBehaviors(max over metric proposals),
 *                               or no change when the metrics give no recommendation.
 */
export const reconcileHpa = (
  spec: HpaSpec,
  currentReplicas: number,
  proposals: readonly MetricProposal[],
  history: BehaviorHistory,
  now: number,
): HpaStep => {
  const seeded: BehaviorHistory = {
    ...history,
    recommendations: recordInitialRecommendation(history.recommendations, currentReplicas, now),
  };
  if (currentReplicas === 0 && spec.minReplicas !== 0) {
    return { outcome: { kind: 'ScalingDisabled', desiredReplicas: 0 }, history: seeded };
  }
  if (currentReplicas > spec.maxReplicas) {
    return { outcome: { kind: 'AboveMax', desiredReplicas: spec.maxReplicas }, history: seeded };
  }
  if (currentReplicas < spec.minReplicas) {
    return { outcome: { kind: 'BelowMin', desiredReplicas: spec.minReplicas }, history: seeded };
  }
  const metrics = replicasForMetrics(currentReplicas, proposals);
  if (!metrics.ok) {
    return {
      outcome: { kind: 'InvalidMetrics', desiredReplicas: currentReplicas, metrics },
      history: seeded,
    };
  }
  const normalized = normalizeDesiredReplicasWithBehaviors(
    {
      scaleUp: spec.scaleUp,
      scaleDown: spec.scaleDown,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      currentReplicas,
      desiredReplicas: Math.max(0, metrics.replicas),
      now,
    },
    seeded,
  );
  return {
    outcome: {
      kind: 'Metrics',
      desiredReplicas: normalized.replicas,
      metrics,
      stabilized: normalized.stabilized,
      stabilizationReason: normalized.stabilizationReason,
      limitReason: normalized.limitReason,
    },
    history: { ...seeded, recommendations: normalized.recommendations },
  };
};

const LIMIT_TEXT: Readonly<Record<LimitReason, string>> = {
  ScaleUpLimit: 'scale-up rate limit',
  TooManyReplicas: 'maxReplicaCount',
  ScaleDownLimit: 'scale-down rate limit',
  TooFewReplicas: 'minimum replicas',
  DesiredWithinRange: '',
};

/** One human line on the HPA step: "ceil(12 / 5) = 3 (orders); stabilized at 5 (...)". */
export const explainHpa = (outcome: HpaOutcome, currentReplicas: number, spec: HpaSpec): string => {
  switch (outcome.kind) {
    case 'ScalingDisabled':
      return 'at 0 replicas the HPA computation waits for activation';
    case 'AboveMax':
      return `${currentReplicas} replicas above maxReplicaCount, ${currentReplicas} → ${spec.maxReplicas}`;
    case 'BelowMin':
      return `${currentReplicas} replicas below the minimum ${spec.minReplicas}, ${currentReplicas} → ${spec.minReplicas}`;
    case 'InvalidMetrics': {
      const { invalid, total, replicas } = outcome.metrics;
      const failed = invalid.map((p) => p.metric).join(', ');
      if (invalid.length >= total) {
        return total === 0
          ? 'no metrics; keeping the replicas'
          : `no valid metric (${failed} failed); keeping ${currentReplicas}`;
      }
      return `${failed} failed and the valid metrics ask for ${formatNumber(replicas ?? 0)} < ${currentReplicas}; only a scale-up is allowed, keeping ${currentReplicas}`;
    }
    case 'Metrics': {
      const { metrics, stabilized, limitReason, desiredReplicas } = outcome;
      const parts = [`${metrics.formula} (${metrics.metric})`];
      if (metrics.invalid.length > 0) parts.push(`${metrics.invalid.map((p) => p.metric).join(', ')} failed`);
      if (stabilized !== Math.max(0, metrics.replicas)) {
        const window =
          outcome.stabilizationReason === 'ScaleDownStabilized'
            ? spec.scaleDown.stabilizationWindowSeconds
            : spec.scaleUp.stabilizationWindowSeconds;
        const direction = outcome.stabilizationReason === 'ScaleDownStabilized' ? 'scale-down' : 'scale-up';
        parts.push(`stabilized at ${stabilized} (${direction} window ${window} s)`);
      }
      if (limitReason !== 'DesiredWithinRange')
        parts.push(`limited to ${desiredReplicas} by the ${LIMIT_TEXT[limitReason]}`);
      parts.push(`${currentReplicas} → ${desiredReplicas}`);
      return parts.join('; ');
    }
  }
};
