// The http metric, pure: a route's counters (summed over every activator) in, the metric value
// and its activity out. The I/O side (source.ts) keeps the short history of counters the
// request rate, the interval-average concurrency and the activity rule need.

import type { HttpScalingMode } from '../../src/routing/http-trigger.ts';
import { clampedCounters, type RouteCounters } from '../../src/routing/reports.ts';
import { clampMetric, type Reading } from '../../src/scaler.ts';

/** The summed counters at a time. */
export interface RequestSample {
  readonly at: number;
  readonly requests: number;
  readonly concurrencyMs?: number;
}

/**
 * Appends `sample` and drops what no longer matters: samples older than `windowMs` before the
 * newest, except that the newest two are always kept (activity compares the last two). A
 * sample not newer than the last one replaces it when at the same time, else is ignored.
 */
export const recordRequestSample = (
  history: readonly RequestSample[],
  sample: RequestSample,
  windowMs: number,
): RequestSample[] => {
  const last = history.at(-1);
  if (last !== undefined && sample.at < last.at) return [...history];
  const appended =
    last !== undefined && sample.at === last.at ? [...history.slice(0, -1), sample] : [...history, sample];
  const from = sample.at - windowMs;
  return appended.filter((s, i) => s.at >= from || i >= appended.length - 2);
};

/**
 * Requests counted between consecutive samples; a counter that went down (an activator
 * restarted and its share of the sum started from 0 again) adds nothing for that step, so a
 * restart never looks like a burst.
 *   increase = Σ max(0, requests_i - requests_(i-1))
 */
export const requestIncrease = (samples: readonly RequestSample[]): number => {
  let increase = 0;
  for (let i = 1; i < samples.length; i++) {
    const step = (samples[i]?.requests ?? 0) - (samples[i - 1]?.requests ?? 0);
    if (step > 0) increase += step;
  }
  return increase;
};

/**
 * Requests per second over the trailing window, from the samples inside it:
 *   rate = increase(samples in [now - window, now]) / ((at_last - at_first) / 1000)
 * The divisor is the time the samples cover, not the whole window, so a young history is not
 * diluted; 0 until two samples exist.
 */
export const requestRate = (history: readonly RequestSample[], windowMs: number): number => {
  const last = history.at(-1);
  if (last === undefined) return 0;
  const inWindow = history.filter((s) => s.at >= last.at - windowMs);
  const first = inWindow[0];
  if (first === undefined || last.at <= first.at) return 0;
  return requestIncrease(inWindow) / ((last.at - first.at) / 1000);
};

/**
 * The average concurrency between the last two samples, when both carry the integral:
 *   average = (concurrencyMs_1 - concurrencyMs_0) / (at_1 - at_0)
 * undefined without it, for a zero interval, or when the integral went down (a restart).
 */
export const intervalConcurrency = (samples: readonly RequestSample[]): number | undefined => {
  const previous = samples.at(-2);
  const last = samples.at(-1);
  if (previous?.concurrencyMs === undefined || last?.concurrencyMs === undefined) return undefined;
  const dt = last.at - previous.at;
  const dc = last.concurrencyMs - previous.concurrencyMs;
  return dt > 0 && dc >= 0 ? dc / dt : undefined;
};

export interface HttpMetric extends Reading {
  /** max(inFlight + held now, the average since the previous reading) across every activator. */
  readonly concurrency: number;
  /** Requests per second over the window (request-rate mode only). */
  readonly requestRate: number | undefined;
  /** Requests counted since the previous reading (0 on the first). */
  readonly newRequests: number;
  /**
   * targetConcurrency when the value is a concurrency to be shared per replica (concurrency
   * mode, metricType AverageValue): the scaling core then applies Knative's stable/panic
   * windows to it (Reading.concurrencyTarget). undefined in request-rate mode and with
   * metricType Value (HPA formula).
   */
  readonly concurrencyTarget: number | undefined;
}

/**
 * The metric and its activity from the route's current counters and the history (ending with
 * the current sample):
 *   concurrency  = max(inFlight + held, intervalConcurrency(history) ?? 0)
 *   concurrency mode:  value = concurrency                   (target: targetConcurrency per replica)
 *   request rate mode: value = requestRate(history, window)  (target: targetRequestRate per replica)
 *   active = concurrency > 0 || requests grew since the previous reading
 *   concurrencyTarget = targetConcurrency in concurrency mode with an AverageValue target
 * The max keeps both a burst that just began and one that came and went between two readings;
 * the requests clause catches requests too short to show in either, so a route is idle only
 * when nothing was in flight, held or received for the whole time it was watched.
 */
export const computeHttpMetric = (
  mode: HttpScalingMode,
  counters: RouteCounters,
  history: readonly RequestSample[],
  metricType: 'AverageValue' | 'Value' = 'AverageValue',
): HttpMetric => {
  const { inFlight, held } = clampedCounters(counters);
  const instant = inFlight + held;
  const concurrency = Math.max(instant, clampMetric(intervalConcurrency(history) ?? 0));
  const newRequests = requestIncrease(history.slice(-2));
  const rate = mode.kind === 'requestRate' ? clampMetric(requestRate(history, mode.windowMs)) : undefined;
  return {
    value: rate ?? concurrency,
    active: concurrency > 0 || newRequests > 0,
    concurrency,
    requestRate: rate,
    newRequests,
    concurrencyTarget: mode.kind === 'concurrency' && metricType === 'AverageValue' ? mode.target : undefined,
  };
};
