// The scaling core's contract: spec in, result out, `now` an argument. The controller, the
// simulator and the local mode all call `decide()` (decide.ts) with these values; there is
// exactly one implementation of every scaling decision.

import type { PauseSettings } from '../api/annotations.ts';
import type { ReadErrorReason, ScalerActive, ScalerCooldown, ScalerNotActive } from '../api/reasons.ts';
import type { FallbackBehavior } from '../api/scaledobject.ts';
import type { ConcurrencyState } from './concurrency.ts';

/** One HPA scaling policy: at most `value` pods (or percent) of change per `periodSeconds`. */
export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

/** autoscaling/v2 HPAScalingRules with every default filled in. */
export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly ScalingPolicy[];
  /** Usage-ratio tolerance (0.1 = the HPA's default 10%). */
  readonly tolerance: number;
}

/** Every knob of one ScaledObject's scaling, resolved from its spec and annotations. */
export interface ScalingSpec {
  readonly pollingIntervalSeconds: number;
  readonly cooldownSeconds: number;
  readonly initialCooldownSeconds: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Replicas while idle (KEDA's idleReplicaCount); undefined: minReplicas. */
  readonly idleReplicas: number | undefined;
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
  readonly fallback:
    | { readonly failureThreshold: number; readonly replicas: number; readonly behavior: FallbackBehavior }
    | undefined;
  /** advanced.scalingModifiers: one composite metric computed from the triggers by name. */
  readonly modifiers:
    | {
        readonly formula: string;
        readonly target: number;
        readonly activationTarget: number;
        readonly metricType: 'AverageValue' | 'Value';
      }
    | undefined;
  readonly pause: PauseSettings;
}

/** The outcome of reading one trigger in this poll. */
export type TriggerReading =
  | {
      readonly ok: true;
      /** The trigger's key: its `name`, or its metric name when unnamed. */
      readonly trigger: string;
      readonly metricName: string;
      /** Finite and >= 0 (readings.ts: a non-finite value is a failed read). */
      readonly value: number;
      /** The raw value when it was negative and `value` is the 0 it was clamped to. */
      readonly clampedFrom?: number;
      readonly target: number;
      readonly metricType: 'AverageValue' | 'Value';
      readonly active: boolean;
      /**
       * Set for an http trigger in concurrency mode with an AverageValue target: `value` is
       * the concurrency (in flight + held) and the replicas come from the Knative stable/panic
       * windows (concurrency.ts) instead of the HPA formula. Absent: the HPA formula.
       */
      readonly concurrency?: ConcurrencyScaling;
    }
  | {
      readonly ok: false;
      readonly trigger: string;
      readonly metricName: string;
      readonly target: number;
      readonly metricType: 'AverageValue' | 'Value';
      readonly reason: ReadErrorReason;
      readonly message: string;
    };

/** How a concurrency trigger is scaled: Knative's windows over its per-poll samples. */
export interface ConcurrencyScaling {
  /** Concurrency one replica should carry (the trigger's targetConcurrency); > 0. */
  readonly targetPerReplica: number;
}

export interface TriggerHealth {
  readonly numberOfFailures: number;
  readonly status: 'Happy' | 'Failing';
}

/** A past recommendation (for stabilization windows) or scale event (for rate policies). */
export interface TimedValue {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly value: number;
}

/** What the core remembers between polls of one ScaledObject. Plain data, serialisable. */
export interface ScalingState {
  /** ms since epoch of the last poll that saw activity; undefined: never active. */
  readonly lastActiveTime: number | undefined;
  /** ms since epoch the object was created (initialCooldownPeriod counts from here). */
  readonly createdAt: number;
  /** Keyed by metric name, as KEDA's status.health. */
  readonly health: Readonly<Record<string, TriggerHealth>>;
  /** HPA stabilization: past recommendations (value = replicas). */
  readonly recommendations: readonly TimedValue[];
  /** HPA rate policies: past scale-up and scale-down events (value = replicas changed, > 0). */
  readonly scaleUpEvents: readonly TimedValue[];
  readonly scaleDownEvents: readonly TimedValue[];
  /**
   * Knative windows of the concurrency triggers (TriggerReading.concurrency), keyed by trigger
   * key; a trigger that is gone, or no longer scales on concurrency, loses its entry.
   */
  readonly concurrency: Readonly<Record<string, ConcurrencyState>>;
}

export interface DecideInput {
  /** ms since epoch. */
  readonly now: number;
  /** The target's replicas as read from its /scale subresource. */
  readonly currentReplicas: number;
  readonly readings: readonly TriggerReading[];
}

export type ActiveReason = typeof ScalerActive | typeof ScalerNotActive | typeof ScalerCooldown;

export interface ScaleDecision {
  /** The replicas the target should have after this poll (== currentReplicas: no write). */
  readonly desiredReplicas: number;
  readonly active: boolean;
  readonly activeReason: ActiveReason;
  readonly activeMessage: string;
  /** The trigger keys that made this poll active (the composite metric with scalingModifiers). */
  readonly activeTriggers: readonly string[];
  /** Ready=False with TriggerError while a trigger fails; otherwise Ready=True. */
  readonly triggerError: { readonly reason: ReadErrorReason; readonly message: string } | undefined;
  /** True when fallback replicas were used for at least one failing trigger. */
  readonly fallbackActive: boolean;
  /** Scale-to-zero activation / deactivation in this poll (for Events). */
  readonly transition: 'activated' | 'deactivated' | undefined;
  /** One line on why: "ceil(12 / 5) = 3 (s0-kafka-orders)", "cooldown: 120 s left". */
  readonly explanation: string;
  /** Composite metric value when scalingModifiers are used. */
  readonly compositeValue: number | undefined;
  /** Negative values clamped to 0 in this poll (trigger readings and the composite metric). */
  readonly clamped: readonly ClampedValue[];
  readonly state: ScalingState;
}

/** A negative metric value that was counted as 0, as KEDA does (metric: a metric name). */
export interface ClampedValue {
  readonly metric: string;
  readonly value: number;
}
