// /metrics, /healthz and /readyz of a real controller on a real API server: a cron ScaledObject
// (and an activator route for it carrying real requests) shows every metric ebb exports with
// values; pausing it shows in ebb_scaled_object_paused; deleting it removes all its series.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  type Backend,
  call,
  routeSpec,
  startActivator,
  startBackend,
  type TestActivator,
} from '../activator/helpers.ts';
import { MemoryEndpointSource } from '../activator/memory-endpoints.ts';
import {
  createDeployment,
  createScaledObject,
  deleteScaledObject,
  installCrd,
  patchScaledObject,
} from '../controller/cluster.ts';
import { openWindow } from '../controller/manifests.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';
import { find, parseExposition, type Sample } from '../observability/exposition.ts';

const kc = kubeConfig();
const ns = useNamespace('observability');
const wait = { timeout: 30_000, interval: 250 };
const SO = 'worker';
/** A second object whose formula comes out negative: KEDA's clamp to 0, counted. */
const SHRINKING = 'shrinking';

let running: RunningController;
let activator: TestActivator | undefined;
let backend: Backend | undefined;

const scrape = async (): Promise<Sample[]> => {
  const res = await fetch(`${running.metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
};

/** Samples naming the ScaledObject (KEDA's loop-latency metric names it `resource`). */
const ofObject = (samples: readonly Sample[]) =>
  samples.filter(
    (s) => s.labels.namespace === ns.name && (s.labels.scaledObject === SO || s.labels.resource === SO),
  );

beforeAll(async () => {
  await installCrd(kc);
  await createDeployment(kc, ns.name, SO, 0);
  await createDeployment(kc, ns.name, SHRINKING, 0);
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    metricsPort: 0,
    metricsDetail: 'extended', // every series, target and replicas included
    healthPort: 0,
  });
});

afterAll(async () => {
  await activator?.close();
  await backend?.close();
  await running?.stop();
});

describe('observability of a running controller', () => {
  it('serves /healthz and /readyz (informers synced) on their own port', async () => {
    expect(running.healthUrl).toBeDefined();
    expect(running.healthUrl).not.toBe(running.metricsUrl);
    const ready = await fetch(`${running.healthUrl}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('[+]informers ok');
    expect((await fetch(`${running.healthUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.metricsUrl}/readyz`)).status).toBe(404);
  });

  it('shows every metric ebb exports, with values, for a cron ScaledObject and its activator route', async () => {
    await createScaledObject(kc, ns.name, SO); // cron window open: 2 replicas
    await createScaledObject(kc, ns.name, SHRINKING, {
      triggers: [{ type: 'cron', name: 'window', metadata: openWindow(2) }],
      spec: { advanced: { scalingModifiers: { formula: 'window - 10', target: '1' } } },
    });
    // The activator in the same process reports into the same registry (as `ebb activator`).
    const source = new MemoryEndpointSource();
    activator = await startActivator(
      [routeSpec(SO, { key: `${ns.name}/${SO}` })],
      {},
      source,
      running.metrics,
    );
    const b = await startBackend();
    backend = b;
    // A cold start: the request is held until the Service gets an endpoint.
    const held = call(activator.port, `${SO}.test`);
    await vi.waitFor(() => expect(activator?.routeStats(`${ns.name}/${SO}`).held).toBe(1), wait);
    await new Promise((r) => setTimeout(r, 100));
    source.set(`${ns.name}/${SO}:80`, [b.endpoint]);
    expect((await held).status).toBe(200);
    expect((await call(activator.port, 'nobody.test')).status).toBe(404);

    const labels = { namespace: ns.name, scaledObject: SO };
    let samples: Sample[] = [];
    await vi.waitFor(async () => {
      samples = await scrape();
      expect(find(samples, 'ebb_scaled_object_replicas', { ...labels, kind: 'current' })[0]?.value).toBe(2);
      expect(find(samples, 'ebb_scaler_metrics_clamped_total', { scaledObject: SHRINKING })).not.toEqual([]);
    }, wait);

    const value = (name: string, match: Record<string, string> = labels): number => {
      const found = find(samples, name, match);
      expect(found.length, `${name} ${JSON.stringify(match)}`).toBeGreaterThan(0);
      return (found[0] as Sample).value;
    };
    expect(value('ebb_build_info', {})).toBe(1);
    expect(value('ebb_scaler_metrics_value')).toBeGreaterThan(0);
    expect(value('ebb_scaler_metrics_target')).toBeGreaterThan(0);
    // Measured, not the 10 s read timeout a read that never settled reports.
    expect(value('ebb_scaler_metrics_latency_seconds')).toBeLessThan(10);
    expect(value('ebb_scaler_active')).toBe(1);
    expect(value('ebb_scaler_detail_errors_total')).toBe(0);
    expect(value('ebb_scaled_object_errors_total')).toBe(0);
    expect(value('ebb_scaled_object_paused')).toBe(0);
    expect(value('ebb_scaled_object_replicas', { ...labels, kind: 'desired' })).toBe(2);
    expect(
      value('ebb_internal_scale_loop_latency_seconds', {
        namespace: ns.name,
        type: 'scaledobject',
        resource: SO,
      }),
      // Lateness against the schedule (clamped at 0): well under the 30 s polling interval.
    ).toBeLessThan(30);
    const scaler = find(samples, 'ebb_scaler_metrics_value', labels)[0]?.labels;
    // `scaler` is the trigger's key in the ScaledObject (its name, else what the poll reports).
    expect(scaler).toMatchObject({ triggerIndex: '0', type: 'scaledobject' });
    expect(scaler?.scaler).not.toBe('');
    expect(scaler?.metric).toMatch(/^s0-cron-/);
    const route = { ...labels, route: `${ns.name}/${SO}` };
    expect(value('ebb_activator_request_duration_seconds_count', { ...route, code: '200' })).toBe(1);
    expect(value('ebb_activator_request_duration_seconds_count', { route: '', code: '404' })).toBe(1);
    expect(
      value('ebb_activator_held_request_duration_seconds_count', { ...route, outcome: 'forwarded' }),
    ).toBe(1);
    expect(value('ebb_activator_cold_start_duration_seconds_count', route)).toBe(1);
    expect(value('ebb_activator_cold_start_duration_seconds_sum', route)).toBeGreaterThanOrEqual(0.1);

    const clamped = find(samples, 'ebb_scaler_metrics_clamped_total', {
      namespace: ns.name,
      scaledObject: SHRINKING,
    });
    expect(clamped.length).toBeGreaterThan(0);
    expect(clamped[0]?.value).toBeGreaterThan(0);

    // Every metric the registry defines has at least one series (the "Done when"), but
    // the TLS listener's error counters: this activator has no TLS port, so they can have none;
    // test/integration/tls-secrets.test.ts reads the certificate errors (by Secret and reason).
    const names = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    const tlsOnly = (name: string) => name.startsWith('ebb_activator_tls_');
    const defined = running.metrics.registry.getMetricsAsArray().map((metric) => metric.name);
    expect(defined.filter(tlsOnly).length).toBe(2);
    for (const name of defined.filter((n) => !tlsOnly(n))) expect(names).toContain(name);
  });

  it('shows a pause in ebb_scaled_object_paused', async () => {
    await patchScaledObject(kc, ns.name, SO, {
      metadata: { annotations: { 'autoscaling.keda.sh/paused': 'true' } },
    });
    await vi.waitFor(async () => {
      const s = await scrape();
      expect(find(s, 'ebb_scaled_object_paused', { namespace: ns.name, scaledObject: SO })[0]?.value).toBe(1);
    }, wait);
    await patchScaledObject(kc, ns.name, SO, {
      metadata: { annotations: { 'autoscaling.keda.sh/paused': null } },
    });
    await vi.waitFor(async () => {
      const s = await scrape();
      expect(find(s, 'ebb_scaled_object_paused', { namespace: ns.name, scaledObject: SO })[0]?.value).toBe(0);
    }, wait);
  });

  it('removes every series of a deleted ScaledObject', async () => {
    expect(ofObject(await scrape()).length).toBeGreaterThan(10);
    await deleteScaledObject(kc, ns.name, SO);
    await vi.waitFor(async () => expect(ofObject(await scrape())).toEqual([]), wait);
    // The process-wide series stay.
    expect(find(await scrape(), 'ebb_build_info')).toHaveLength(1);
  });
});
