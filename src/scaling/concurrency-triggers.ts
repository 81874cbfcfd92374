// The concurrency triggers in decide(): an http trigger in concurrency mode (a reading with
// `concurrency` set) gets its replicas from Knative's stable/panic windows (concurrency.ts)
// instead of the HPA formula, and a cold start it causes wakes enough replicas for what is held
// in one decision. The result still goes through the max over triggers and the HPA `behavior`.
import {
  type ConcurrencyState,
  concurrencyRecommendation,
  DEFAULT_PANIC_THRESHOLD,
  DEFAULT_PANIC_WINDOW_MS,
  DEFAULT_STABLE_WINDOW_MS,
} from './concurrency.ts';
import { formatNumber, MAX_REPLICA_COUNT, type ReplicaCount, toMilli } from './replicas.ts';
import type { ScalingSpec, TriggerReading } from './types.ts';

export type ConcurrencyStates = Readonly<Record<string, ConcurrencyState>>;

export interface ConcurrencyWindows {
  /** Replicas per concurrency trigger (by trigger key), replacing its HPA formula. */
  readonly counts: ReadonlyMap<string, ReplicaCount>;
  /** The windows after this poll's samples: only triggers still present keep theirs. */
  readonly states: ConcurrencyStates;
}

/**
 * One sample per concurrency trigger per poll, Knative's defaults (stable 60 s, panic 6 s,
 * panic at 2× the current replicas):
 *   ok reading with `concurrency`     -> sample = value; replicas = the windows' recommendation
 *   failed reading                    -> no sample; its windows are kept as they were
 *   any other reading, or none        -> its windows are dropped
 * With scalingModifiers the composite metric decides (the HPA formula); no windows are kept.
 */
export const concurrencyWindows = (
  spec: Pick<ScalingSpec, 'modifiers'>,
  readings: readonly TriggerReading[],
  currentReplicas: number,
  now: number,
  previous: ConcurrencyStates,
): ConcurrencyWindows => {
  const counts = new Map<string, ReplicaCount>();
  const states: Record<string, ConcurrencyState> = {};
  if (spec.modifiers !== undefined) return { counts, states };
  for (const r of readings) {
    if (!r.ok) {
      const kept = previous[r.trigger];
      if (kept !== undefined) states[r.trigger] = kept;
      continue;
    }
    if (r.concurrency === undefined) continue;
    const recommendation = concurrencyRecommendation(
      previous[r.trigger],
      { now, concurrency: r.value },
      {
        targetPerReplica: r.concurrency.targetPerReplica,
        stableWindowMs: DEFAULT_STABLE_WINDOW_MS,
        panicWindowMs: DEFAULT_PANIC_WINDOW_MS,
        panicThreshold: DEFAULT_PANIC_THRESHOLD,
        currentReplicas,
      },
    );
    counts.set(r.trigger, {
      replicas: Math.min(MAX_REPLICA_COUNT, recommendation.desiredReplicas),
      formula: `concurrency ${recommendation.explanation}`,
    });
    states[r.trigger] = recommendation.state;
  }
  return { counts, states };
};

export interface ColdStart {
  readonly replicas: number;
  /** "ceil(1000 / 100) = 10 (web)" — replaces "max(minReplicaCount, 1)" in the explanation. */
  readonly why: string;
  /** The windows with the cold start recorded as a panic (see coldStart). */
  readonly states: ConcurrencyStates;
}

/** ceil(value / target) in milli-units, as the HPA formula counts (no float artifacts). */
const replicasFor = (value: number, target: number): number =>
  Math.min(MAX_REPLICA_COUNT, Math.ceil(toMilli(value) / toMilli(target)));

/**
 * An activation (KEDA's scaleFromZeroOrIdle) caused by concurrency triggers wakes what they hold:
 *   need     = max over the active concurrency triggers of ceil(concurrency / targetPerReplica)
 *   replicas = min(maxReplicas, max(max(minReplicas, 1), need))
 * so one scale write serves 1,000 held requests. A trigger whose own need reaches the panic
 * threshold (2× the one replica counted at zero) starts its panic here with that need, so the
 * next polls, whose windows still hold the idle seconds before the burst, do not scale it back.
 * undefined when no active trigger scales on concurrency: KEDA's max(minReplicas, 1) applies.
 */
export const coldStart = (
  spec: Pick<ScalingSpec, 'minReplicas' | 'maxReplicas'>,
  readings: readonly TriggerReading[],
  activeTriggers: readonly string[],
  currentReplicas: number,
  now: number,
  states: ConcurrencyStates,
): ColdStart | undefined => {
  const active = new Set(activeTriggers);
  const needs: { trigger: string; value: number; target: number; replicas: number }[] = [];
  for (const r of readings) {
    if (!r.ok || r.concurrency === undefined || !active.has(r.trigger)) continue;
    const target = r.concurrency.targetPerReplica;
    needs.push({ trigger: r.trigger, value: r.value, target, replicas: replicasFor(r.value, target) });
  }
  const top = needs.reduce<(typeof needs)[number] | undefined>(
    (best, n) => (best === undefined || n.replicas > best.replicas ? n : best),
    undefined,
  );
  if (top === undefined) return undefined;
  const floor = Math.max(spec.minReplicas, 1);
  const replicas = Math.min(spec.maxReplicas, Math.max(floor, top.replicas));
  const ready = Math.max(1, currentReplicas);
  const seeded: Record<string, ConcurrencyState> = { ...states };
  for (const n of needs) {
    const state = states[n.trigger];
    if (state === undefined || n.replicas / ready < DEFAULT_PANIC_THRESHOLD) continue;
    const need = Math.min(spec.maxReplicas, n.replicas);
    seeded[n.trigger] = {
      ...state,
      panicTime: now,
      maxPanicReplicas: Math.max(state.maxPanicReplicas, need),
    };
  }
  let why = `ceil(${formatNumber(top.value)} / ${formatNumber(top.target)}) = ${top.replicas} (${top.trigger})`;
  if (top.replicas < floor) why += `, max(minReplicaCount, 1) = ${floor}`;
  if (top.replicas > spec.maxReplicas) why += `, capped at maxReplicaCount ${spec.maxReplicas}`;
  return { replicas, why, states: seeded };
};
