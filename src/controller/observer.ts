// What the controller tells the outside about its work, as plain data: the Prometheus metrics
// (src/observability) and the external-metrics adapter's readings (src/metrics) both implement
// it. Calls are synchronous and must be cheap and never throw (a poll calls `polled` once).
import type { PlatformReason, ReadErrorReason, ReportRefusal } from '../api/reasons.ts';
import type { ClampedValue } from '../scaling/types.ts';

/** One trigger's outcome in one poll. */
export interface TriggerObservation {
  /** The trigger's name, or `<type>-<index>` when unnamed (its key in the ScaledObject). */
  readonly trigger: string;
  /** The scaler type, e.g. `kafka`, `rabbitmq`, `cron`, `http`. */
  readonly type: string;
  /** Position in spec.triggers. */
  readonly index: number;
  /** KEDA-style metric name, e.g. `s0-rabbitmq-orders`. */
  readonly metricName: string;
  /** The metric's target per replica (or total for `Value`). */
  readonly target: number;
  readonly metricType: 'AverageValue' | 'Value' | 'Utilization';
  /** Wall time the read took (ms), retry included. */
  readonly latencyMs: number;
  /** Present when the read succeeded: the value (a finite number ≥ 0). */
  readonly value?: number;
  /** The raw value when it was negative and `value` is the 0 it was clamped to. */
  readonly clampedFrom?: number;
  readonly active?: boolean;
  /** Present when the read failed. */
  readonly error?: { readonly reason: ReadErrorReason; readonly message: string };
}

export interface PollObservation {
  readonly namespace: string;
  readonly name: string;
  /** ms since the epoch the poll started. */
  readonly at: number;
  /** How often the controller polls this object now (ms): the next poll is due at `at` + this. */
  readonly pollingIntervalMs?: number;
  readonly triggers: readonly TriggerObservation[];
  /** The target's replicas after the poll (what /scale says, or what was written). */
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly active: boolean;
  /** True when the poll hit an error: a failed trigger, an unreadable target or a failed write. */
  readonly error: boolean;
  /** Negative values counted as 0 in this poll (trigger metrics and `composite-metric`). */
  readonly clamped?: readonly ClampedValue[];
}

export interface ControllerObserver {
  /** After every poll of an object. */
  polled(o: PollObservation): void;
  /** After a poll could not read the target (no trigger was read). */
  targetFailed(namespace: string, name: string, reason: PlatformReason): void;
  /** Whether the object is paused now (called when it is first seen and on every change). */
  paused(namespace: string, name: string, paused: boolean): void;
  /** How late a poll started against its schedule (ms). */
  pollStarted(namespace: string, name: string, latenessMs: number): void;
  /** The object is gone (deleted, or no longer watched): forget every series and reading. */
  removed(namespace: string, name: string): void;
}

/** An observer that does nothing (the default). */
export const noopObserver: Readonly<ControllerObserver> = {
  polled: () => {},
  targetFailed: () => {},
  paused: () => {},
  pollStarted: () => {},
  removed: () => {},
};

/** Fans every call out to each observer; one that throws does not stop the others. */
export const combineObservers = (...observers: readonly ControllerObserver[]): ControllerObserver => {
  // No rest parameters on the calls: `polled` and `pollStarted` run on every poll, and a rest
  // parameter is an array allocated per call.
  const each = (call: (o: ControllerObserver) => void): void => {
    for (const o of observers) {
      try {
        call(o);
      } catch {
        // an observer's fault must never reach the poll
      }
    }
  };
  return {
    polled: (x) => each((o) => o.polled(x)),
    targetFailed: (ns, n, r) => each((o) => o.targetFailed(ns, n, r)),
    paused: (ns, n, p) => each((o) => o.paused(ns, n, p)),
    pollStarted: (ns, n, l) => each((o) => o.pollStarted(ns, n, l)),
    removed: (ns, n) => each((o) => o.removed(ns, n)),
  };
};

/**
 * What the receiver of the activators' reports (activator-reports.ts) tells the outside: the
 * Prometheus metrics implement it (ebb_activator_reports_refused_total).
 */
export interface ReportObserver {
  /** A report, poke or goodbye was refused, and why. */
  reportRefused(reason: ReportRefusal): void;
}

export const noopReportObserver: Readonly<ReportObserver> = { reportRefused: () => {} };
