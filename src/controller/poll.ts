// One poll of one ScaledObject (KEDA's scale_handler + executor, in one place):
//   read the target's replicas → read every trigger in parallel (a failing scaler is rebuilt
//   and read once more, as KEDA does) → decide() → write replicas only when they change →
//   Events on activation, deactivation, scaler failure and recovery → status, only what changed.
//
// One deadline per poll (`--poll-timeout`, PollContext.pollTimeoutMs) bounds every call it makes
// to the world, so a poll ends by then whatever its sources and the API do: a trigger that has
// not answered is a ScalerTimeout trigger error (fallback applies; never a scale to zero), a
// target read or scale write that has not answered is ScaleTargetTimeout. A call left behind is
// not repeated while it is pending (one target read and one scale write per object at most),
// and the status write it waits for is queued, not repeated (Controller.writeStatus).

import type { ResolvedTrigger } from '../../scalers/index.ts';
import type { ConditionUpdate } from '../api/conditions.ts';
import { toRFC3339 } from '../api/conditions.ts';
import {
  FallbackExists,
  NoFallbackFound,
  ScaledObjectReady,
  ScalerError,
  ScalerFailed,
  ScalerRecovered,
  ScalerTimeout,
  ScaleTargetActivated,
  ScaleTargetDeactivated,
  ScaleTargetScaled,
  TriggerError,
} from '../api/reasons.ts';
import type { Clock } from '../clock.ts';
import type { EventRecorder, PlatformResult, ScaleTarget, StatusPatch } from '../platform/ports.ts';
import { concurrencyScalingOf, type ReadError, type Reading, type Scaler } from '../scaler.ts';
import { decide } from '../scaling/decide.ts';
import { triggerReading } from '../scaling/readings.ts';
import type { ScaleDecision, TriggerReading } from '../scaling/types.ts';
import { replicasToWrite } from './hpa-mode.ts';
import type { ControllerObserver, TriggerObservation } from './observer.ts';
import { EXPIRED, PollDeadline, pendingUntilSettled, timedOut } from './poll-deadline.ts';
import type { StatusChange } from './status.ts';
import {
  describeTarget,
  type LiveTrigger,
  type Loop,
  persistedHealth,
  pollingIntervalMs,
  scaleTargetKindOf,
  type Tracked,
} from './tracked.ts';

export interface PollContext {
  readonly scaleTarget: ScaleTarget;
  readonly events: EventRecorder;
  /** Wall-clock ms for decide() and status times (the clock's wallNow). */
  readonly now: () => number;
  /** Arms each poll's deadline and times the trigger reads (monotonic). */
  readonly clock: Clock;
  /** A poll's deadline: calls not settled by then count as failed (the scalers get the abort). */
  readonly pollTimeoutMs: number;
  readonly createScaler: (resolved: ResolvedTrigger) => Scaler;
  readonly observer: ControllerObserver;
  writeStatus(t: Tracked, change: StatusChange): Promise<void>;
}

export const READY_MESSAGE = 'ScaledObject is defined correctly and is ready for scaling';

type ReadResult = { ok: true; value: Reading } | { ok: false; error: ReadError };

const safeRead = async (scaler: Scaler, now: Date, signal: AbortSignal): Promise<ReadResult> => {
  try {
    return await scaler.read(now, signal);
  } catch (err) {
    return {
      ok: false,
      error: { reason: ScalerError, message: err instanceof Error ? err.message : String(err) },
    };
  }
};

/** Reads one trigger; on failure closes and rebuilds its scaler and reads once more. */
const readTrigger = async (
  live: LiveTrigger,
  now: Date,
  signal: AbortSignal,
  rebuild: (resolved: ResolvedTrigger) => Scaler,
): Promise<ReadResult> => {
  const first = await safeRead(live.scaler, now, signal);
  if (first.ok || signal.aborted) return first;
  const old = live.scaler;
  void old.close().catch(() => {});
  try {
    live.scaler = rebuild(live.resolved);
  } catch (err) {
    return {
      ok: false,
      error: { reason: ScalerError, message: err instanceof Error ? err.message : String(err) },
    };
  }
  return safeRead(live.scaler, now, signal);
};

const toReading = (live: LiveTrigger, r: ReadResult): TriggerReading => {
  const { key, metric } = live.resolved;
  if (r.ok) {
    // NaN/infinite -> a failed read, negative -> 0 and noted (src/scaling/readings.ts). An http
    // trigger in concurrency mode: decide() applies Knative's stable/panic windows.
    const source = {
      trigger: key,
      metricName: metric.name,
      target: metric.target,
      metricType: metric.metricType,
    };
    return triggerReading(source, r.value.value, r.value.active, concurrencyScalingOf(r.value));
  }
  return {
    ok: false,
    trigger: key,
    metricName: metric.name,
    target: metric.target,
    metricType: metric.metricType,
    reason: r.error.reason,
    message: r.error.message,
  };
};

/**
 * Every trigger read in parallel, bounded by the poll's deadline; `latencyMs[i]` receives how
 * long trigger i took (the deadline for one that did not settle).
 */
export const readTriggers = async (
  triggers: readonly LiveTrigger[],
  now: Date,
  deadline: PollDeadline,
  rebuild: (resolved: ResolvedTrigger) => Scaler,
  latencyMs: number[] = [],
): Promise<TriggerReading[]> => {
  const clock = deadline.clock;
  const started = clock.now();
  const only = triggers.length === 1 ? triggers[0] : undefined;
  if (only !== undefined) {
    // One trigger (the common case): the same, without the arrays and closures of the many.
    const r = await deadline.within(readTrigger(only, now, deadline.signal, rebuild));
    latencyMs[0] = r === EXPIRED ? deadline.ms : clock.now() - started;
    return [toReading(only, r === EXPIRED ? readTimeout(deadline) : r)];
  }
  const results: (ReadResult | undefined)[] = triggers.map(() => undefined);
  const reads = triggers.map((t, i) =>
    readTrigger(t, now, deadline.signal, rebuild).then((r) => {
      latencyMs[i] = clock.now() - started;
      results[i] = r;
    }),
  );
  await deadline.within(Promise.all(reads));
  // Triggers that answered keep their reading; only those still out are timeouts.
  return triggers.map((t, i) => {
    const r = results[i];
    if (r !== undefined) return toReading(t, r);
    latencyMs[i] = deadline.ms;
    return toReading(t, readTimeout(deadline));
  });
};

/** A trigger still out at the poll's deadline. */
const readTimeout = (deadline: PollDeadline): ReadResult => ({
  ok: false,
  error: { reason: ScalerTimeout, message: `no reading within ${deadline.ms} ms` },
});

/** The core decides whether the target is active, why, and in which words (activation.ts). */
const activeCondition = (d: ScaleDecision): ConditionUpdate => ({
  type: 'Active',
  status: d.active ? 'True' : 'False',
  reason: d.activeReason,
  message: d.activeMessage,
});

/** The conditions a poll owns. Messages are stable texts: a changing message is a status write. */
export const pollConditions = (d: ScaleDecision, loop: Loop): ConditionUpdate[] => [
  d.triggerError === undefined
    ? { type: 'Ready', status: 'True', reason: ScaledObjectReady, message: READY_MESSAGE }
    : { type: 'Ready', status: 'False', reason: TriggerError, message: d.triggerError.message },
  activeCondition(d),
  d.fallbackActive
    ? {
        type: 'Fallback',
        status: 'True',
        reason: FallbackExists,
        message: `At least one trigger is failing; using fallback replicas (${loop.spec.fallback?.replicas ?? 0})`,
      }
    : { type: 'Fallback', status: 'False', reason: NoFallbackFound, message: 'No fallback was found' },
];

/** Trigger `i` as Events name it. */
const triggerLabel = (r: TriggerReading, live: LiveTrigger): string =>
  `trigger "${r.trigger}" (${live.resolved.trigger.type})`;

/** ScalerFailed when a trigger's error text changes, ScalerRecovered when it reads again. */
const triggerEvents = (
  ctx: PollContext,
  t: Tracked,
  loop: Loop,
  readings: readonly TriggerReading[],
): void => {
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i] as TriggerReading;
    const live = loop.triggers[i];
    if (live === undefined) continue;
    if (!r.ok) {
      const text = `${r.reason}: ${r.message}`;
      if (live.failure !== text) {
        live.failure = text;
        ctx.events.record(t.regarding, {
          type: 'Warning',
          reason: ScalerFailed,
          action: 'Poll',
          note: `${triggerLabel(r, live)} failed: ${text}`,
        });
        t.log.warn({ trigger: r.trigger, reason: r.reason, err: r.message }, 'trigger read failed');
      }
    } else if (live.failure !== undefined) {
      live.failure = undefined;
      ctx.events.record(t.regarding, {
        type: 'Normal',
        reason: ScalerRecovered,
        action: 'Poll',
        note: `${triggerLabel(r, live)} is reading again`,
      });
      t.log.info({ trigger: r.trigger }, 'trigger recovered');
    }
  }
};

const observeTriggers = (
  loop: Loop,
  readings: readonly TriggerReading[],
  latencyMs: readonly number[],
): TriggerObservation[] =>
  readings.map((r, i) => {
    const resolved = loop.triggers[i]?.resolved;
    const base = {
      trigger: r.trigger,
      type: resolved?.trigger.type ?? '',
      index: resolved?.index ?? i,
      metricName: r.metricName,
      target: r.target,
      metricType: r.metricType,
      latencyMs: latencyMs[i] ?? 0,
    };
    if (!r.ok) return { ...base, error: { reason: r.reason, message: r.message } };
    return r.clampedFrom === undefined
      ? { ...base, value: r.value, active: r.active }
      : { ...base, value: r.value, active: r.active, clampedFrom: r.clampedFrom };
  });

/** Negative values counted as 0: one log line when the set of clamped metrics changes. */
const logClamped = (t: Tracked, loop: Loop, decision: ScaleDecision): void => {
  if (decision.clamped.length === 0 && (loop.clamped ?? '') === '') return; // the common case
  const now = decision.clamped.map((c) => c.metric).join(',');
  if (now === (loop.clamped ?? '')) return;
  loop.clamped = now;
  if (decision.clamped.length > 0)
    t.log.warn({ clamped: decision.clamped }, 'negative metric value clamped to 0');
  else t.log.info('no negative metric values any more');
};

/**
 * The target's replicas; a read still out from an earlier poll is waited for, not repeated.
 * Only a read the deadline left behind is kept (polls of one object never overlap, so no other
 * poll can ask while one waits for it).
 */
const replicasOf = async (
  ctx: PollContext,
  loop: Loop,
  deadline: PollDeadline,
): Promise<PlatformResult<number> | typeof EXPIRED> => {
  const read = loop.pendingRead ?? ctx.scaleTarget.replicas(loop.target);
  const answered = await deadline.within(read);
  if (answered === EXPIRED && loop.pendingRead === undefined) pendingUntilSettled(loop, 'pendingRead', read);
  return answered;
};

/** One poll; never throws (errors become conditions, Events and log lines); ends by its deadline. */
export const pollOnce = async (ctx: PollContext, t: Tracked, loop: Loop): Promise<void> => {
  const deadline = new PollDeadline(ctx.pollTimeoutMs, ctx.clock);
  try {
    await pollWithin(ctx, t, loop, deadline);
  } finally {
    deadline.clear();
  }
};

const pollWithin = async (
  ctx: PollContext,
  t: Tracked,
  loop: Loop,
  deadline: PollDeadline,
): Promise<void> => {
  const nowMs = ctx.now();
  const now = new Date(nowMs);
  const answered = await replicasOf(ctx, loop, deadline);
  const current =
    answered === EXPIRED
      ? timedOut(`reading the replicas of ${describeTarget(loop.target)}`, deadline.ms)
      : answered;
  if (loop.closed) return;
  if (!current.ok) {
    if (loop.targetError !== current.error.message) {
      loop.targetError = current.error.message;
      ctx.events.record(t.regarding, {
        type: 'Warning',
        reason: current.error.reason,
        action: 'Poll',
        note: current.error.message,
      });
      t.log.warn({ reason: current.error.reason, err: current.error.message }, 'cannot read scale target');
    }
    ctx.observer.targetFailed(t.ref.namespace, t.ref.name, current.error.reason);
    await deadline.within(
      ctx.writeStatus(t, {
        conditions: [
          { type: 'Ready', status: 'False', reason: current.error.reason, message: current.error.message },
        ],
      }),
    );
    return;
  }
  loop.targetError = undefined;

  const latencyMs: number[] = [];
  const readings =
    loop.triggers.length === 0
      ? []
      : await readTriggers(loop.triggers, now, deadline, ctx.createScaler, latencyMs);
  if (loop.closed) return;
  let decision: ScaleDecision;
  try {
    decision = decide(loop.spec, { now: nowMs, currentReplicas: current.value, readings }, loop.state);
  } catch (err) {
    t.log.error({ err: err instanceof Error ? err.message : String(err) }, 'decide failed');
    return;
  }
  loop.state = decision.state;
  triggerEvents(ctx, t, loop, readings);
  logClamped(t, loop, decision);

  const fields: StatusPatch = {};
  let replicas = current.value;
  // HPA mode: the HPA owns 1 <-> N; ebb writes only 0 <-> 1 (hpa-mode.ts).
  const desired = replicasToWrite(loop, current.value, decision);
  if (desired !== current.value && loop.pendingScale !== undefined) {
    // A write an earlier poll stopped waiting for may still land: never two at once.
    t.log.warn({ desired }, 'an earlier scale write has not answered yet; not writing again');
  } else if (desired !== current.value) {
    const write = ctx.scaleTarget.scale(loop.target, desired);
    const answer = await deadline.within(write);
    if (answer === EXPIRED) pendingUntilSettled(loop, 'pendingScale', write);
    const scaled =
      answer === EXPIRED
        ? timedOut(`scaling ${describeTarget(loop.target)} to ${desired} (it may still land)`, deadline.ms)
        : answer;
    if (scaled.ok) {
      replicas = scaled.value;
      if (t.status.originalReplicaCount === undefined) fields.originalReplicaCount = current.value;
      const reason =
        decision.transition === 'activated'
          ? ScaleTargetActivated
          : decision.transition === 'deactivated'
            ? ScaleTargetDeactivated
            : ScaleTargetScaled;
      ctx.events.record(t.regarding, {
        type: 'Normal',
        reason,
        action: 'Scale',
        note: `Scaled ${describeTarget(loop.target)} from ${current.value} to ${replicas}: ${decision.explanation}`,
      });
      t.log.info({ from: current.value, to: replicas, why: decision.explanation }, 'scaled');
    } else {
      ctx.events.record(t.regarding, {
        type: 'Warning',
        reason: scaled.error.reason,
        action: 'Scale',
        note: `cannot scale ${describeTarget(loop.target)} to ${desired}: ${scaled.error.message}`,
      });
      t.log.warn({ err: scaled.error.message, desired: desired }, 'scale failed');
    }
  }

  // lastActiveTime: written when activity starts and when it ends (see seedState).
  if (decision.active !== loop.wasActive) {
    const at = decision.active ? nowMs : decision.state.lastActiveTime;
    if (at !== undefined) fields.lastActiveTime = toRFC3339(new Date(at));
    loop.wasActive = decision.active;
  }
  ctx.observer.polled({
    namespace: t.ref.namespace,
    name: t.ref.name,
    at: nowMs,
    pollingIntervalMs: pollingIntervalMs(
      loop.spec,
      loop.triggers.map((l) => l.resolved),
    ),
    triggers: observeTriggers(loop, readings, latencyMs),
    currentReplicas: replicas,
    desiredReplicas: desired,
    active: decision.active,
    error: decision.triggerError !== undefined || replicas !== desired,
    clamped: decision.clamped,
  });
  fields.scaleTargetKind = scaleTargetKindOf(loop.target);
  fields.currentReplicas = replicas;
  fields.desiredReplicas = desired;
  // Names, not values: it changes when activity moves between triggers, not every poll.
  fields.activeTriggers = decision.activeTriggers.length > 0 ? decision.activeTriggers.join(',') : null;
  fields.health = persistedHealth(decision.state.health, loop.spec);
  // A status API that does not answer holds this write queued (Controller.writeStatus), not the poll.
  await deadline.within(ctx.writeStatus(t, { conditions: pollConditions(decision, loop), fields }));
};
