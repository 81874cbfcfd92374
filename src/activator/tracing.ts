// Trace context of held requests. `traceparent` and `tracestate` (W3C Trace Context) are
// end-to-end headers: the activator forwards them unchanged, like any other, tracing on or off.
// When an exporter is configured (src/observability/otlp-tracer.ts, loaded only then), the hold
// queue asks its HoldTracer for one span per held request, a child of the request's traceparent,
// ended when the request leaves the queue with its outcome. Off (no tracer), the hold queue skips
// one `undefined` check per held request and nothing else runs: no header is parsed, nothing of
// OpenTelemetry is loaded, and requests that are not held never reach this code.

import type { ActivatorObserver } from './observer.ts';

/** The outcome a held request leaves the queue with (the observer's `heldDone` outcomes). */
export type HeldOutcome = Parameters<ActivatorObserver['heldDone']>[2];

/** One held request's span, open from the hold to the outcome. */
export interface HeldSpan {
  /** `holdMs`: time held; `coldStart`: held while the route had no ready endpoint. */
  end(outcome: HeldOutcome, holdMs: number, coldStart: boolean): void;
}

/** Starts held-request spans; the activator's port to a tracing backend. */
export interface HoldTracer {
  startHeld(
    route: string,
    method: string,
    parent: TraceParent | undefined,
    tracestate: string | undefined,
  ): HeldSpan;
}

/** A parsed `traceparent`. */
export interface TraceParent {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  readonly parentId: string;
  /** The trace-flags byte (bit 0: sampled). */
  readonly flags: number;
}

const isLowerHex = (s: string, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
};

const allZero = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
};

/**
 * W3C Trace Context §3.2: `version "-" trace-id "-" parent-id "-" trace-flags`, all lower-case
 * hex (2, 32, 16, 2 digits). Version ff is invalid; version 00 is exactly 55 characters; a later
 * version may append fields after a "-" (read as version 00, §3.2.4). An all-zero trace-id or
 * parent-id is invalid. undefined for anything invalid (then tracestate is ignored too, and the
 * span starts a new trace). Two traceparent lines reach here joined by ", " and are refused.
 */
export const parseTraceParent = (value: string | undefined): TraceParent | undefined => {
  if (value === undefined || value.length < 55) return undefined;
  if (!isLowerHex(value, 0, 2) || value.startsWith('ff')) return undefined;
  if (value.startsWith('00') ? value.length !== 55 : value.length > 55 && value[55] !== '-') return undefined;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  if (!isLowerHex(value, 3, 35) || !isLowerHex(value, 36, 52) || !isLowerHex(value, 53, 55)) return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (allZero(traceId) || allZero(parentId)) return undefined;
  return { traceId, parentId, flags: Number.parseInt(value.slice(53, 55), 16) };
};
