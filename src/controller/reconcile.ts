// Reconcile one ScaledObject key: read the latest object from the cache, admit it, and bring
// the controller's own state in line — start, rebuild, pause or stop its scaling loop, claim its
// target, keep the finalizer, restore replicas on delete — reporting problems as conditions and
// Events. Scaling itself happens in the poll (poll.ts), on the scheduler's clock.
import { z } from 'zod';
import { type ConditionUpdate, findCondition } from '../api/conditions.ts';
import {
  AuthenticationError,
  formatProblem,
  HPAConflict,
  HPAFailed,
  InvalidSpec,
  InvalidTriggerMetadata,
  RouteConflict,
  ScaledObjectCheckFailed,
  ScaledObjectReady,
  ScaledObjectUnpaused,
  ScaleTargetInUse,
  ServicePortUnresolved,
  UnsupportedTriggerType,
} from '../api/reasons.ts';
import { ObjectMetaSchema, ScaledObjectStatusSchema } from '../api/scaledobject.ts';
import { targetKeyOf } from '../platform/ports.ts';
import { initialScalingState } from '../scaling/decide.ts';
import { admitScaledObject } from './admission.ts';
import { finalize, keepFinalizer } from './finalize.ts';
import { dropHpa, type HpaOutcome, hpaDefinitionOf, hpaNameOf, keepHpa, scalingModeOf } from './hpa-mode.ts';
import { liveTrigger, rebuildChangedAuth, withAuth } from './live-triggers.ts';
import { forget, retire, stopLoop } from './loop-lifecycle.ts';
import { holdPaused } from './pause.ts';
import { READY_MESSAGE } from './poll.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import { refuse, report } from './refusal.ts';
import {
  describeTarget,
  type LiveTrigger,
  pollingIntervalMs,
  regardingOf,
  seedState,
  TrackedEntry,
  targetRefOf,
} from './tracked.ts';

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
    t = new TrackedEntry(
      {
        key,
        ref,
        regarding: regardingOf(ref),
        status: status.success ? (status.data.status ?? {}) : {},
        generation: meta.generation,
        resourceVersion: meta.resourceVersion ?? '',
        finalizers: meta.finalizers ?? [],
        createdAt: parseTime(meta.creationTimestamp),
      },
      ctx.log,
    );
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
  for (const k of ctx.routeClaims().update(key, admission)) ctx.enqueue(k);
  if (meta.deletionTimestamp !== undefined) return finalize(ctx, t, admission);
  if (!admission.ok) return refuse(ctx, t, admission.problems);
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
  const routeProblems = ctx.routeClaims().problems(key);
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
    ? await keepHpa(ctx, t, hpaDefinitionOf(so, t.regarding, target, resolvedTriggers, admission.spec))
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
        spec: admission.spec,
        triggers,
        state: seeded.state,
        wasActive: seeded.wasActive,
        targetError: undefined,
        hpaMode: false,
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
        spec: admission.spec,
        triggers,
        closed: false,
      };
      old.closed = true;
      t.log.info({ generation: meta.generation }, 'spec changed; scalers rebuilt');
    }
    t.loop = loop;
  } else {
    loop.spec = admission.spec;
    rebuildChangedAuth(ctx, t, loop, resolvedTriggers, auth.digests);
  }
  // Reconcile sets the mode on every pass (the annotation may have changed without a new loop).
  loop.hpaMode = hpaWanted;

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
    ctx.scheduler.schedule(key, pollingIntervalMs(admission.spec, resolvedTriggers));
    const hpaName = hpaWanted ? hpaNameOf(so) : null;
    const change = { conditions, fields: { externalMetricNames, pausedReplicaCount: null, hpaName } };
    if (newLoop) t.deferred = change;
    else await ctx.writeStatus(t, change);
    return;
  }
  ctx.scheduler.unschedule(key);
  await holdPaused(ctx, t, loop, pause, conditions, externalMetricNames);
};
