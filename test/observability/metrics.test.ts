import { describe, expect, it } from 'vitest';
import { REPORT_REFUSALS } from '../../src/api/reasons.ts';
import type { PollObservation, TriggerObservation } from '../../src/controller/observer.ts';
import { EbbMetrics, exportedMetricNames } from '../../src/observability/metrics.ts';
import { find, parseExposition, type Sample } from './exposition.ts';

const trigger = (over: Partial<TriggerObservation> = {}): TriggerObservation => ({
  trigger: 'orders',
  type: 'rabbitmq',
  index: 0,
  metricName: 's0-rabbitmq-orders',
  target: 10,
  metricType: 'AverageValue',
  latencyMs: 250,
  value: 35,
  active: true,
  ...over,
});

const poll = (over: Partial<PollObservation> = {}): PollObservation => ({
  namespace: 'shop',
  name: 'worker',
  at: 0,
  triggers: [trigger()],
  currentReplicas: 2,
  desiredReplicas: 4,
  active: true,
  error: false,
  ...over,
});

const scrape = async (m: EbbMetrics): Promise<Sample[]> => parseExposition(await m.render());

const one = (samples: readonly Sample[], name: string, match: Record<string, string> = {}): number => {
  const found = find(samples, name, match);
  expect(found, `${name} ${JSON.stringify(match)}`).toHaveLength(1);
  return (found[0] as Sample).value;
};

const OBJECT = { namespace: 'shop', scaledObject: 'worker' };
const SCALER = {
  ...OBJECT,
  scaler: 'orders',
  triggerIndex: '0',
  metric: 's0-rabbitmq-orders',
  type: 'scaledobject',
};

describe('EbbMetrics', () => {
  it('exports KEDA-named per-trigger and per-object series after a poll (extended detail)', async () => {
    const m = new EbbMetrics({ version: '1.2.3', gitCommit: 'abc' }, 'extended');
    m.paused('shop', 'worker', false);
    m.pollStarted('shop', 'worker', 1500);
    m.polled(poll());
    const s = await scrape(m);

    expect(find(s, 'ebb_build_info')[0]?.labels).toMatchObject({ version: '1.2.3', git_commit: 'abc' });
    expect(one(s, 'ebb_scaler_metrics_value', SCALER)).toBe(35);
    expect(one(s, 'ebb_scaler_metrics_target', SCALER)).toBe(10);
    expect(one(s, 'ebb_scaler_metrics_latency_seconds', SCALER)).toBe(0.25);
    expect(one(s, 'ebb_scaler_active', SCALER)).toBe(1);
    expect(one(s, 'ebb_scaler_detail_errors_total', SCALER)).toBe(0);
    expect(one(s, 'ebb_scaled_object_errors_total', OBJECT)).toBe(0);
    expect(one(s, 'ebb_scaled_object_paused', OBJECT)).toBe(0);
    expect(one(s, 'ebb_scaled_object_replicas', { ...OBJECT, kind: 'desired' })).toBe(4);
    expect(one(s, 'ebb_scaled_object_replicas', { ...OBJECT, kind: 'current' })).toBe(2);
    expect(
      one(s, 'ebb_internal_scale_loop_latency_seconds', {
        namespace: 'shop',
        type: 'scaledobject',
        resource: 'worker',
      }),
    ).toBe(1.5);
  });

  it('by default exports per object KEDA’s set only: no target, no replicas, error counters once an error happened', async () => {
    const m = new EbbMetrics({ version: '0' });
    m.paused('shop', 'worker', false);
    m.pollStarted('shop', 'worker', 20);
    m.polled(poll());
    const names = (s: readonly Sample[]) =>
      [
        ...new Set(
          s
            .filter((x) => x.labels.scaledObject === 'worker' || x.labels.resource === 'worker')
            .map((x) => x.name),
        ),
      ].sort();
    expect(names(await scrape(m))).toEqual([
      'ebb_internal_scale_loop_latency_seconds',
      'ebb_scaled_object_paused',
      'ebb_scaler_active',
      'ebb_scaler_metrics_latency_seconds',
      'ebb_scaler_metrics_value',
    ]);
    const failed = trigger({ error: { reason: 'ScalerError', message: 'down' } });
    delete (failed as { value?: number }).value;
    m.polled(poll({ triggers: [failed], error: true }));
    const s = await scrape(m);
    expect(one(s, 'ebb_scaler_detail_errors_total', SCALER)).toBe(1);
    expect(one(s, 'ebb_scaled_object_errors_total', OBJECT)).toBe(1);
    expect(find(s, 'ebb_scaler_metrics_target')).toHaveLength(0);
    expect(find(s, 'ebb_scaled_object_replicas')).toHaveLength(0);
  });

  it('counts a failed read per trigger and per object, keeping the last good value', async () => {
    const m = new EbbMetrics({ version: '0' });
    m.polled(poll());
    const failed = trigger({ error: { reason: 'ScalerError', message: 'down' } });
    delete (failed as { value?: number }).value;
    m.polled(poll({ triggers: [failed], error: true }));
    m.polled(poll({ triggers: [failed], error: true }));
    m.targetFailed('shop', 'worker', 'ScaleTargetNotFound');
    const s = await scrape(m);
    expect(one(s, 'ebb_scaler_detail_errors_total', SCALER)).toBe(2);
    expect(one(s, 'ebb_scaled_object_errors_total', OBJECT)).toBe(3);
    expect(one(s, 'ebb_scaler_metrics_value', SCALER)).toBe(35);
  });

  it('a failed scale with healthy triggers counts one object error', async () => {
    const m = new EbbMetrics({ version: '0' });
    m.polled(poll({ error: true }));
    expect(one(await scrape(m), 'ebb_scaled_object_errors_total', OBJECT)).toBe(1);
  });

  it('drops the series of a trigger an edit removed, keeps the others', async () => {
    const m = new EbbMetrics({ version: '0' });
    const cron = trigger({ trigger: 'cron-1', type: 'cron', index: 1, metricName: 's1-cron' });
    m.polled(poll({ triggers: [trigger(), cron] }));
    m.polled(poll({ triggers: [cron] }));
    const s = await scrape(m);
    expect(find(s, 'ebb_scaler_metrics_value', { scaler: 'orders' })).toHaveLength(0);
    expect(find(s, 'ebb_scaler_metrics_value', { scaler: 'cron-1' })).toHaveLength(1);
  });

  it('records the activator histograms under the route’s ScaledObject', async () => {
    const m = new EbbMetrics({ version: '0' });
    m.requestDone('shop/worker#0', 200, 0.02);
    m.requestDone('shop/worker#0', 200, 0.2);
    m.requestDone('', 404, 0.001);
    m.heldDone('shop/worker#0', 1.5, 'forwarded');
    m.coldStart('shop/worker#0', 1.5);
    const s = await scrape(m);
    const route = { ...OBJECT, route: 'shop/worker#0' };
    expect(one(s, 'ebb_activator_request_duration_seconds_count', { ...route, code: '200' })).toBe(2);
    expect(one(s, 'ebb_activator_request_duration_seconds_count', { route: '', code: '404' })).toBe(1);
    expect(
      one(s, 'ebb_activator_held_request_duration_seconds_count', { ...route, outcome: 'forwarded' }),
    ).toBe(1);
    expect(one(s, 'ebb_activator_cold_start_duration_seconds_sum', route)).toBe(1.5);
  });

  it('counts refused activator reports by reason, every reason present from the start at 0', async () => {
    const m = new EbbMetrics({ version: '0' });
    expect(
      find(await scrape(m), 'ebb_activator_reports_refused_total', {}).map((x) => x.labels.reason),
    ).toEqual([...REPORT_REFUSALS]);
    m.reportRefused('Unauthenticated');
    m.reportRefused('Unauthenticated');
    m.reportRefused('ClockSkew');
    const s = await scrape(m);
    expect(one(s, 'ebb_activator_reports_refused_total', { reason: 'Unauthenticated' })).toBe(2);
    expect(one(s, 'ebb_activator_reports_refused_total', { reason: 'ClockSkew' })).toBe(1);
    expect(one(s, 'ebb_activator_reports_refused_total', { reason: 'ForbiddenReporter' })).toBe(0);
  });

  it('removed() forgets every series of that object and no other', async () => {
    const m = new EbbMetrics({ version: '0' }, 'extended');
    for (const name of ['worker', 'other']) {
      m.paused('shop', name, true);
      m.pollStarted('shop', name, 10);
      m.polled(poll({ name, clamped: [{ metric: 's0-orders', value: -1 }] }));
      m.targetFailed('shop', name, 'Unreachable');
      m.requestDone(`shop/${name}`, 200, 0.1);
      m.heldDone(`shop/${name}`, 0.1, 'timeout');
      m.coldStart(`shop/${name}`, 0.1);
    }
    m.removed('shop', 'worker');
    const s = await scrape(m);
    const mentions = (name: string) =>
      s.filter((x) => x.labels.scaledObject === name || x.labels.resource === name);
    expect(mentions('worker')).toEqual([]);
    const left = new Set(mentions('other').map((x) => x.name.replace(/_(bucket|sum|count)$/, '')));
    const perObject = exportedMetricNames(m).filter(
      // Not per object: the build, refused reports, and the TLS listener's errors (by Secret).
      (n) =>
        n !== 'ebb_build_info' &&
        n !== 'ebb_activator_reports_refused_total' &&
        !n.startsWith('ebb_activator_tls_'),
    );
    expect([...left].sort()).toEqual(perObject.sort());
  });
});
