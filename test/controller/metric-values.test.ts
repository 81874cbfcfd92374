// No silent zeros at the poll: a NaN or infinite reading is a failed read (the fallback applies,
// nothing goes to zero); a negative one is clamped to 0 and shows up in the observer (the
// Prometheus counter) and the log.
import { describe, expect, it } from 'vitest';
import type { PollObservation } from '../../src/controller/observer.ts';
import { createLogger } from '../../src/logging.ts';
import { EbbMetrics } from '../../src/observability/metrics.ts';
import { condition, harness, reading, ScriptedScaler, scaledObject } from './fakes.ts';

const KEY = 'ns/app';
const TARGET = 'Deployment/ns/app';
const METRIC = 's0-cron-Etc-UTC-06xxx-020xxx';

describe('readings that are not finite', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    '%s fails the trigger (MetricNotFinite); the fallback applies; the target never goes to zero',
    async (bad) => {
      const h = harness({ script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(bad)) });
      h.target.set(TARGET, 2);
      h.source.put(scaledObject('app', { spec: { fallback: { failureThreshold: 1, replicas: 4 } } }));
      await h.controller.reconcileNow(KEY);

      await h.controller.pollNow(KEY); // failure 1: not beyond the threshold yet
      expect(h.target.get(TARGET)).toBe(2);
      expect(condition(h.writer.patches, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'TriggerError',
        message: expect.stringContaining(`MetricNotFinite: trigger "${METRIC}" (${METRIC}) read ${bad}`),
      });
      const failed = h.events.events.find((e) => e.reason === 'ScalerFailed');
      expect(failed?.note).toContain('MetricNotFinite');

      for (let i = 0; i < 3; i++) {
        await h.clock.advance(10_000);
        await h.controller.pollNow(KEY); // beyond the threshold: fallback replicas
      }
      expect(condition(h.writer.patches, 'Fallback')?.status).toBe('True');
      expect(h.target.get(TARGET)).toBe(4);
      expect(h.target.writes.map((w) => w.replicas)).not.toContain(0);
    },
  );
});

describe('negative readings', () => {
  it('are clamped to 0, counted in ebb_scaler_metrics_clamped_total and logged when they start', async () => {
    const metrics = new EbbMetrics({ version: 'test' });
    const polls: PollObservation[] = [];
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
    const h = harness({
      log,
      observer: {
        polled: (o) => {
          polls.push(o);
          metrics.polled(o);
        },
        targetFailed: () => {},
        paused: () => {},
        pollStarted: () => {},
        removed: () => {},
      },
      script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(-3, false)),
    });
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    await h.clock.advance(1000);
    await h.controller.pollNow(KEY);

    expect(polls.at(-1)?.triggers[0]).toMatchObject({ value: 0, clampedFrom: -3 });
    expect(polls.at(-1)?.clamped).toEqual([{ metric: METRIC, value: -3 }]);
    const text = await metrics.render();
    expect(text).toContain(
      `ebb_scaler_metrics_clamped_total{namespace="ns",scaledObject="app",metric="${METRIC}"} 2`,
    );
    const logged = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'negative metric value clamped to 0');
    expect(logged).toHaveLength(1); // once when it starts, not every poll
    expect(logged[0]).toMatchObject({
      namespace: 'ns',
      name: 'app',
      clamped: [{ metric: METRIC, value: -3 }],
    });
    expect(h.target.writes).toEqual([]);

    metrics.removed('ns', 'app');
    expect(await metrics.render()).not.toContain('ebb_scaler_metrics_clamped_total{');
  });
});
