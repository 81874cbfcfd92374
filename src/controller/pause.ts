// A paused ScaledObject (annotation `paused` or `paused-replicas`): no polling; its target keeps
// its count or is held at the paused replica count, and status says so.
import type { Pause } from '../api/annotations.ts';
import type { ConditionUpdate } from '../api/conditions.ts';
import { ScaledObjectPaused } from '../api/reasons.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import { describeTarget, type Loop, scaleTargetKindOf, type Tracked } from './tracked.ts';

/** paused: keep the count; paused-replicas: hold the target at N. Either way no polling. */
export const holdPaused = async (
  ctx: ReconcileContext,
  t: Tracked,
  loop: Loop,
  pause: Exclude<Pause, { kind: 'none' }>,
  conditions: ConditionUpdate[],
  externalMetricNames: string[],
): Promise<void> => {
  if (pause.kind === 'paused') {
    conditions.push({
      type: 'Paused',
      status: 'True',
      reason: ScaledObjectPaused,
      message: 'ScaledObject is paused',
    });
    await ctx.writeStatus(t, {
      conditions,
      fields: {
        externalMetricNames,
        scaleTargetKind: scaleTargetKindOf(loop.target),
        pausedReplicaCount: null,
        hpaName: null,
        activeTriggers: null,
      },
    });
    return;
  }
  const n = pause.replicas;
  const current = await ctx.scaleTarget.replicas(loop.target);
  const fields: Record<string, unknown> = {
    externalMetricNames,
    scaleTargetKind: scaleTargetKindOf(loop.target),
    pausedReplicaCount: n,
    hpaName: null,
    activeTriggers: null,
  };
  if (current.ok && current.value !== n) {
    const scaled = await ctx.scaleTarget.scale(loop.target, n);
    if (!scaled.ok) {
      t.log.warn({ err: scaled.error.message }, 'cannot hold paused replicas');
      ctx.retry(t.key);
    } else {
      if (t.status.originalReplicaCount === undefined) fields.originalReplicaCount = current.value;
      fields.currentReplicas = scaled.value;
      ctx.events.record(t.regarding, {
        type: 'Normal',
        reason: ScaledObjectPaused,
        action: 'Scale',
        note: `Scaled ${describeTarget(loop.target)} from ${current.value} to ${n}: paused at ${n} replicas`,
      });
    }
  } else if (!current.ok) {
    ctx.retry(t.key);
  }
  conditions.push({
    type: 'Paused',
    status: 'True',
    reason: ScaledObjectPaused,
    message: `ScaledObject is paused at ${n} replicas`,
  });
  await ctx.writeStatus(t, { conditions, fields });
};
