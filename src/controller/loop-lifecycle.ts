// A ScaledObject's scaling loop from the outside: stop it (polling ends, scalers close after a
// poll in flight), retire replaced scalers, and forget an object gone from the cache.
import { targetKeyOf } from '../platform/ports.ts';
import { dropHpa } from './hpa-mode.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import type { LiveTrigger, Loop, Tracked } from './tracked.ts';

/** Stops polling and closes the scalers (after a poll in flight, if any). */
export const stopLoop = (ctx: ReconcileContext, t: Tracked): void => {
  ctx.scheduler.unschedule(t.key);
  const loop = t.loop;
  if (loop === undefined) return;
  loop.closed = true;
  retire(loop, loop.triggers);
  t.loop = undefined;
  if (ctx.log.isLevelEnabled('debug')) t.log.debug('scaling loop stopped');
};

export const retire = (loop: Loop, triggers: readonly LiveTrigger[]): void => {
  const close = () => {
    for (const tr of triggers) void tr.scaler.close().catch(() => {});
  };
  if (loop.inFlight === undefined) close();
  else void loop.inFlight.finally(close);
};

/** The object is gone from the cache: forget everything about it. */
export const forget = (ctx: ReconcileContext, t: Tracked): void => {
  const target = t.loop?.target;
  stopLoop(ctx, t);
  for (const k of ctx.routeClaims().update(t.key, undefined)) ctx.enqueue(k);
  void dropHpa(ctx, t).then((hpa) => {
    if (!hpa.ok) t.log.warn({ err: hpa.message }, 'cannot delete the HPA of a deleted ScaledObject');
  });
  for (const k of ctx.claims.release(t.key)) ctx.enqueue(k);
  if (target !== undefined && ctx.claims.claimants(targetKeyOf(target)) === 0) ctx.scaleTarget.forget(target);
  ctx.tracked.delete(t.key);
  ctx.observer.removed(t.ref.namespace, t.ref.name);
};
