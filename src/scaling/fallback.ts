// KEDA's fallback (pkg/fallback/fallback.go): per-metric health, the failure threshold, and the
// replicas a failing trigger stands for.
//
// Differences from KEDA, on purpose:
// - numberOfFailures counts failed polls. KEDA also counts the HPA's metric reads, so its counter
//   moves up to twice per polling interval.
// - A trigger in fallback makes the ScaledObject active in every mode (KEDA does so without a
//   formula; with a formula it recomputes activity from the fallback's composite value, so
//   `fallback.replicas: 0` could scale the target to zero). A failing trigger never scales to zero.
import type { FallbackBehavior } from '../api/scaledobject.ts';
import type { MetricSample } from './replicas.ts';
import type { TriggerHealth, TriggerReading } from './types.ts';

export interface FallbackSpec {
  readonly failureThreshold: number;
  readonly replicas: number;
  readonly behavior: FallbackBehavior;
}

export const HAPPY: Readonly<TriggerHealth> = { numberOfFailures: 0, status: 'Happy' };

/**
 * GetMetricsWithFallback's bookkeeping, keyed by metric name:
 *   success -> { numberOfFailures: 0, status: Happy }
 *   failure -> { numberOfFailures: previous + 1, status: Failing }
 * Health is tracked with or without a fallback, as KEDA does (its fallback test "should return the
 * expected metric when fallback is disabled" still expects the status patch). Entries of metrics
 * not read in this poll are kept.
 */
export const nextHealth = (
  previous: Readonly<Record<string, TriggerHealth>>,
  readings: readonly TriggerReading[],
): Readonly<Record<string, TriggerHealth>> => {
  const next: Record<string, TriggerHealth> = { ...previous };
  for (const r of readings) {
    next[r.metricName] = r.ok
      ? HAPPY
      : { numberOfFailures: (previous[r.metricName]?.numberOfFailures ?? 0) + 1, status: 'Failing' };
  }
  return next;
};

/** fallbackExceededThreshold for one metric: Failing and numberOfFailures > failureThreshold. */
export const isFallingBack = (
  health: TriggerHealth | undefined,
  fallback: FallbackSpec | undefined,
): boolean =>
  fallback !== undefined &&
  health !== undefined &&
  health.status === 'Failing' &&
  health.numberOfFailures > fallback.failureThreshold;

/**
 * doFallback's replica count:
 *   static                  -> fallback.replicas
 *   currentReplicas         -> current
 *   currentReplicasIfHigher -> max(current, fallback.replicas)
 *   currentReplicasIfLower  -> min(current, fallback.replicas)
 *   scalingModifiers        -> fallback.replicas (used when the formula evaluates to nil)
 */
export const fallbackReplicas = (fallback: FallbackSpec, currentReplicas: number): number => {
  switch (fallback.behavior) {
    case 'currentReplicas':
      return currentReplicas;
    case 'currentReplicasIfHigher':
      return Math.max(currentReplicas, fallback.replicas);
    case 'currentReplicasIfLower':
      return Math.min(currentReplicas, fallback.replicas);
    default:
      return fallback.replicas;
  }
};

/**
 * KEDA serves a falling-back metric as target × replicas (AverageValue) or target × replicas / ready
 * (Value); the HPA turns either back into `replicas`, unless replicas / current is within the
 * tolerance. So the fallback's proposal is the per-pod formula with usage = replicas, target = 1.
 */
export const fallbackSample = (replicas: number): MetricSample => ({
  value: replicas,
  target: 1,
  metricType: 'AverageValue',
});
