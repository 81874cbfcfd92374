// Metric -> replicas, as the HPA computes it for External metrics
// (kubernetes pkg/controller/podautoscaler/replica_calculator.go: GetExternalPerPodMetricReplicas,
// GetExternalMetricReplicas + getUsageRatioReplicaCount, Tolerances.isWithin) and the maximum over
// metrics (horizontal.go: computeReplicasForMetrics).
//
// Differences from the HPA, on purpose:
// - Values and targets are taken in milli-units rounded to the nearest milli (the HPA reads them
//   as quantities' MilliValue; KEDA truncates when it writes them). Integers in milli-units also
//   keep ceil() free of float artifacts: ceil(1.1 / 0.1) is 11, not 12.
// - Value targets: ceil(usage * current / target) instead of ceil((usage / target) * current), for
//   the same reason. Every replica counts as ready: the HPA counts ready pods, the core sees only
//   the replica count of /scale.
// - current = 0 (the HPA never runs at 0 unless HPAScaleToZero): AverageValue gives
//   usageRatio = usage / 0 = +Inf (NaN for usage 0), which is never within tolerance, so the
//   result is ceil(usage / target) — the natural answer. Value uses upstream's scale-to-zero branch
//   of getUsageRatioReplicaCount: ceil(usage / target).
import type { ReadErrorReason } from '../api/reasons.ts';
import type { ScalingSpec } from './types.ts';

/** The HPA caps every proposal at MaxInt32. */
export const MAX_REPLICA_COUNT = 2_147_483_647;

export interface Tolerances {
  readonly scaleUp: number;
  readonly scaleDown: number;
}

/** Tolerances as the controller reads them: behavior.scaleUp.tolerance / scaleDown.tolerance. */
export const tolerancesOf = (spec: Pick<ScalingSpec, 'scaleUp' | 'scaleDown'>): Tolerances => ({
  scaleUp: spec.scaleUp.tolerance,
  scaleDown: spec.scaleDown.tolerance,
});

/** Tolerances.isWithin: (1 - scaleDown) <= usageRatio <= (1 + scaleUp). */
export const isWithinTolerance = (usageRatio: number, t: Tolerances): boolean =>
  1.0 - t.scaleDown <= usageRatio && usageRatio <= 1.0 + t.scaleUp;

/** A quantity's milli-value (rounded to the nearest milli). */
export const toMilli = (value: number): number => Math.round(value * 1000);

const capped = (replicas: number): number =>
  Number.isNaN(replicas) ? 0 : Math.max(0, Math.min(MAX_REPLICA_COUNT, replicas));

/** 12, 0.5, 1.234 — at most three decimals, for explanations. */
export const formatNumber = (n: number): string =>
  Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : String(n);

export interface MetricSample {
  readonly value: number;
  readonly target: number;
  readonly metricType: 'AverageValue' | 'Value';
}

export interface ReplicaCount {
  readonly replicas: number;
  /** The arithmetic in one line: "ceil(12 / 5) = 3". */
  readonly formula: string;
}

/**
 * GetExternalPerPodMetricReplicas (target type AverageValue):
 *   usageRatio = usage / (target * current)
 *   replicas   = current                 while (1 - tolDown) <= usageRatio <= (1 + tolUp)
 *              = ceil(usage / target)    otherwise (capped at MaxInt32)
 */
export const perPodMetricReplicas = (
  current: number,
  usage: number,
  target: number,
  tolerances: Tolerances,
): ReplicaCount => {
  const usageMilli = toMilli(usage);
  const targetMilli = toMilli(target);
  const usageRatio = usageMilli / (targetMilli * current);
  if (isWithinTolerance(usageRatio, tolerances)) {
    return {
      replicas: current,
      formula: `${formatNumber(usage)} / (${formatNumber(target)} × ${current}) = ${formatNumber(usageRatio)} within tolerance → ${current}`,
    };
  }
  const replicas = capped(Math.ceil(usageMilli / targetMilli));
  return { replicas, formula: `ceil(${formatNumber(usage)} / ${formatNumber(target)}) = ${replicas}` };
};

/**
 * GetExternalMetricReplicas -> getUsageRatioReplicaCount (target type Value):
 *   usageRatio = usage / target
 *   current > 0: replicas = current                          while within tolerance
 *                         = ceil(usage * current / target)   otherwise (capped at MaxInt32)
 *   current = 0: replicas = ceil(usageRatio)                 (upstream's scale-to-zero branch)
 */
export const valueMetricReplicas = (
  current: number,
  usage: number,
  target: number,
  tolerances: Tolerances,
): ReplicaCount => {
  const usageMilli = toMilli(usage);
  const targetMilli = toMilli(target);
  const usageRatio = usageMilli / targetMilli;
  if (current === 0) {
    const replicas = capped(Math.ceil(usageRatio));
    return { replicas, formula: `ceil(${formatNumber(usage)} / ${formatNumber(target)}) = ${replicas}` };
  }
  if (isWithinTolerance(usageRatio, tolerances)) {
    return {
      replicas: current,
      formula: `${formatNumber(usage)} / ${formatNumber(target)} = ${formatNumber(usageRatio)} within tolerance → ${current}`,
    };
  }
  const replicas = capped(Math.ceil((usageMilli * current) / targetMilli));
  return {
    replicas,
    formula: `ceil(${formatNumber(usage)} × ${current} / ${formatNumber(target)}) = ${replicas}`,
  };
};

/** One metric's recommendation, by its target type. */
export const metricReplicas = (
  current: number,
  sample: MetricSample,
  tolerances: Tolerances,
): ReplicaCount =>
  sample.metricType === 'AverageValue'
    ? perPodMetricReplicas(current, sample.value, sample.target, tolerances)
    : valueMetricReplicas(current, sample.value, sample.target, tolerances);

/** What one metric (trigger, composite formula or fallback) proposes to the HPA computation. */
export type MetricProposal =
  | { readonly ok: true; readonly metric: string; readonly replicas: number; readonly formula: string }
  | {
      readonly ok: false;
      readonly metric: string;
      readonly reason: ReadErrorReason;
      readonly message: string;
    };

export type MetricsRecommendation =
  | {
      readonly ok: true;
      readonly replicas: number;
      /** The metric that set the maximum (the HPA's `metric` return value). */
      readonly metric: string;
      readonly formula: string;
      /** Metrics that failed; the valid ones still allowed this recommendation (a scale-up). */
      readonly invalid: readonly MetricProposal[];
    }
  | {
      readonly ok: false;
      /** The maximum over the valid metrics, if any (reported, not applied). */
      readonly replicas: number | undefined;
      readonly invalid: readonly MetricProposal[];
      readonly total: number;
    };

/**
 * computeReplicasForMetrics:
 *   replicas = max over valid metrics (the first metric reaching it names it)
 *   no recommendation when every metric is invalid, or when some are invalid and
 *   replicas < current ("if some metrics are invalid, only a scale-up from the valid ones").
 */
export const replicasForMetrics = (
  current: number,
  proposals: readonly MetricProposal[],
): MetricsRecommendation => {
  let best: Extract<MetricProposal, { ok: true }> | undefined;
  const invalid: MetricProposal[] = [];
  for (const p of proposals) {
    if (!p.ok) {
      invalid.push(p);
      continue;
    }
    if (best === undefined || best.replicas === 0 || p.replicas > best.replicas) best = p;
  }
  const replicas = best?.replicas ?? 0;
  if (
    best === undefined ||
    invalid.length >= proposals.length ||
    (invalid.length > 0 && replicas < current)
  ) {
    return { ok: false, replicas: best?.replicas, invalid, total: proposals.length };
  }
  return { ok: true, replicas, metric: best.metric, formula: best.formula, invalid };
};
