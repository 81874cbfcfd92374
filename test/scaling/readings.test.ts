// The boundary every reading crosses (the controller's poll and `ebb simulate`): no silent zeros.
import { describe, expect, it } from 'vitest';
import { triggerReading } from '../../src/scaling/readings.ts';

const SOURCE = {
  trigger: 'q',
  metricName: 's0-kafka-orders',
  target: 10,
  metricType: 'AverageValue',
} as const;

describe('triggerReading', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    '%s is a failed read naming the trigger (MetricNotFinite)',
    (value) => {
      expect(triggerReading(SOURCE, value, true)).toEqual({
        ok: false,
        ...SOURCE,
        reason: 'MetricNotFinite',
        message: `trigger "q" (s0-kafka-orders) read ${value}, not a finite number`,
      });
    },
  );

  it('a negative value is clamped to 0, as KEDA does, and keeps what it was', () => {
    expect(triggerReading(SOURCE, -3.5, false)).toEqual({
      ok: true,
      ...SOURCE,
      value: 0,
      active: false,
      clampedFrom: -3.5,
    });
  });

  it.each([0, 0.25, 1e9])('%s passes as it is', (value) => {
    expect(triggerReading(SOURCE, value, value > 0)).toEqual({
      ok: true,
      ...SOURCE,
      value,
      active: value > 0,
    });
  });

  it('a concurrency trigger keeps its scaling', () => {
    const reading = triggerReading(SOURCE, 4, true, { targetPerReplica: 2 });
    expect(reading).toMatchObject({ ok: true, value: 4, concurrency: { targetPerReplica: 2 } });
  });
});
