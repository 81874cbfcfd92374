// Building a ScaledObject's live triggers: TriggerAuthentication parameters resolved and applied,
// a digest of them kept per trigger so only triggers whose parameters changed get new scalers,
// and which ScaledObjects name a given (Cluster)TriggerAuthentication.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ResolvedTrigger, resolveTrigger } from '../../scalers/index.ts';
import { AuthenticationError, formatProblem, type Reason } from '../api/reasons.ts';
import { AuthenticationRefSchema } from '../api/scaledobject.ts';
import { type AuthKind, authKindOf, CLUSTER_TRIGGER_AUTHENTICATION } from '../api/triggerauthentication.ts';
import type { ScaledObjectSource } from '../platform/ports.ts';
import { retire } from './loop-lifecycle.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import type { LiveTrigger, Loop, Tracked } from './tracked.ts';

/** sha256 over the sorted parameters: compares parameter sets without keeping their values. */
const digestOf = (params: Readonly<Record<string, string>>): string => {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '' : createHash('sha256').update(JSON.stringify(entries)).digest('hex');
};

/** Every trigger with its auth parameters applied, and a digest of them per trigger ('' without). */
type Authed =
  | { readonly ok: true; readonly triggers: readonly ResolvedTrigger[]; readonly digests: readonly string[] }
  | { readonly ok: false; readonly reason: Reason; readonly message: string };

/**
 * Each trigger with an authenticationRef is resolved again with its parameters; the first
 * failure (an AuthenticationError naming the object, Secret and key, never a value, or the
 * metadata the parameters make invalid) stops the ScaledObject.
 */
export const withAuth = async (
  ctx: ReconcileContext,
  namespace: string,
  triggers: readonly ResolvedTrigger[],
): Promise<Authed> => {
  const resolver = ctx.triggerAuth;
  const out: ResolvedTrigger[] = [];
  const digests: string[] = [];
  for (const r of triggers) {
    const ref = r.trigger.authenticationRef;
    if (resolver === undefined || ref === undefined) {
      out.push(r);
      digests.push('');
      continue;
    }
    const params = await resolver.resolve(namespace, ref);
    if (!params.ok) {
      return {
        ok: false,
        reason: params.error.reason,
        message: `spec.triggers[${r.index}].authenticationRef: ${params.error.message}`,
      };
    }
    const resolved = resolveTrigger(r.trigger, r.index, params.value);
    if (!resolved.ok) {
      const first = resolved.error[0];
      return {
        ok: false,
        reason: first?.reason ?? AuthenticationError,
        message: resolved.error.map(formatProblem).join('; '),
      };
    }
    out.push(resolved.value);
    digests.push(digestOf(params.value));
  }
  return { ok: true, triggers: out, digests };
};

export const liveTrigger = (ctx: ReconcileContext, resolved: ResolvedTrigger, digest = ''): LiveTrigger => {
  return { resolved, scaler: ctx.createScaler(resolved), failure: undefined, authDigest: digest };
};

/** Same spec, new auth parameters: only the triggers whose parameters changed get new scalers. */
export const rebuildChangedAuth = (
  ctx: ReconcileContext,
  t: Tracked,
  loop: Loop,
  resolved: readonly ResolvedTrigger[],
  digests: readonly string[],
): void => {
  const retired: LiveTrigger[] = [];
  const next = loop.triggers.map((live, i) => {
    const r = resolved[i];
    const digest = digests[i] ?? '';
    if (r === undefined || live.authDigest === digest) return live;
    retired.push(live);
    t.log.info({ trigger: r.key }, 'trigger authentication changed; scaler rebuilt');
    return liveTrigger(ctx, r, digest);
  });
  if (retired.length === 0) return;
  loop.triggers = next;
  retire(loop, retired);
};

/**
 * The ScaledObjects to reconcile when a (Cluster)TriggerAuthentication or one of its Secrets
 * changed: those with a trigger naming it (a TriggerAuthentication: same namespace and name; a
 * ClusterTriggerAuthentication: its name, any namespace).
 */
export const triggerAuthUsers = (
  source: Pick<ScaledObjectSource, 'keys' | 'get'>,
  namespace: string,
  name: string,
  kind: AuthKind,
): string[] =>
  source.keys().filter((key) => {
    const raw = RefsOnly.safeParse(source.get(key));
    if (!raw.success) return false;
    const sameNamespace = (raw.data.metadata.namespace ?? '') === namespace;
    return (raw.data.spec.triggers ?? []).some((tr) => {
      const ref = tr.authenticationRef;
      if (ref === undefined || ref.name !== name || authKindOf(ref) !== kind) return false;
      return kind === CLUSTER_TRIGGER_AUTHENTICATION || sameNamespace;
    });
  });

/** Just enough of a raw ScaledObject to see which authentications its triggers name. */
const RefsOnly = z.object({
  metadata: z.object({ namespace: z.string().optional() }),
  spec: z.object({
    triggers: z
      .array(z.object({ authenticationRef: AuthenticationRefSchema.optional().catch(undefined) }))
      .optional()
      .catch(undefined),
  }),
});
