// KEDA's executor (pkg/scaling/executor/scale_scaledobjects.go: RequestScale, scaleFromZeroOrIdle,
// scaleToZeroOrIdle, getIdleOrMinimumReplicaCount): activation, cooldown, idle and minimum
// replicas, and the pause annotations. Between 1 and N the HPA computation decides (hpa.ts).
//
// Differences from KEDA, on purpose (to be listed in docs/architecture.md):
// - Any trigger error (not covered by fallback) blocks the scale to idle/zero, also with
//   `fallback.replicas: 0`, where KEDA falls through to scaleToZeroOrIdle (#1850, #965).
// - lastActiveTime moves on every active poll, also when some trigger errors (KEDA leaves it, so a
//   later cooldown may end early).
// - idleReplicaCount > 0 works: at `current <= idle` while inactive the replicas are held (with a
//   real HPA only 0 works, KEDA's docs say so, because the HPA pulls the target back to min).
// - Kept from KEDA: after the cooldown the target jumps straight to idle/min (N -> 0), without the
//   scale-down policies (#7770). While active, 1 <-> N follows `behavior`.
import type { PauseSettings } from '../api/annotations.ts';
import { ScalerActive, ScalerCooldown, ScalerNotActive } from '../api/reasons.ts';
import type { ActiveReason, ScalingSpec, ScalingState } from './types.ts';

export interface Cooldown {
  readonly elapsed: boolean;
  /** Milliseconds until the cooldown ends (0 when elapsed). */
  readonly remainingMs: number;
  /** Whether the clock runs from the last activity or, never active, from creation. */
  readonly from: 'lastActive' | 'creation';
  readonly seconds: number;
}

/**
 * scaleToZeroOrIdle's condition:
 *   elapsed = lastActiveTime + cooldownPeriod < now            (was active)
 *           | createdAt + initialCooldownPeriod < now          (never active)
 */
export const cooldownOf = (spec: ScalingSpec, state: ScalingState, now: number): Cooldown => {
  const fromLastActive = state.lastActiveTime !== undefined;
  const start = state.lastActiveTime ?? state.createdAt;
  const seconds = fromLastActive ? spec.cooldownSeconds : spec.initialCooldownSeconds;
  const end = start + seconds * 1000;
  return {
    elapsed: end < now,
    remainingMs: Math.max(0, end - now),
    from: fromLastActive ? 'lastActive' : 'creation',
    seconds,
  };
};

/** What the executor does in this poll; 'hpa' hands 1 <-> N to the HPA computation. */
export type ExecutorAction =
  | {
      readonly kind: 'activate';
      readonly replicas: number;
      /** Why this many, when not KEDA's max(minReplicaCount, 1) (a concurrency cold start). */
      readonly why?: string;
    }
  | { readonly kind: 'deactivate'; readonly replicas: number }
  | { readonly kind: 'restoreMin'; readonly replicas: number }
  | { readonly kind: 'hpa' }
  | { readonly kind: 'hold'; readonly why: string };

export interface ExecutorStep {
  readonly action: ExecutorAction;
  readonly activeReason: ActiveReason;
  readonly activeMessage: string;
  readonly lastActiveTime: number | undefined;
  readonly cooldown: Cooldown | undefined;
}

export interface ExecutorInput {
  readonly currentReplicas: number;
  readonly active: boolean;
  /** A trigger failed and no fallback covers it. */
  readonly hasError: boolean;
  readonly now: number;
}

// The `Active` condition's messages. Stable texts: a message that changed every poll (seconds
// left, trigger names) would be a status write every poll.
const ACTIVE_MESSAGE = 'Scaling is performed because triggers are active';
export const NOT_ACTIVE_MESSAGE = 'Scaling is not performed because triggers are not active';
const cooldownMessage = (spec: ScalingSpec): string =>
  `Triggers are not active; scaling in after the cooldown period (${spec.cooldownSeconds} s)`;

/** The replicas while idle: getIdleOrMinimumReplicaCount. */
export const idleOrMinimumReplicas = (spec: ScalingSpec): number => spec.idleReplicas ?? spec.minReplicas;

/**
 * RequestScale:
 *   active, current == 0 or (idle mode and current < min) -> max(min, 1)          ('activate')
 *   active otherwise                                       -> HPA                  (lastActiveTime = now)
 *   inactive, trigger error                                -> HPA (only up) / hold  (never to zero)
 *   inactive, (idle mode and current > idle) or (current > 0 and min == 0):
 *       cooldown elapsed -> idle ?? min ('deactivate'); else HPA, Active=False ScalerCooldown
 *   inactive, no idle mode, current < min                  -> min                  ('restoreMin')
 *   inactive otherwise: HPA while current > 0 (and above idle); else hold
 * paused-scale-out blocks the activation, paused-scale-in the deactivation.
 */
export const executorStep = (spec: ScalingSpec, input: ExecutorInput, state: ScalingState): ExecutorStep => {
  const { currentReplicas: current, active, hasError, now } = input;
  const idleMode = spec.idleReplicas !== undefined;
  const { scaleInPaused, scaleOutPaused } = spec.pause;
  if (active) {
    const base: Omit<ExecutorStep, 'action'> = {
      activeReason: ScalerActive,
      activeMessage: ACTIVE_MESSAGE,
      lastActiveTime: now,
      cooldown: undefined,
    };
    if (current === 0 || (idleMode && current < spec.minReplicas)) {
      if (scaleOutPaused)
        return { ...base, action: { kind: 'hold', why: 'paused-scale-out: not activating' } };
      return { ...base, action: { kind: 'activate', replicas: Math.max(spec.minReplicas, 1) } };
    }
    return { ...base, action: { kind: 'hpa' } };
  }
  const inactive: Omit<ExecutorStep, 'action' | 'cooldown'> = {
    activeReason: ScalerNotActive,
    activeMessage: NOT_ACTIVE_MESSAGE,
    lastActiveTime: state.lastActiveTime,
  };
  const hpaOrHold: ExecutorAction =
    current === 0
      ? { kind: 'hold', why: 'inactive at 0 replicas' }
      : idleMode && current <= (spec.idleReplicas ?? 0)
        ? { kind: 'hold', why: `inactive at idleReplicaCount ${spec.idleReplicas}` }
        : { kind: 'hpa' };
  if (hasError) return { ...inactive, cooldown: undefined, action: hpaOrHold };
  const aboveIdle = idleMode ? current > (spec.idleReplicas ?? 0) : current > 0 && spec.minReplicas === 0;
  if (aboveIdle) {
    const cooldown = cooldownOf(spec, state, now);
    if (!cooldown.elapsed) {
      return {
        activeReason: ScalerCooldown,
        activeMessage: cooldownMessage(spec),
        lastActiveTime: state.lastActiveTime,
        cooldown,
        action: { kind: 'hpa' },
      };
    }
    if (scaleInPaused) return { ...inactive, cooldown, action: { kind: 'hpa' } };
    return { ...inactive, cooldown, action: { kind: 'deactivate', replicas: idleOrMinimumReplicas(spec) } };
  }
  if (!idleMode && current < spec.minReplicas) {
    return { ...inactive, cooldown: undefined, action: { kind: 'restoreMin', replicas: spec.minReplicas } };
  }
  return { ...inactive, cooldown: undefined, action: hpaOrHold };
};

/**
 * The pause annotations that keep polling:
 *   paused-scale-in  -> never below current (including 1 -> 0)
 *   paused-scale-out -> never above current (including 0 -> 1)
 */
export const applyScalePauses = (pause: PauseSettings, current: number, desired: number): number => {
  let replicas = desired;
  if (pause.scaleInPaused && replicas < current) replicas = current;
  if (pause.scaleOutPaused && replicas > current) replicas = current;
  return replicas;
};

/** Whatever ebb writes stays within [0, maxReplicas]. */
export const clampReplicas = (replicas: number, maxReplicas: number): number =>
  Math.max(0, Math.min(maxReplicas, replicas));
