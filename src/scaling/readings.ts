// The boundary every trigger value crosses before the scaling core sees it (the controller's poll
// and `ebb simulate` both come through here), so a number is never turned into 0 silently:
//   NaN, ±Infinity -> a failed read (MetricNotFinite) naming the trigger: its failure counts
//                     toward the fallback, and a failing trigger never scales to zero
//   value < 0      -> 0, as KEDA clamps it, with `clampedFrom` keeping the raw value so that the
//                     decision lists it (--explain), the log says so and a metric counts it
//   otherwise      -> the value
import { MetricNotFinite } from '../api/reasons.ts';
import type { ConcurrencyScaling, TriggerReading } from './types.ts';

/** Who a value belongs to: the trigger's key and metric. */
export interface ReadingSource {
  readonly trigger: string;
  readonly metricName: string;
  readonly target: number;
  readonly metricType: 'AverageValue' | 'Value';
}

export const triggerReading = (
  source: ReadingSource,
  value: number,
  active: boolean,
  concurrency?: ConcurrencyScaling,
): TriggerReading => {
  const { trigger, metricName, target, metricType } = source;
  if (!Number.isFinite(value)) {
    return {
      ok: false,
      trigger,
      metricName,
      target,
      metricType,
      reason: MetricNotFinite,
      message: `trigger "${trigger}" (${metricName}) read ${value}, not a finite number`,
    };
  }
  return {
    ok: true,
    trigger,
    metricName,
    value: Math.max(value, 0),
    target,
    metricType,
    active,
    ...(value < 0 ? { clampedFrom: value } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
  };
};
