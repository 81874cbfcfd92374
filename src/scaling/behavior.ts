// autoscaling/v2 `behavior`, as the HPA controller applies it
// (kubernetes pkg/controller/podautoscaler/horizontal.go): stabilization windows over past
// recommendations, rate policies over past scale events, the min/max clamps, and the bookkeeping
// of both histories. Each function names its upstream counterpart and mirrors it line by line;
// time is `now` (ms since the epoch) instead of time.Now(), and histories are returned, not mutated.
//
// Time comparisons keep Go's strictness: "After(cutoff)" is `time > cutoff`, "Before(cutoff)" is
// `time < cutoff`; an entry exactly at the cutoff is neither.
import type { ScalingRules, ScalingState, TimedValue } from './types.ts';

const MAX_INT32 = 2_147_483_647;
const MIN_INT32 = -2_147_483_648;

/** The three histories the HPA keeps per autoscaler (in memory upstream, in ScalingState here). */
export type BehaviorHistory = Pick<ScalingState, 'recommendations' | 'scaleUpEvents' | 'scaleDownEvents'>;

/** NormalizationArg. */
export interface NormalizationArgs {
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly now: number;
}

export type StabilizationReason = 'ScaleUpStabilized' | 'ScaleDownStabilized';
export type LimitReason =
  | 'ScaleUpLimit'
  | 'TooManyReplicas'
  | 'ScaleDownLimit'
  | 'TooFewReplicas'
  | 'DesiredWithinRange';

/**
 * recordInitialRecommendation: the first reconcile seeds the recommendations with the current
 * replicas, so that a fresh autoscaler does not scale down before a full stabilization window.
 */
export const recordInitialRecommendation = (
  recommendations: readonly TimedValue[],
  currentReplicas: number,
  now: number,
): readonly TimedValue[] =>
  recommendations.length === 0 ? [{ time: now, value: currentReplicas }] : recommendations;

/** getReplicasChangePerPeriod: sum of the changes of events after (now - periodSeconds). */
export const getReplicasChangePerPeriod = (
  periodSeconds: number,
  events: readonly TimedValue[],
  now: number,
): number => {
  const cutoff = now - periodSeconds * 1000;
  let replicas = 0;
  for (const e of events) if (e.time > cutoff) replicas += e.value;
  return replicas;
};

/**
 * calculateScaleUpLimitWithScalingRules: per policy,
 *   periodStart = current - added(period) + deleted(period)
 *   Pods:    periodStart + value
 *   Percent: ceil(periodStart * (1 + value / 100))
 * then Max (default) or Min over the policies; Disabled: current.
 */
export const calculateScaleUpLimitWithScalingRules = (
  currentReplicas: number,
  scaleUpEvents: readonly TimedValue[],
  scaleDownEvents: readonly TimedValue[],
  rules: ScalingRules,
  now: number,
): number => {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  const pickMin = rules.selectPolicy === 'Min';
  let result = pickMin ? MAX_INT32 : MIN_INT32;
  for (const policy of rules.policies) {
    const added = getReplicasChangePerPeriod(policy.periodSeconds, scaleUpEvents, now);
    const deleted = getReplicasChangePerPeriod(policy.periodSeconds, scaleDownEvents, now);
    const periodStartReplicas = currentReplicas - added + deleted;
    const proposed =
      policy.type === 'Pods'
        ? periodStartReplicas + policy.value
        : Math.ceil(periodStartReplicas * (1 + policy.value / 100));
    result = pickMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
};

/**
 * calculateScaleDownLimitWithBehaviors: per policy,
 *   periodStart = current - added(period) + deleted(period)
 *   Pods:    periodStart - value
 *   Percent: trunc(periodStart * (1 - value / 100))
 * then the largest drop: Min over proposals for Max (default), Max for Min; Disabled: current.
 */
export const calculateScaleDownLimitWithBehaviors = (
  currentReplicas: number,
  scaleUpEvents: readonly TimedValue[],
  scaleDownEvents: readonly TimedValue[],
  rules: ScalingRules,
  now: number,
): number => {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  const pickMax = rules.selectPolicy === 'Min';
  let result = pickMax ? MIN_INT32 : MAX_INT32;
  for (const policy of rules.policies) {
    const added = getReplicasChangePerPeriod(policy.periodSeconds, scaleUpEvents, now);
    const deleted = getReplicasChangePerPeriod(policy.periodSeconds, scaleDownEvents, now);
    const periodStartReplicas = currentReplicas - added + deleted;
    const proposed =
      policy.type === 'Pods'
        ? periodStartReplicas - policy.value
        : Math.trunc(periodStartReplicas * (1 - policy.value / 100));
    result = pickMax ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
};

export interface Stabilization {
  readonly recommendation: number;
  readonly reason: StabilizationReason;
  readonly recommendations: readonly TimedValue[];
}

/**
 * stabilizeRecommendationWithBehaviors:
 *   up   = min(desired, recommendations newer than now - scaleUp.window)
 *   down = max(desired, recommendations newer than now - scaleDown.window)
 *   recommendation = clamp(current, up, down)  (raised to `up`, then lowered to `down`)
 * and records the unstabilized `desired`, reusing the last entry older than both windows.
 */
export const stabilizeRecommendationWithBehaviors = (
  args: NormalizationArgs,
  recommendations: readonly TimedValue[],
): Stabilization => {
  const { now, desiredReplicas } = args;
  const upCutoff = now - args.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - args.scaleDown.stabilizationWindowSeconds * 1000;
  let upRecommendation = desiredReplicas;
  let downRecommendation = desiredReplicas;
  let oldSampleIndex = -1;
  recommendations.forEach((rec, i) => {
    if (rec.time > upCutoff) upRecommendation = Math.min(rec.value, upRecommendation);
    if (rec.time > downCutoff) downRecommendation = Math.max(rec.value, downRecommendation);
    if (rec.time < upCutoff && rec.time < downCutoff) oldSampleIndex = i;
  });
  let recommendation = args.currentReplicas;
  if (recommendation < upRecommendation) recommendation = upRecommendation;
  if (recommendation > downRecommendation) recommendation = downRecommendation;
  const entry: TimedValue = { time: now, value: desiredReplicas };
  const next =
    oldSampleIndex >= 0
      ? recommendations.map((r, i) => (i === oldSampleIndex ? entry : r))
      : [...recommendations, entry];
  const reason: StabilizationReason =
    desiredReplicas >= args.currentReplicas ? 'ScaleUpStabilized' : 'ScaleDownStabilized';
  return { recommendation, reason, recommendations: next };
};

export interface RateLimited {
  readonly replicas: number;
  readonly reason: LimitReason;
}

/**
 * convertDesiredReplicasWithBehaviorRate:
 *   up:   limit = max(current, scaleUpLimit); allowed = min(maxReplicas, limit); desired <= allowed
 *   down: limit = min(current, scaleDownLimit); allowed = max(minReplicas, limit); desired >= allowed
 * (stabilization is applied before, separately).
 */
export const convertDesiredReplicasWithBehaviorRate = (
  args: NormalizationArgs,
  history: Pick<BehaviorHistory, 'scaleUpEvents' | 'scaleDownEvents'>,
): RateLimited => {
  const { currentReplicas, desiredReplicas, now } = args;
  if (desiredReplicas > currentReplicas) {
    let scaleUpLimit = calculateScaleUpLimitWithScalingRules(
      currentReplicas,
      history.scaleUpEvents,
      history.scaleDownEvents,
      args.scaleUp,
      now,
    );
    // We shouldn't scale up further until the scaleUpEvents are cleaned up.
    if (scaleUpLimit < currentReplicas) scaleUpLimit = currentReplicas;
    let maximumAllowedReplicas = args.maxReplicas;
    let reason: LimitReason = 'TooManyReplicas';
    if (maximumAllowedReplicas > scaleUpLimit) {
      maximumAllowedReplicas = scaleUpLimit;
      reason = 'ScaleUpLimit';
    }
    if (desiredReplicas > maximumAllowedReplicas) return { replicas: maximumAllowedReplicas, reason };
  } else if (desiredReplicas < currentReplicas) {
    let scaleDownLimit = calculateScaleDownLimitWithBehaviors(
      currentReplicas,
      history.scaleUpEvents,
      history.scaleDownEvents,
      args.scaleDown,
      now,
    );
    // We shouldn't scale down further until the scaleDownEvents are cleaned up.
    if (scaleDownLimit > currentReplicas) scaleDownLimit = currentReplicas;
    let minimumAllowedReplicas = args.minReplicas;
    let reason: LimitReason = 'TooFewReplicas';
    if (minimumAllowedReplicas < scaleDownLimit) {
      minimumAllowedReplicas = scaleDownLimit;
      reason = 'ScaleDownLimit';
    }
    if (desiredReplicas < minimumAllowedReplicas) return { replicas: minimumAllowedReplicas, reason };
  }
  return { replicas: desiredReplicas, reason: 'DesiredWithinRange' };
};

export interface Normalized {
  readonly replicas: number;
  /** The stabilized recommendation, before the rate limits. */
  readonly stabilized: number;
  readonly stabilizationReason: StabilizationReason;
  readonly limitReason: LimitReason;
  readonly recommendations: readonly TimedValue[];
}

/**
 * normalizeDesiredReplicasWithBehaviors: stabilize (windows), then limit the rate (policies) and
 * clamp to [minReplicas, maxReplicas] in the direction of the change.
 */
export const normalizeDesiredReplicasWithBehaviors = (
  args: NormalizationArgs,
  history: BehaviorHistory,
): Normalized => {
  const stabilization = stabilizeRecommendationWithBehaviors(args, history.recommendations);
  const limited = convertDesiredReplicasWithBehaviorRate(
    { ...args, desiredReplicas: stabilization.recommendation },
    history,
  );
  return {
    replicas: limited.replicas,
    stabilized: stabilization.recommendation,
    stabilizationReason: stabilization.reason,
    limitReason: limited.reason,
    recommendations: stabilization.recommendations,
  };
};

/** getLongestPolicyPeriod. */
export const getLongestPolicyPeriod = (rules: ScalingRules): number =>
  rules.policies.reduce((longest, p) => Math.max(p.periodSeconds, longest), 0);

/**
 * The last event older than the longest policy period (markScaleEventsOutdated marks them all;
 * storeScaleEvent reuses the last marked one). Outdated events stay until reused, as upstream.
 */
const lastOutdatedIndex = (
  events: readonly TimedValue[],
  longestPeriodSeconds: number,
  now: number,
): number => {
  const cutoff = now - longestPeriodSeconds * 1000;
  let index = -1;
  events.forEach((e, i) => {
    if (e.time < cutoff) index = i;
  });
  return index;
};

const storeInto = (
  events: readonly TimedValue[],
  entry: TimedValue,
  rules: ScalingRules,
): readonly TimedValue[] => {
  const index = lastOutdatedIndex(events, getLongestPolicyPeriod(rules), entry.time);
  return index >= 0 ? events.map((e, i) => (i === index ? entry : e)) : [...events, entry];
};

/**
 * storeScaleEvent: records |new - prev| as a scale-up or scale-down event at `now`, replacing the
 * last event older than the direction's longest policy period, else appending. (Upstream skips
 * this when the HPA has no behavior; ebb's spec always has one, defaults filled in.)
 */
export const storeScaleEvent = (
  rules: { readonly scaleUp: ScalingRules; readonly scaleDown: ScalingRules },
  history: Pick<BehaviorHistory, 'scaleUpEvents' | 'scaleDownEvents'>,
  prevReplicas: number,
  newReplicas: number,
  now: number,
): Pick<BehaviorHistory, 'scaleUpEvents' | 'scaleDownEvents'> =>
  newReplicas > prevReplicas
    ? {
        scaleUpEvents: storeInto(
          history.scaleUpEvents,
          { time: now, value: newReplicas - prevReplicas },
          rules.scaleUp,
        ),
        scaleDownEvents: history.scaleDownEvents,
      }
    : {
        scaleUpEvents: history.scaleUpEvents,
        scaleDownEvents: storeInto(
          history.scaleDownEvents,
          { time: now, value: prevReplicas - newReplicas },
          rules.scaleDown,
        ),
      };
