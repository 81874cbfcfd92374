// Shared builders for the scaling tests: readings, specs, and one expectDecision helper whose
// failure message shows the label and the decision's own explanation next to the diff.
import { expect } from 'vitest';
import type { PauseSettings } from '../../src/api/annotations.ts';
import type { ScaledObjectSpec } from '../../src/api/scaledobject.ts';
import { scalingSpecFrom } from '../../src/scaling/spec.ts';
import type { ScaleDecision, ScalingSpec, TriggerReading } from '../../src/scaling/types.ts';

/** A fixed epoch for tests: 2024-01-01T00:00:00Z. */
export const T0 = Date.UTC(2024, 0, 1);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export const NO_PAUSE: PauseSettings = {
  pause: { kind: 'none' },
  scaleInPaused: false,
  scaleOutPaused: false,
};

/** A successful reading; AverageValue and active iff value > 0 unless told otherwise. */
export const reading = (
  trigger: string,
  value: number,
  target: number,
  opts: {
    readonly active?: boolean;
    readonly metricType?: 'AverageValue' | 'Value';
    readonly metricName?: string;
  } = {},
): TriggerReading => ({
  ok: true,
  trigger,
  metricName: opts.metricName ?? `s0-${trigger}`,
  value,
  target,
  metricType: opts.metricType ?? 'AverageValue',
  active: opts.active ?? value > 0,
});

/** A failed reading. */
export const failing = (
  trigger: string,
  target = 5,
  opts: { readonly metricName?: string; readonly metricType?: 'AverageValue' | 'Value' } = {},
): TriggerReading => ({
  ok: false,
  trigger,
  metricName: opts.metricName ?? `s0-${trigger}`,
  target,
  metricType: opts.metricType ?? 'AverageValue',
  reason: 'KafkaError',
  message: `dial tcp 127.0.0.1:9092: connect: connection refused (${trigger})`,
});

/** A ScaledObject spec with one named trigger, overlaid with `overlay`. */
export const soSpec = (overlay: Partial<ScaledObjectSpec> = {}): ScaledObjectSpec => ({
  scaleTargetRef: { name: 'worker' },
  triggers: [{ type: 'kafka', name: 'orders', metadata: { topic: 'orders' } }],
  ...overlay,
});

/** scalingSpecFrom that must succeed. */
export const specOf = (
  overlay: Partial<ScaledObjectSpec> = {},
  pause: PauseSettings = NO_PAUSE,
): ScalingSpec => {
  const result = scalingSpecFrom(soSpec(overlay), pause);
  if (!result.ok) throw new Error(`spec rejected: ${JSON.stringify(result.error)}`);
  return result.value;
};

export type ExpectedDecision = Partial<Omit<ScaleDecision, 'state'>> & {
  readonly lastActiveTime?: number | undefined;
};

/**
 * Compares the fields named in `expected` (plus `lastActiveTime` from the state) and fails with
 * a diff that carries the label and the decision's explanation.
 */
export const expectDecision = (label: string, actual: ScaleDecision, expected: ExpectedDecision): void => {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) {
    picked[key] =
      key === 'lastActiveTime'
        ? actual.state.lastActiveTime
        : (actual as unknown as Record<string, unknown>)[key];
  }
  expect(picked, `${label}\n  explanation: ${actual.explanation}`).toEqual(expected);
};
