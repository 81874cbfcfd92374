// The finalizer (kept while restoreToOriginalReplicaCount is set) and deletion: the HPA goes,
// the target gets its original replica count back, then the finalizer is removed.
import { ScaleTargetRestored } from '../api/reasons.ts';
import { Conflict, NotFound, targetKeyOf } from '../platform/ports.ts';
import type { Admission } from './admission.ts';
import { dropHpa } from './hpa-mode.ts';
import { stopLoop } from './loop-lifecycle.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import { describeTarget, FINALIZER, type Tracked, targetRefOf } from './tracked.ts';

/** Adds the finalizer when restoreToOriginalReplicaCount is set, removes it otherwise. */
export const keepFinalizer = async (ctx: ReconcileContext, t: Tracked, wanted: boolean): Promise<boolean> => {
  const has = t.finalizers.includes(FINALIZER);
  if (has === wanted) return true;
  const next = wanted ? [...t.finalizers, FINALIZER] : t.finalizers.filter((f) => f !== FINALIZER);
  const res = await ctx.finalizers.setFinalizers(t.ref, next, t.resourceVersion);
  if (res.ok) {
    t.finalizers = next;
    return true;
  }
  if (res.error.reason !== Conflict) t.log.warn({ err: res.error.message }, 'cannot update finalizers');
  // A conflict means a newer version is on its way through the watch; try again with it.
  ctx.retry(t.key);
  return false;
};

/** Deletion: restore the original replica count if asked to, then let the object go. */
export const finalize = async (ctx: ReconcileContext, t: Tracked, admission: Admission): Promise<void> => {
  stopLoop(ctx, t);
  // HPA mode: the HPA goes first (it would fight the restore), also where no garbage collector runs.
  const hpa = await dropHpa(ctx, t);
  if (!hpa.ok) {
    t.log.warn({ err: hpa.message }, 'cannot delete the HPA; will retry');
    ctx.retry(t.key);
    return;
  }
  if (!t.finalizers.includes(FINALIZER)) return;
  const restore = admission.ok && admission.object.spec.advanced?.restoreToOriginalReplicaCount === true;
  const original = t.status.originalReplicaCount;
  if (restore && original !== undefined && admission.ok) {
    const target = targetRefOf(admission.object, t.ref.namespace);
    if (ctx.claims.owner(targetKeyOf(target))?.key === t.key) {
      const res = await ctx.scaleTarget.scale(target, original);
      if (res.ok) {
        ctx.events.record(t.regarding, {
          type: 'Normal',
          reason: ScaleTargetRestored,
          action: 'Restore',
          note: `Restored ${describeTarget(target)} to its original ${original} replicas`,
        });
        t.log.info({ replicas: original }, 'restored original replica count');
      } else if (res.error.status !== 404 && res.error.reason !== NotFound) {
        t.log.warn({ err: res.error.message }, 'cannot restore original replica count; will retry');
        ctx.retry(t.key);
        return;
      }
    }
  }
  const res = await ctx.finalizers.setFinalizers(
    t.ref,
    t.finalizers.filter((f) => f !== FINALIZER),
    t.resourceVersion,
  );
  if (!res.ok && res.error.status !== 404) ctx.retry(t.key);
};
