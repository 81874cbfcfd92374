// ebb's external-metrics adapter as a real HTTPS server on 127.0.0.1, without the API server:
// the answers the aggregator and the HPA get (discovery, ExternalMetricValueList quantities, the
// label selector, errors as meta/v1 Status), its front-proxy authentication with certificates
// from a CA made here, 404 (never 500) for /openapi and unknown paths, and /readyz turning 503
// when readings go stale. hpa.test.ts runs the same adapter behind a real aggregator and HPA.
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/clock.ts';
import type { TriggerObservation } from '../../src/controller/observer.ts';
import { silentLogger } from '../../src/logging.ts';
import { type MetricsAdapter, type Readiness, startMetricsAdapter } from '../../src/metrics/adapter.ts';
import { MetricReadings } from '../../src/metrics/readings.ts';
import { adapterRequest, type ClientOptions, otherClientCert } from './hpa-http.ts';

const NS = 'shop';
const BASE = '/apis/external.metrics.k8s.io/v1beta1';
const MAX_AGE_MS = 10_000;
const clock = { now: Date.UTC(2026, 0, 1, 12, 0, 0) };
const readings = new MetricReadings({
  maxAgeMs: MAX_AGE_MS,
  clock: { ...realClock, wallNow: () => clock.now },
});
let extraReady: Readiness = { ok: true, reasons: [] };
let adapter: MetricsAdapter;
let aggregator: ClientOptions;
let wrongName: ClientOptions;

const trigger = (index: number, name: string, outcome: Partial<TriggerObservation>): TriggerObservation => ({
  trigger: name,
  type: 'rabbitmq',
  index,
  metricName: `s${index}-rabbitmq-${name}`,
  target: 10,
  metricType: 'AverageValue',
  latencyMs: 1,
  ...outcome,
});

const poll = (name: string, triggers: TriggerObservation[]) =>
  readings.polled({
    namespace: NS,
    name,
    at: clock.now,
    triggers,
    currentReplicas: 1,
    desiredReplicas: 1,
    active: true,
    error: false,
  });

const get = (path: string, options: ClientOptions = aggregator) =>
  adapterRequest(adapter.port, path, options);
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;
const selector = (s: string) => `?labelSelector=${encodeURIComponent(s)}`;

/** A CA and two client certificates it signs, as the aggregation layer's front-proxy uses. */
const makeCerts = async () => {
  const ca = await generate([{ name: 'commonName', value: 'test-front-proxy-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const client = async (cn: string) => {
    const pems = await generate([{ name: 'commonName', value: cn }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
      ],
    });
    return { cert: pems.cert, key: pems.private };
  };
  return { ca: ca.cert, aggregator: await client('front-proxy-client'), other: await client('someone') };
};

beforeAll(async () => {
  const certs = await makeCerts();
  const user = { 'X-Remote-User': 'system:kube-aggregator' };
  aggregator = { ...certs.aggregator, headers: user };
  wrongName = { ...certs.other, headers: user };
  adapter = await startMetricsAdapter({
    readings,
    port: 0,
    address: '127.0.0.1',
    tls: undefined,
    requestHeader: { clientCA: certs.ca, allowedNames: ['front-proxy-client'] },
    log: silentLogger,
    ready: () => extraReady,
    now: () => clock.now,
  });
  poll('orders', [trigger(0, 'orders', { value: 1.5 }), trigger(1, 'big', { value: 2000 })]);
  poll('billing', [trigger(0, 'orders', { value: 35 })]);
  poll('broken', [
    trigger(0, 'down', { error: { reason: 'RabbitMQError', message: 'connect ECONNREFUSED' } }),
  ]);
});

afterAll(async () => {
  await adapter?.close();
});

describe('external metrics', () => {
  it('reads the latest value as a milli-quantity, selected by autoscaling.ebb.dev/scaledobject', async () => {
    const res = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject=orders')}`,
    );
    expect(res.status).toBe(200);
    expect(json(res.body)).toEqual({
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          metricName: 's0-rabbitmq-orders',
          metricLabels: { 'autoscaling.ebb.dev/scaledobject': 'orders' },
          timestamp: '2026-01-01T12:00:00Z',
          value: '1500m',
        },
      ],
    });
    const big = await get(
      `${BASE}/namespaces/${NS}/s1-rabbitmq-big${selector('autoscaling.ebb.dev/scaledobject==orders')}`,
    );
    expect(json(big.body).items).toMatchObject([{ value: '2k' }]);
    // `in (...)` names several objects: one item each (the HPA sums them).
    const both = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject in (orders,billing)')}`,
    );
    expect((json(both.body).items as { value: string }[]).map((i) => i.value).sort()).toEqual([
      '1500m',
      '35',
    ]);
  });

  it('a new poll replaces the value; a removed object is gone', async () => {
    clock.now += 1000;
    poll('billing', [trigger(0, 'orders', { value: 0 })]);
    const res = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject=billing')}`,
    );
    expect(json(res.body).items).toMatchObject([{ value: '0', timestamp: '2026-01-01T12:00:01Z' }]);
    readings.removed(NS, 'billing');
    const gone = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject=billing')}`,
    );
    expect(gone.status).toBe(404);
  });

  it('refuses a selector that does not name the ScaledObject (400), with a Status', async () => {
    for (const s of [
      '',
      'app=orders',
      'autoscaling.ebb.dev/scaledobject!=orders',
      'autoscaling.ebb.dev/scaledobject',
    ]) {
      const res = await get(`${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector(s)}`);
      expect(res.status, s).toBe(400);
      expect(json(res.body)).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'BadRequest',
        code: 400,
      });
    }
    const bad = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject in (a')}`,
    );
    expect(bad.status).toBe(400);
  });

  it('404 for an unknown object, metric or namespace; 503 naming the trigger when its latest read failed', async () => {
    const sel = selector('autoscaling.ebb.dev/scaledobject=orders');
    for (const path of [
      `${BASE}/namespaces/${NS}/s9-rabbitmq-none${sel}`,
      `${BASE}/namespaces/other/s0-rabbitmq-orders${sel}`,
      `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject=nobody')}`,
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(json(res.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    }
    const failed = await get(
      `${BASE}/namespaces/${NS}/s0-rabbitmq-down${selector('autoscaling.ebb.dev/scaledobject=broken')}`,
    );
    expect(failed.status).toBe(503);
    expect(json(failed.body).message).toContain('RabbitMQError: connect ECONNREFUSED');
  });

  it('discovery: APIGroupList, APIGroup and the metric names as an APIResourceList', async () => {
    expect(json((await get('/apis')).body)).toMatchObject({
      kind: 'APIGroupList',
      groups: [{ name: 'external.metrics.k8s.io', preferredVersion: { version: 'v1beta1' } }],
    });
    expect(json((await get('/apis/external.metrics.k8s.io')).body)).toMatchObject({ kind: 'APIGroup' });
    const list = json((await get(BASE)).body);
    expect(list).toMatchObject({ kind: 'APIResourceList', groupVersion: 'external.metrics.k8s.io/v1beta1' });
    expect(list.resources).toEqual(
      expect.arrayContaining([
        {
          name: 's0-rabbitmq-orders',
          singularName: '',
          namespaced: true,
          kind: 'ExternalMetricValueList',
          verbs: ['get'],
        },
      ]),
    );
  });
});

describe('authentication and paths', () => {
  it('only the aggregator: a certificate of the requestheader CA with an allowed CN, naming a user', async () => {
    expect((await get(BASE, {})).status).toBe(401);
    expect(
      (await get(BASE, { ...(await otherClientCert()), headers: { 'X-Remote-User': 'x' } })).status,
    ).toBe(401);
    const wrong = await get(BASE, wrongName);
    expect(wrong.status).toBe(403);
    expect(json(wrong.body).message).toContain('CN=someone');
    const { headers: _headers, ...noUser } = aggregator;
    expect((await get(BASE, noUser)).status).toBe(401);
    expect((await get(BASE)).status).toBe(200);
  });

  it('/openapi/* and unknown paths are 404 (never 500), writes are 405', async () => {
    for (const path of ['/openapi/v2', '/openapi/v3', '/openapi/v3/apis/external.metrics.k8s.io/v1beta1']) {
      expect((await get(path, {})).status, path).toBe(404);
      expect((await get(path)).status, path).toBe(404);
    }
    for (const path of ['/', '/metrics', '/apis/apps/v1', `${BASE}/nodes/x`, `${BASE}/namespaces/${NS}`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(json(res.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    }
  });
});

describe('hostile paths', () => {
  it.each([
    { label: 'a malformed %-escape in the namespace', path: `${BASE}/namespaces/%zz/s0-rabbitmq-orders` },
    { label: 'a truncated %-escape in the metric', path: `${BASE}/namespaces/${NS}/s0-rabbitmq-orders%2` },
    { label: 'an escape that is not UTF-8', path: `${BASE}/namespaces/${NS}/%C0%AF` },
  ])('answers 400 BadRequest naming the segment to $label, never 500', async ({ path }) => {
    const res = await get(`${path}${selector('autoscaling.ebb.dev/scaledobject=orders')}`);
    expect(res.status).toBe(400);
    expect(json(res.body)).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: expect.stringMatching(
        /^path segment .* is not valid percent-encoded UTF-8 \(RFC 3986 §2\.1\)$/,
      ),
    });
  });

  it('a request-target new URL() cannot parse is 404 or 400 and the adapter keeps serving (a throw would end the controller)', async () => {
    const ask = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({
          port: adapter.port,
          host: '127.0.0.1',
          rejectUnauthorized: false,
          ...aggregator,
        });
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          text += chunk;
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
        socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nX-Remote-User: u\r\nConnection: close\r\n\r\n`);
      });
    expect(await ask('//[')).toBe('HTTP/1.1 404 Not Found');
    expect(await ask('http://[/apis')).toBe('HTTP/1.1 400 Bad Request');
    expect(await ask(`https://adapter.test${BASE}`)).toBe('HTTP/1.1 200 OK');
    expect((await get(BASE)).status).toBe(200);
  });
});

describe('/readyz', () => {
  it('503 with a count, naming no object (it is unauthenticated), when readings are stale; 200 again once polled or paused', async () => {
    expect((await get('/readyz', {})).status).toBe(200);
    clock.now += MAX_AGE_MS + 1000;
    const stale = await get('/readyz', {});
    expect(stale.status).toBe(503);
    expect(stale.body).toMatch(
      /^\[-\] 2 ScaledObjects not polled in time \(the most overdue \d+ s old, allowed 10 s\)\n/,
    );
    for (const name of ['orders', 'billing', 'broken', NS]) expect(stale.body).not.toContain(name);
    poll('orders', [trigger(0, 'orders', { value: 1 })]);
    readings.paused(NS, 'broken', true);
    expect((await get('/readyz', {})).status).toBe(200);
  });

  it('a failing readiness condition (a standby) makes /readyz and metric reads 503', async () => {
    extraReady = { ok: false, reasons: ['not the leader: a standby holds no readings'] };
    try {
      const ready = await get('/readyz', {});
      expect(ready.status).toBe(503);
      expect(ready.body).toContain('not the leader');
      const res = await get(
        `${BASE}/namespaces/${NS}/s0-rabbitmq-orders${selector('autoscaling.ebb.dev/scaledobject=orders')}`,
      );
      expect(res.status).toBe(503);
      expect(json(res.body)).toMatchObject({ reason: 'ServiceUnavailable' });
    } finally {
      extraReady = { ok: true, reasons: [] };
    }
  });
});
