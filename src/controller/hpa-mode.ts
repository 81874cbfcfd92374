// HPA mode (annotation `autoscaling.ebb.dev/scaling-mode: hpa`, docs/hpa-mode.md): ebb owns an
// autoscaling/v2 HPA that scales 1 <-> N on the adapter's External metrics, as KEDA does, and
// itself writes only the steps an HPA cannot make: 0 -> max(min, 1) on activation and N -> idle/0
// after the cooldown. Direct mode (the default) writes every replica count itself.
//
// Here: the HPA a ScaledObject asks for (pure), the reconcile steps that keep it (refuse a foreign
// HPA on the target, create/update ours only when it differs, delete it when the mode is turned off,
// the object is paused or deleted), and the poll's rule for which replica counts ebb still writes.
import type { ResolvedTrigger } from '../../scalers/index.ts';
import { type ScalingMode, scalingModeWith } from '../api/annotations.ts';
import {
  HPAConflict,
  HPACreated,
  HPADeleted,
  HPAFailed,
  HPAUpdated,
  type Reason,
  type Result,
} from '../api/reasons.ts';
import type { HPABehavior, HPAScalingRules, ScaledObject } from '../api/scaledobject.ts';
import type {
  EventRecorder,
  EventRegarding,
  HpaDefinition,
  HpaWriter,
  PlatformError,
  TargetRef,
} from '../platform/ports.ts';
import type { ScaleDecision, ScalingSpec } from '../scaling/types.ts';
import { describeTarget, type Loop, type Tracked } from './tracked.ts';

/** The label every External metric of ebb's HPAs selects on; the adapter reads it. */
export const SCALED_OBJECT_LABEL = 'autoscaling.ebb.dev/scaledobject';
export const HPA_NAME_PREFIX = 'ebb-hpa-';

/** `horizontalPodAutoscalerConfig.name` when set (as KEDA), else `ebb-hpa-<scaledobject>`. */
export const hpaNameOf = (so: ScaledObject): string => {
  const name = so.spec.advanced?.horizontalPodAutoscalerConfig?.name;
  return name !== undefined && name !== '' ? name : `${HPA_NAME_PREFIX}${so.metadata.name}`;
};

const disabled = (rules: HPAScalingRules | undefined): HPAScalingRules => ({
  ...rules,
  selectPolicy: 'Disabled',
});

/**
 * The spec's behavior, with the direction a pause annotation blocks disabled (KEDA's
 * controllers/keda/hpa.go does the same for paused-scale-in / paused-scale-out).
 */
const behaviorOf = (so: ScaledObject, spec: ScalingSpec): HPABehavior | undefined => {
  const behavior = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  const { scaleInPaused, scaleOutPaused } = spec.pause;
  if (!scaleInPaused && !scaleOutPaused) return behavior;
  return {
    ...behavior,
    ...(scaleOutPaused ? { scaleUp: disabled(behavior?.scaleUp) } : {}),
    ...(scaleInPaused ? { scaleDown: disabled(behavior?.scaleDown) } : {}),
  };
};

/**
 * The HPA for one ScaledObject: minReplicas = max(minReplicaCount, 1) (0 <-> 1 is ebb's),
 * maxReplicas = maxReplicaCount, one External metric per trigger named as the trigger's metric
 * and selected by `autoscaling.ebb.dev/scaledobject: <name>`.
 */
export const hpaDefinitionOf = (
  so: ScaledObject,
  owner: EventRegarding,
  target: TargetRef,
  triggers: readonly ResolvedTrigger[],
  spec: ScalingSpec,
): HpaDefinition => ({
  name: hpaNameOf(so),
  owner,
  target,
  minReplicas: Math.max(spec.minReplicas, 1),
  maxReplicas: spec.maxReplicas,
  metrics: triggers.map((r) => ({
    name: r.metric.name,
    metricType: r.metric.metricType,
    target: r.metric.target,
  })),
  metricSelector: { [SCALED_OBJECT_LABEL]: so.metadata.name },
  behavior: behaviorOf(so, spec),
});

/** The object's scaling mode from its annotation (HPA mode does not take scalingModifiers yet). */
export const scalingModeOf = (so: ScaledObject): Result<ScalingMode> =>
  scalingModeWith(so.metadata.annotations, so.spec.advanced?.scalingModifiers !== undefined);

// ---- the poll ----

/**
 * The replicas a poll writes. Direct mode: the decision's. HPA mode: only activation (0 -> 1,
 * or idle -> min), deactivation (-> idle/0 after the cooldown) and a restore from 0 are ebb's;
 * while the target has replicas and neither happens, the HPA owns the count and ebb keeps it.
 * Except in fallback: the adapter cannot serve a failing trigger's metric (503), so the HPA holds
 * (or, with other metrics valid, only scales up) and ebb writes the fallback's replicas itself,
 * the count KEDA's HPA reaches from the fallback metric its adapter serves instead.
 */
export const replicasToWrite = (loop: Loop, current: number, decision: ScaleDecision): number => {
  if (!loop.hpaMode || current === 0 || decision.transition !== undefined) return decision.desiredReplicas;
  if (decision.fallbackActive) return decision.desiredReplicas;
  return current;
};

// ---- reconcile ----

export interface HpaContext {
  readonly hpa?: HpaWriter | undefined;
  readonly events: EventRecorder;
}

export type HpaOutcome =
  | { readonly ok: true }
  /** Ready=False with this reason and message; `retry`: a transient failure worth retrying. */
  | { readonly ok: false; readonly reason: Reason; readonly message: string; readonly retry: boolean };

/** The name of the HPA ebb owns for `t`, if any. */
export const ownedHpaName = (t: Tracked): string | undefined => {
  const kept = t.keptHpa;
  return kept === undefined ? t.status.hpaName : (kept ?? undefined);
};

const failed = (what: string, e: PlatformError): HpaOutcome => ({
  ok: false,
  reason: e.reason === HPAConflict ? HPAConflict : HPAFailed,
  message: `${what}: ${e.message}`,
  retry: true,
});

/**
 * HPA mode on: an HPA on the target that this object does not control is refused (ebb leaves it
 * alone); otherwise ebb's HPA is created or brought up to date (a write only when it differs).
 */
export const keepHpa = async (ctx: HpaContext, t: Tracked, def: HpaDefinition): Promise<HpaOutcome> => {
  const writer = ctx.hpa;
  if (writer === undefined) {
    return {
      ok: false,
      reason: HPAFailed,
      message:
        'HPA mode is not available in this mode of ebb (no HPA writer); remove the scaling-mode annotation',
      retry: false,
    };
  }
  const found = await writer.findForTarget(def.target);
  if (!found.ok) return failed(`cannot list HPAs of ${describeTarget(def.target)}`, found.error);
  const foreign = found.value.filter((h) => h.controllerUid !== t.ref.uid);
  if (foreign.length > 0) {
    const names = foreign.map((h) => `${t.ref.namespace}/${h.name}`).join(', ');
    return {
      ok: false,
      reason: HPAConflict,
      message: `${describeTarget(def.target)} is already scaled by HorizontalPodAutoscaler ${names}, which ebb does not own; delete it or remove the scaling-mode annotation`,
      // Retried with backoff: there is no watch on HPAs, and the user may delete theirs.
      retry: true,
    };
  }
  // A renamed HPA (horizontalPodAutoscalerConfig.name changed): the old one goes first, so two
  // HPAs never scale the target at once.
  const previous = ownedHpaName(t);
  if (previous !== undefined && previous !== def.name) {
    const dropped = await dropHpa(ctx, t);
    if (!dropped.ok) return dropped;
  }
  const res = await writer.ensure(def);
  if (!res.ok) return failed(`HorizontalPodAutoscaler ${t.ref.namespace}/${def.name}`, res.error);
  t.keptHpa = def.name;
  if (res.value !== 'unchanged') {
    ctx.events.record(t.regarding, {
      type: 'Normal',
      reason: res.value === 'created' ? HPACreated : HPAUpdated,
      action: 'Reconcile',
      note: `${res.value === 'created' ? 'Created' : 'Updated'} HorizontalPodAutoscaler ${t.ref.namespace}/${def.name} for ${describeTarget(def.target)} (${def.minReplicas}..${def.maxReplicas} replicas)`,
    });
    t.log.info({ hpa: def.name, change: res.value }, 'HPA kept');
  }
  return { ok: true };
};

/**
 * HPA mode off, paused, or the object deleted: ebb's HPA is deleted (explicitly: its
 * ownerReference only helps where a garbage collector runs). An HPA this object does not
 * control is never touched.
 */
export const dropHpa = async (ctx: HpaContext, t: Tracked): Promise<HpaOutcome> => {
  const name = ownedHpaName(t);
  if (name === undefined || ctx.hpa === undefined) return { ok: true };
  const res = await ctx.hpa.delete(t.ref.namespace, name, t.ref.uid);
  if (!res.ok) return failed(`cannot delete HorizontalPodAutoscaler ${t.ref.namespace}/${name}`, res.error);
  t.keptHpa = null;
  if (res.value) {
    ctx.events.record(t.regarding, {
      type: 'Normal',
      reason: HPADeleted,
      action: 'Reconcile',
      note: `Deleted HorizontalPodAutoscaler ${t.ref.namespace}/${name}`,
    });
    t.log.info({ hpa: name }, 'HPA deleted');
  }
  return { ok: true };
};
