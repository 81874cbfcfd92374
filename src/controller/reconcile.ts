// Reconcile one ScaledObject key: read the latest object from the cache, admit it, and bring
// the controller's own state in line — start, rebuild, pause or stop its scaling loop, claim its
// target, keep the finalizer, restore replicas on delete — reporting problems as conditions and
// Events. Scaling itself happens in the poll (poll.ts), on the scheduler's clock.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ResolvedTrigger, resolveTrigger } from '../../scalers/index.ts';
import type { Pause } from '../api/annotations.ts';
import { type ConditionUpdate, findCondition } from '../api/conditions.ts';
import {
  AuthenticationError,
  formatProblem,
  HPAConflict,
  HPAFailed,
  InvalidSpec,
  InvalidTriggerMetadata,
  type Problem,
  RouteConflict,
  ScaledObjectCheckFailed,
  ScaledObjectPaused,
  ScaledObjectReady,
  ScaledObjectUnpaused,
  ScaleTargetInUse,
  ScaleTargetRestored,
  ServicePortUnresolved,
  UnsupportedTriggerType,
} from '../api/reasons.ts';
import { AuthenticationRefSchema, ObjectMetaSchema, ScaledObjectStatusSchema } from '../api/scaledobject.ts';
import { type AuthKind, authKindOf, CLUSTER_TRIGGER_AUTHENTICATION } from '../api/triggerauthentication.ts';
import type { Logger } from '../logging.ts';
import { scaledObjectLogger } from '../logging.ts';
import type { TriggerAuthResolver } from '../platform/auth.ts';
import {
  Conflict,
  type EventRecorder,
  type FinalizerWriter,
  type HpaWriter,
  NotFound,
  type ScaledObjectSource,
  type ScaleTarget,
  targetKeyOf,
} from '../platform/ports.ts';
import type { Scaler } from '../scaler.ts';
import { initialScalingState } from '../scaling/decide.ts';
import { scalingSpecFrom } from '../scaling/spec.ts';
import { type Admission, admitScaledObject } from './admission.ts';
import {
  dropHpa,
  type HpaOutcome,
  hpaDefinitionOf,
  hpaNameOf,
  keepHpa,
  scalingModeOf,
  setHpaMode,
} from './hpa-mode.ts';
import type { ControllerObserver } from './observer.ts';
import { READY_MESSAGE } from './poll.ts';
import { hasHttpTrigger, RouteClaims } from './route-claims.ts';
import type { PollScheduler } from './scheduler.ts';
import type { StatusChange } from './status.ts';
import type { TargetClaims } from './target-claims.ts';
import {
  describeTarget,
  FINALIZER,
  type LiveTrigger,
  type Loop,
  pollingIntervalMs,
  regardingOf,
  seedState,
  type Tracked,
  targetRefOf,
} from './tracked.ts';

export interface ReconcileContext {
  readonly source: ScaledObjectSource;
  readonly scaleTarget: ScaleTarget;
  readonly finalizers: FinalizerWriter;
  readonly events: EventRecorder;
  readonly scheduler: PollScheduler;
  readonly claims: TargetClaims;
  readonly tracked: Map<string, Tracked>;
  readonly log: Logger;
  readonly now: () => number;
  /** Builds a trigger's scaler; default `resolved.create()` (tests substitute scripted scalers). */
  readonly createScaler: (resolved: ResolvedTrigger) => Scaler;
  /** Resolves triggers' authenticationRefs; without it they are built unresolved (unit tests). */
  readonly triggerAuth?: TriggerAuthResolver | undefined;
  /** HPA mode's HorizontalPodAutoscalers; without it HPA mode is refused (unit tests, local mode). */
  readonly hpa?: HpaWriter | undefined;
  readonly observer: ControllerObserver;
  writeStatus(t: Tracked, change: StatusChange): Promise<void>;
  /** Reconcile these keys again (ownership of a target moved). */
  enqueue(key: string): void;
  /** Reconcile this key again after a backoff (a write conflicted or failed). */
  retry(key: string): void;
}

/** Ready reasons reconcile owns; any other Ready (TriggerError, ScaleTargetNotFound) is the poll's. */
const RECONCILE_READY_REASONS: ReadonlySet<string> = new Set([
  InvalidSpec,
  UnsupportedTriggerType,
  InvalidTriggerMetadata,
  ScaleTargetInUse,
  ScaledObjectCheckFailed,
  AuthenticationError,
  HPAConflict,
  HPAFailed,
  RouteConflict,
  ServicePortUnresolved,
]);

/** Each controller's http route claims (one ReconcileContext per Controller), filled from its cache. */
const routeClaimsByContext = new WeakMap<ReconcileContext, RouteClaims>();

const routeClaimsOf = (ctx: ReconcileContext): RouteClaims => {
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

const MetaOnly = z.object({ metadata: ObjectMetaSchema });
const StatusOnly = z.object({ status: ScaledObjectStatusSchema.optional() });

/** What reconcile reads besides status: spec (via generation), annotations, finalizers, deletion. */
const fingerprintOf = (meta: z.infer<typeof ObjectMetaSchema>): string =>
  JSON.stringify([meta.generation, meta.deletionTimestamp, meta.finalizers, meta.annotations]);

const parseTime = (s: string | undefined): number => (s === undefined ? Number.NaN : Date.parse(s));

export const reconcile = async (ctx: ReconcileContext, key: string): Promise<void> => {
  const raw = ctx.source.get(key);
  let t = ctx.tracked.get(key);
  if (raw === undefined) {
    if (t !== undefined) forget(ctx, t);
    return;
  }
  const parsedMeta = MetaOnly.safeParse(raw);
  if (!parsedMeta.success || parsedMeta.data.metadata.uid === undefined) {
    ctx.log.warn({ key }, 'ScaledObject without usable metadata; ignored');
    return;
  }
  const meta = parsedMeta.data.metadata;
  const uid = meta.uid as string;
  if (t !== undefined && t.ref.uid !== uid) {
    forget(ctx, t);
    t = undefined;
  }
  if (t === undefined) {
    const namespace = meta.namespace ?? '';
    const ref = { namespace, name: meta.name, uid };
    const status = StatusOnly.safeParse(raw);
    const name = meta.name;
    let log: Logger | undefined;
    t = {
      key,
      ref,
      regarding: regardingOf(ref),
      // Made on first use: 10,000 idle objects need no 10,000 child loggers.
      get log() {
        log ??= scaledObjectLogger(ctx.log, namespace, name);
        return log;
      },
      status: status.success ? (status.data.status ?? {}) : {},
      generation: meta.generation,
      resourceVersion: meta.resourceVersion ?? '',
      finalizers: meta.finalizers ?? [],
      createdAt: parseTime(meta.creationTimestamp),
      loop: undefined,
      deferred: undefined,
      fingerprint: undefined,
      force: false,
      writing: undefined,
      failures: 0,
    };
    ctx.tracked.set(key, t);
  }
  t.resourceVersion = meta.resourceVersion ?? '';
  // Most updates are the echo of our own status writes: nothing reconcile reads has moved.
  const fingerprint = fingerprintOf(meta);
  if (t.fingerprint === fingerprint && !t.force) return;
  t.fingerprint = fingerprint;
  t.force = false;
  t.generation = meta.generation;
  t.finalizers = meta.finalizers ?? [];

  const admission = admitScaledObject(raw);
  for (const k of routeClaimsOf(ctx).update(key, admission)) ctx.enqueue(k);
  if (meta.deletionTimestamp !== undefined) return finalize(ctx, t, admission);
  if (!admission.ok) return refuse(ctx, t, admission.problems);
  const spec = scalingSpecFrom(admission.object.spec, admission.pause);
  if (!spec.ok) return refuse(ctx, t, spec.error);
  const mode = scalingModeOf(admission.object);
  if (!mode.ok) return refuse(ctx, t, mode.error);

  const so = admission.object;
  const target = targetRefOf(so, t.ref.namespace);
  const targetKey = targetKeyOf(target);
  for (const k of ctx.claims.claim({ key, targetKey, createdAt: t.createdAt, name: meta.name }))
    ctx.enqueue(k);
  const owner = ctx.claims.owner(targetKey);
  if (owner !== undefined && owner.key !== key) {
    stopLoop(ctx, t);
    const message = `${describeTarget(target)} is already scaled by ScaledObject ${owner.key}`;
    return report(
      ctx,
      t,
      { type: 'Ready', status: 'False', reason: ScaleTargetInUse, message },
      {
        reason: ScaleTargetInUse,
        note: `spec.scaleTargetRef: ${message}`,
      },
    );
  }

  if (!(await keepFinalizer(ctx, t, so.spec.advanced?.restoreToOriginalReplicaCount === true))) return;

  // An http trigger the activators will not serve (another object keeps its host + path, or its
  // named port does not resolve): no scaling on a route that carries no requests.
  const routeProblems = routeClaimsOf(ctx).problems(key);
  if (routeProblems.length > 0) {
    stopLoop(ctx, t);
    const reason = routeProblems[0]?.reason ?? RouteConflict;
    const message = routeProblems.map(formatProblem).join('; ');
    return report(ctx, t, { type: 'Ready', status: 'False', reason, message }, { reason, note: message });
  }

  // Every reconcile re-resolves authenticationRefs (served from the resolver's caches).
  const auth = await withAuth(ctx, t.ref.namespace, admission.triggers);
  if (!auth.ok) {
    stopLoop(ctx, t);
    return report(
      ctx,
      t,
      { type: 'Ready', status: 'False', reason: auth.reason, message: auth.message },
      { reason: auth.reason, note: auth.message },
    );
  }
  const resolvedTriggers = auth.triggers;

  // HPA mode keeps ebb's HPA (none while paused, as KEDA); direct mode deletes it.
  const hpaWanted = mode.value === 'hpa' && admission.pause.pause.kind === 'none';
  const hpa: HpaOutcome = hpaWanted
    ? await keepHpa(ctx, t, hpaDefinitionOf(so, t.regarding, target, resolvedTriggers, spec.value))
    : await dropHpa(ctx, t);
  if (!hpa.ok) {
    stopLoop(ctx, t);
    if (hpa.retry) ctx.retry(key);
    return report(
      ctx,
      t,
      { type: 'Ready', status: 'False', reason: hpa.reason, message: hpa.message },
      { reason: hpa.reason, note: hpa.message },
    );
  }

  // (Re)build the loop when the spec generation moved; otherwise only refresh spec and pause,
  // and rebuild the scalers of triggers whose auth parameters changed.
  let loop = t.loop;
  const newLoop = loop === undefined;
  if (loop === undefined || loop.generation !== meta.generation || targetKeyOf(loop.target) !== targetKey) {
    const now = ctx.now();
    const triggers: LiveTrigger[] = resolvedTriggers.map((r, i) => liveTrigger(ctx, r, auth.digests[i]));
    if (loop === undefined) {
      const seeded = seedState(
        initialScalingState(Number.isFinite(t.createdAt) ? t.createdAt : now),
        t.status,
        now,
      );
      loop = {
        generation: meta.generation,
        target,
        spec: spec.value,
        triggers,
        state: seeded.state,
        wasActive: seeded.wasActive,
        targetError: undefined,
        inFlight: undefined,
        closed: false,
      };
      if (ctx.log.isLevelEnabled('debug')) {
        t.log.debug({ target: describeTarget(target), triggers: triggers.length }, 'scaling loop started');
      }
    } else {
      // Spec changed: the next poll uses the new scalers; the state (activity, health) carries on.
      const old = loop;
      retire(old, old.triggers);
      if (targetKeyOf(old.target) !== targetKey && ctx.claims.claimants(targetKeyOf(old.target)) === 0) {
        ctx.scaleTarget.forget(old.target);
      }
      loop = {
        ...old,
        generation: meta.generation,
        target,
        spec: spec.value,
        triggers,
        closed: false,
      };
      old.closed = true;
      t.log.info({ generation: meta.generation }, 'spec changed; scalers rebuilt');
    }
    t.loop = loop;
  } else {
    loop.spec = spec.value;
    rebuildChangedAuth(ctx, t, loop, resolvedTriggers, auth.digests);
  }
  setHpaMode(loop, hpaWanted);

  const conditions: ConditionUpdate[] = [];
  const ready = findCondition(t.status.conditions, 'Ready');
  if (ready === undefined || RECONCILE_READY_REASONS.has(ready.reason ?? '')) {
    conditions.push({ type: 'Ready', status: 'True', reason: ScaledObjectReady, message: READY_MESSAGE });
  }
  const externalMetricNames = resolvedTriggers.map((r) => r.metric.name);
  const pause = admission.pause.pause;
  ctx.observer.paused(t.ref.namespace, t.ref.name, pause.kind !== 'none');
  if (pause.kind === 'none') {
    conditions.push({
      type: 'Paused',
      status: 'False',
      reason: ScaledObjectUnpaused,
      message: 'ScaledObject is not paused',
    });
    ctx.scheduler.schedule(key, pollingIntervalMs(spec.value, resolvedTriggers));
    const hpaName = hpaWanted ? hpaNameOf(so) : null;
    const change = { conditions, fields: { externalMetricNames, pausedReplicaCount: null, hpaName } };
    if (newLoop) t.deferred = change;
    else await ctx.writeStatus(t, change);
    return;
  }
  ctx.scheduler.unschedule(key);
  await holdPaused(ctx, t, loop, pause, conditions, externalMetricNames);
};

// ---- trigger authentication ----

/** The digest of each live trigger's auth parameters (kept here, never the values). */
const authDigests = new WeakMap<LiveTrigger, string>();

/** sha256 over the sorted parameters: compares parameter sets without keeping their values. */
const digestOf = (params: Readonly<Record<string, string>>): string => {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '' : createHash('sha256').update(JSON.stringify(entries)).digest('hex');
};

/** Every trigger with its auth parameters applied, and a digest of them per trigger ('' without). */
type Authed =
  | { readonly ok: true; readonly triggers: readonly ResolvedTrigger[]; readonly digests: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/**
 * Each trigger with an authenticationRef is resolved again with its parameters; the first
 * failure (an AuthenticationError naming the object, Secret and key, never a value, or the
 * metadata the parameters make invalid) stops the ScaledObject.
 */
const withAuth = async (
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

const liveTrigger = (ctx: ReconcileContext, resolved: ResolvedTrigger, digest = ''): LiveTrigger => {
  const live: LiveTrigger = { resolved, scaler: ctx.createScaler(resolved), failure: undefined };
  authDigests.set(live, digest);
  return live;
};

/** Same spec, new auth parameters: only the triggers whose parameters changed get new scalers. */
const rebuildChangedAuth = (
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
    if (r === undefined || (authDigests.get(live) ?? '') === digest) return live;
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

/** paused: keep the count; paused-replicas: hold the target at N. Either way no polling. */
const holdPaused = async (
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
      fields: { externalMetricNames, pausedReplicaCount: null, hpaName: null },
    });
    return;
  }
  const n = pause.replicas;
  const current = await ctx.scaleTarget.replicas(loop.target);
  const fields: Record<string, unknown> = { externalMetricNames, pausedReplicaCount: n, hpaName: null };
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

/** Adds the finalizer when restoreToOriginalReplicaCount is set, removes it otherwise. */
const keepFinalizer = async (ctx: ReconcileContext, t: Tracked, wanted: boolean): Promise<boolean> => {
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
const finalize = async (ctx: ReconcileContext, t: Tracked, admission: Admission): Promise<void> => {
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

/** Invalid spec: no polling; Ready=False with the first problem's reason, every problem in the message. */
const refuse = async (ctx: ReconcileContext, t: Tracked, problems: readonly Problem[]): Promise<void> => {
  stopLoop(ctx, t);
  for (const k of ctx.claims.release(t.key)) ctx.enqueue(k);
  const first = problems[0];
  const reason = first?.reason ?? InvalidSpec;
  const message = problems.map(formatProblem).join('; ');
  await report(ctx, t, { type: 'Ready', status: 'False', reason, message }, { reason, note: message });
};

/** Writes Ready=False; records a Warning Event only when that condition changes. */
const report = async (
  ctx: ReconcileContext,
  t: Tracked,
  condition: ConditionUpdate,
  event: { reason: string; note: string },
): Promise<void> => {
  const ready = findCondition(t.status.conditions, 'Ready');
  const changed =
    ready?.status !== condition.status ||
    ready.reason !== condition.reason ||
    ready.message !== condition.message;
  await ctx.writeStatus(t, { conditions: [condition] });
  if (!changed) return;
  ctx.events.record(t.regarding, {
    type: 'Warning',
    reason: event.reason,
    action: 'Validate',
    note: event.note,
  });
  t.log.warn({ reason: event.reason }, event.note);
};

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

const retire = (loop: Loop, triggers: readonly LiveTrigger[]): void => {
  const close = () => {
    for (const tr of triggers) void tr.scaler.close().catch(() => {});
  };
  if (loop.inFlight === undefined) close();
  else void loop.inFlight.finally(close);
};

/** The object is gone from the cache: forget everything about it. */
const forget = (ctx: ReconcileContext, t: Tracked): void => {
  const target = t.loop?.target;
  stopLoop(ctx, t);
  for (const k of routeClaimsOf(ctx).update(t.key, undefined)) ctx.enqueue(k);
  void dropHpa(ctx, t).then((hpa) => {
    if (!hpa.ok) t.log.warn({ err: hpa.message }, 'cannot delete the HPA of a deleted ScaledObject');
  });
  for (const k of ctx.claims.release(t.key)) ctx.enqueue(k);
  if (target !== undefined && ctx.claims.claimants(targetKeyOf(target)) === 0) ctx.scaleTarget.forget(target);
  ctx.tracked.delete(t.key);
  ctx.observer.removed(t.ref.namespace, t.ref.name);
};
