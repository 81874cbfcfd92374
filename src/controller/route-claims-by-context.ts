// Each controller's http route claims (which object serves a host + path, whose named port does not
// resolve), made on first use from everything in its cache and kept per ReconcileContext.
import { admitScaledObject } from './admission.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import { hasHttpTrigger, RouteClaims } from './route-claims.ts';

/** Each controller's http route claims (one ReconcileContext per Controller), filled from its cache. */
const routeClaimsByContext = new WeakMap<ReconcileContext, RouteClaims>();

export const routeClaimsOf = (ctx: ReconcileContext): RouteClaims => {
  let claims = routeClaimsByContext.get(ctx);
  if (claims === undefined) {
    const made = new RouteClaims((keys) => {
      for (const k of keys) ctx.enqueue(k);
    });
    // Every object's claims before the first verdict, so the winner wins from the first reconcile.
    for (const key of ctx.source.keys()) {
      const raw = ctx.source.get(key);
      if (hasHttpTrigger(raw)) made.update(key, admitScaledObject(raw));
    }
    routeClaimsByContext.set(ctx, made);
    claims = made;
  }
  return claims;
};
