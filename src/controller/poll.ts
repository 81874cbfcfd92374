// One poll of one ScaledObject (KEDA's scale_handler + executor, in one place):
//   read the target's replicas → read every trigger in parallel (a failing scaler is rebuilt
//   and read once more, as KEDA does) → decide() → write replicas only when they change →
//   Events on activation, deactivation, scaler failure and recovery → status, only what changed.

import { performance } from 'node:perf_hooks';
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
import type { EventRecorder, ScaleTarget, StatusPatch } from '../platform/ports.ts';
import { concurrencyScalingOf, type ReadError, type Reading, type Scaler } from '../scaler.ts';
import { decide } from '../scaling/decide.ts';
import { triggerReading } from '../scaling/readings.ts';
import type { ScaleDecision, TriggerReading } from '../scaling/types.ts';
import { replicasToWrite } from './hpa-mode.ts';
import type { ControllerObserver, TriggerObservation } from './observer.ts';
import type { StatusChange } from './status.ts';
import {
  describeTarget,
  type LiveTrigger,
  type Loop,
  persistedHealth,
  pollingIntervalMs,
  type Tracked,
} from './tracked.ts';

export interface PollContext {
  readonly scaleTarget: ScaleTarget;
  readonly events: EventRecorder;
  readonly now: () => number;
  /** A trigger read not settled by then counts as failed (the scaler also gets the abort). */
  readonly readTimeoutMs: number;
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
 * Every trigger read in parallel, bounded by the read timeout; `latencyMs[i]` receives how long
 * trigger i took (the timeout for one that did not settle).
 */
export const readTriggers = async (
  triggers: readonly LiveTrigger[],
  now: Date,
  timeoutMs: number,
  rebuild: (resolved: ResolvedTrigger) => Scaler,
  latencyMs: number[] = [],
): Promise<TriggerReading[]> => {
  const started = performance.now();
  for (let i = 0; i < triggers.length; i++) latencyMs[i] = timeoutMs;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(undefined);
    }, timeoutMs);
  });
  const reads = triggers.map((t, i) =>
    readTrigger(t, now, abort.signal, rebuild).then((r) => {
      latencyMs[i] = performance.now() - started;
      return r;
    }),
  );
  const all = await Promise.race([Promise.all(reads), timedOut]);
  clearTimeout(timer);
  if (all !== undefined) return all.map((r, i) => toReading(triggers[i] as LiveTrigger, r));
  return triggers.map((t) =>
    toReading(t, {
      ok: false,
      error: { reason: ScalerTimeout, message: `no reading within ${timeoutMs} ms` },
    }),
  );
};

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

const triggerEvents = (
  ctx: PollContext,
  t: Tracked,
  loop: Loop,
  readings: readonly TriggerReading[],
): void => {
  readings.forEach((r, i) => {
    const live = loop.triggers[i];
    if (live === undefined) return;
    const label = `trigger "${r.trigger}" (${live.resolved.trigger.type})`;
    if (!r.ok) {
      const text = `${r.reason}: ${r.message}`;
      if (live.failure !== text) {
        live.failure = text;
        ctx.events.record(t.regarding, {
          type: 'Warning',
          reason: ScalerFailed,
          action: 'Poll',
          note: `${label} failed: ${text}`,
        });
        t.log.warn({ trigger: r.trigger, reason: r.reason, err: r.message }, 'trigger read failed');
      }
    } else if (live.failure !== undefined) {
      live.failure = undefined;
      ctx.events.record(t.regarding, {
        type: 'Normal',
        reason: ScalerRecovered,
        action: 'Poll',
        note: `${label} is reading again`,
      });
      t.log.info({ trigger: r.trigger }, 'trigger recovered');
    }
  });
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
  const now = decision.clamped.map((c) => c.metric).join(',');
  if (now === (loop.clamped ?? '')) return;
  loop.clamped = now;
  if (decision.clamped.length > 0)
    t.log.warn({ clamped: decision.clamped }, 'negative metric value clamped to 0');
  else t.log.info('no negative metric values any more');
};

/** One poll; never throws (errors become conditions, Events and log lines). */
export const pollOnce = async (ctx: PollContext, t: Tracked, loop: Loop): Promise<void> => {
  const nowMs = ctx.now();
  const now = new Date(nowMs);
  const current = await ctx.scaleTarget.replicas(loop.target);
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
    await ctx.writeStatus(t, {
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: current.error.reason,
          message: current.error.message,
        },
      ],
    });
    return;
  }
  loop.targetError = undefined;

  const latencyMs: number[] = [];
  const readings =
    loop.triggers.length === 0
      ? []
      : await readTriggers(loop.triggers, now, ctx.readTimeoutMs, ctx.createScaler, latencyMs);
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
  if (desired !== current.value) {
    const scaled = await ctx.scaleTarget.scale(loop.target, desired);
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
  fields.currentReplicas = replicas;
  fields.desiredReplicas = desired;
  fields.health = persistedHealth(decision.state.health, loop.spec);
  await ctx.writeStatus(t, { conditions: pollConditions(decision, loop), fields });
};
