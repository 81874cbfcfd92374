// What the controller keeps per ScaledObject: the status it believes the server has, and —
// while the object is valid, owns its target and is not deleted — its scaling loop: the
// scalers (one per trigger), the ScalingSpec and the in-memory ScalingState.

import type { ResolvedTrigger } from '../../scalers/index.ts';
import { findCondition } from '../api/conditions.ts';
import type { HealthStatus, ScaledObject, ScaledObjectStatus } from '../api/scaledobject.ts';
import { API_VERSION, KIND } from '../api/scaledobject.ts';
import { type Logger, scaledObjectLogger } from '../logging.ts';
import type {
  EventRegarding,
  PlatformError,
  PlatformResult,
  ScaledObjectRef,
  TargetRef,
} from '../platform/ports.ts';
import type { Scaler } from '../scaler.ts';
import type { ScalingSpec, ScalingState, TriggerHealth } from '../scaling/types.ts';
import type { StatusChange } from './status.ts';

export const FINALIZER = 'autoscaling.ebb.dev/finalizer';

export interface LiveTrigger {
  readonly resolved: ResolvedTrigger;
  scaler: Scaler;
  /** The last read error's text while failing (for ScalerFailed/ScalerRecovered Events). */
  failure: string | undefined;
  /** sha256 of the auth parameters the scaler was built with ('' without; never the values). */
  readonly authDigest: string;
}

export interface Loop {
  /** metadata.generation the scalers and spec were built from. */
  readonly generation: number | undefined;
  target: TargetRef;
  spec: ScalingSpec;
  triggers: LiveTrigger[];
  state: ScalingState;
  /** Was the last poll active (seeded from status.conditions Active)? */
  wasActive: boolean;
  /** The last error reading the target, while it lasts (one Event per new error). */
  targetError: string | undefined;
  /** Which metrics were clamped from negative values in the last poll (one log line per change). */
  clamped?: string;
  /** HPA mode (the scaling-mode annotation): the HPA owns the count between transitions. */
  hpaMode: boolean;
  /** Settles when the poll in flight (if any) has finished. */
  inFlight: Promise<void> | undefined;
  /** A replicas read still out (a poll may have stopped waiting for it): reused, not repeated. */
  pendingRead?: Promise<PlatformResult<number>> | undefined;
  /** A scale write a poll stopped waiting for at its deadline: no other is sent until it settles. */
  pendingScale?: Promise<PlatformResult<number>> | undefined;
  closed: boolean;
}

export interface Tracked {
  readonly key: string;
  readonly ref: ScaledObjectRef;
  readonly regarding: EventRegarding;
  readonly log: Logger;
  /** The status as ebb last wrote or read it; patches are computed against this. */
  status: ScaledObjectStatus;
  generation: number | undefined;
  resourceVersion: string;
  finalizers: readonly string[];
  createdAt: number;
  loop: Loop | undefined;
  /**
   * Status a reconcile wants but left to the first poll of a new loop (one write, not two,
   * per new object; the first poll is due within a second).
   */
  deferred: StatusChange | undefined;
  /** generation, annotations, finalizers and deletion as last reconciled (skip status echoes). */
  fingerprint: string | undefined;
  /** Reconcile even when the fingerprint is unchanged (target ownership moved, a retry). */
  force: boolean;
  /** A status write waiting for its turn or in flight: the next one waits for it. */
  writing: Promise<void> | undefined;
  /**
   * The one write whose patch is not built yet (waiting for its turn at the writer, or behind
   * `writing`); later changes merge into it (Controller.writeStatus).
   */
  queuedStatus?: { change: StatusChange; done: Promise<void> } | undefined;
  /** Consecutive reconcile failures (requeue backoff). */
  failures: number;
  /**
   * The HPA ebb last kept for this object, null after it deleted it, undefined before either
   * (then status.hpaName says; it may trail both).
   */
  keptHpa?: string | null | undefined;
}

/** What a new entry starts from; every other field starts empty. */
export interface TrackedInit {
  readonly key: string;
  readonly ref: ScaledObjectRef;
  readonly regarding: EventRegarding;
  readonly status: ScaledObjectStatus;
  readonly generation: number | undefined;
  readonly resourceVersion: string;
  readonly finalizers: readonly string[];
  readonly createdAt: number;
}

/**
 * A Tracked entry. A class, not an object literal: V8 keeps a literal with a getter (the lazy
 * `log`) in dictionary mode, a property hash table per entry (1,136 B of 10,000 objects' heap
 * snapshot each, heap-components.ts); a getter on the prototype keeps entries in fast mode.
 * Every field, the optional ones too, is set here so all entries share one hidden class.
 */
export class TrackedEntry implements Tracked {
  readonly key: string;
  readonly ref: ScaledObjectRef;
  readonly regarding: EventRegarding;
  status: ScaledObjectStatus;
  generation: number | undefined;
  resourceVersion: string;
  finalizers: readonly string[];
  createdAt: number;
  loop: Loop | undefined = undefined;
  deferred: StatusChange | undefined = undefined;
  fingerprint: string | undefined = undefined;
  force = false;
  writing: Promise<void> | undefined = undefined;
  queuedStatus: { change: StatusChange; done: Promise<void> } | undefined = undefined;
  failures = 0;
  keptHpa: string | null | undefined = undefined;
  private logger: Logger | undefined = undefined;

  constructor(
    init: TrackedInit,
    private readonly parentLog: Logger,
  ) {
    this.key = init.key;
    this.ref = init.ref;
    this.regarding = init.regarding;
    this.status = init.status;
    this.generation = init.generation;
    this.resourceVersion = init.resourceVersion;
    this.finalizers = init.finalizers;
    this.createdAt = init.createdAt;
  }

  /** Made on first use: 10,000 idle objects need no 10,000 child loggers. */
  get log(): Logger {
    this.logger ??= scaledObjectLogger(this.parentLog, this.ref.namespace, this.ref.name);
    return this.logger;
  }
}

export const regardingOf = (ref: ScaledObjectRef): EventRegarding => ({
  ...ref,
  apiVersion: API_VERSION,
  kind: KIND,
});

export const targetRefOf = (so: ScaledObject, namespace: string): TargetRef => ({
  apiVersion: so.spec.scaleTargetRef.apiVersion ?? 'apps/v1',
  kind: so.spec.scaleTargetRef.kind ?? 'Deployment',
  name: so.spec.scaleTargetRef.name,
  namespace,
});

export const describeTarget = (t: TargetRef): string => `${t.kind} ${t.namespace}/${t.name}`;

/**
 * `status.scaleTargetKind` as KEDA writes it (GroupVersionKindResource.GVKString):
 *   group + "/" + version + "." + kind   (apps/v1.Deployment; the core group gives /v1.Kind)
 * from the resolved reference, so an empty `spec.scaleTargetRef.kind` reads apps/v1.Deployment.
 */
export const scaleTargetKindOf = (t: TargetRef): string => {
  const slash = t.apiVersion.indexOf('/');
  const group = slash === -1 ? '' : t.apiVersion.slice(0, slash);
  const version = slash === -1 ? t.apiVersion : t.apiVersion.slice(slash + 1);
  return `${group}/${version}.${t.kind}`;
};

const parseTime = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * The state a restarted (or newly elected) controller continues from. status.lastActiveTime is
 * written when activity starts and when it ends, not on every active poll (that would be a
 * write per poll); so when the status says the object was still active, it may have been
 * active until a moment ago, and the cooldown is counted from now — the safe side.
 */
export const seedState = (
  initial: ScalingState,
  status: ScaledObjectStatus,
  now: number,
): { state: ScalingState; wasActive: boolean } => {
  const wasActive = findCondition(status.conditions, 'Active')?.status === 'True';
  const lastActive = parseTime(status.lastActiveTime);
  const health: Record<string, TriggerHealth> = {};
  for (const [name, h] of Object.entries(status.health ?? {})) health[name] = healthFrom(h);
  return {
    state: {
      ...initial,
      lastActiveTime: wasActive ? now : lastActive,
      health,
    },
    wasActive,
  };
};

const healthFrom = (h: HealthStatus): TriggerHealth => ({
  numberOfFailures: h.numberOfFailures ?? 0,
  status: h.status ?? 'Happy',
});

/**
 * status.health as written: numberOfFailures is capped at the fallback threshold + 1 (the
 * count past which nothing changes), so a trigger failing for an hour does not cost a status
 * write per poll; the exact count lives in memory.
 */
export const persistedHealth = (
  health: Readonly<Record<string, TriggerHealth>>,
  spec: ScalingSpec,
): Record<string, HealthStatus> => {
  const cap = (spec.fallback?.failureThreshold ?? 0) + 1;
  const out: Record<string, HealthStatus> = {};
  for (const [name, h] of Object.entries(health)) {
    out[name] = { numberOfFailures: Math.min(h.numberOfFailures, cap), status: h.status };
  }
  return out;
};

/** The longest gap between two polls of an object with an http trigger. */
export const HTTP_POLLING_INTERVAL_MS = 1000;

/**
 * How often the scheduler polls an object:
 *   with an http trigger: min(pollingInterval, 1 s)   (Knative's windows take a sample per poll:
 *                                                      the 6 s panic window needs one a second)
 *   otherwise:            pollingInterval
 * An http poll reads the activators' counters from memory and the replicas from the informer
 * cache, and writes only on change, so a poll a second costs no API calls while nothing moves.
 */
export const pollingIntervalMs = (spec: ScalingSpec, triggers: readonly ResolvedTrigger[]): number => {
  const configured = spec.pollingIntervalSeconds * 1000;
  return triggers.some((r) => r.trigger.type === 'http')
    ? Math.min(configured, HTTP_POLLING_INTERVAL_MS)
    : configured;
};

/** Reads an adapter error as one line for a condition message or Event note. */
export const describeError = (e: PlatformError): string => e.message;
