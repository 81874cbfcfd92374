import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthChecks } from '../../src/observability/health.ts';
import { EbbMetrics } from '../../src/observability/metrics.ts';
import { type ObservabilityServers, serveObservability } from '../../src/observability/server.ts';

/** One raw request line to `url`'s port; the status the server answers (0: it hung up). */
const rawStatus = (url: string, target: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(text.split(' ')[1] ?? 0)));
    socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
};

let servers: ObservabilityServers | undefined;
afterEach(async () => {
  await servers?.close();
  servers = undefined;
});

const serve = async (health: HealthChecks) => {
  servers = await serveObservability({
    metrics: new EbbMetrics({ version: '0' }),
    health,
    metricsPort: 0,
    healthPort: 0,
    address: '127.0.0.1',
  });
  return { metrics: servers.metricsUrl as string, health: servers.healthUrl as string };
};

describe('health checks', () => {
  it('no checks: both probes answer 200 ok', async () => {
    const url = (await serve(new HealthChecks())).health;
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('a failing readiness check is 503 naming it; liveness stays 200; removal restores', async () => {
    const health = new HealthChecks();
    let synced = false;
    health.addReadiness('informers', () => (synced ? true : 'ScaledObjects not listed yet'));
    const removeStale = health.addReadiness('readings', () => 'last reading 90 s old');
    health.addReadiness('throws', () => {
      throw new Error('boom');
    });
    const url = (await serve(health)).health;

    const ready = await get(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toBe(
      '[-]informers failed: ScaledObjects not listed yet\n[-]readings failed: last reading 90 s old\n' +
        '[-]throws failed: boom\nreadyz check failed\n',
    );
    expect((await get(`${url}/healthz`)).status).toBe(200);

    synced = true;
    removeStale();
    expect((await get(`${url}/readyz?verbose`)).body).toBe(
      '[+]informers ok\n[-]throws failed: boom\nreadyz check failed\n',
    );
  });

  it('a failing liveness check is 503 on /healthz', async () => {
    const health = new HealthChecks();
    health.addLiveness('event-loop', () => 'blocked for 12 s');
    const url = (await serve(health)).health;
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 503 });
  });

  it('refuses a second check of the same name', () => {
    const health = new HealthChecks();
    health.addReadiness('informers', () => true);
    expect(() => health.addReadiness('informers', () => true)).toThrow(/already registered/);
  });

  it('serves /metrics on its own port and 404 elsewhere', async () => {
    const urls = await serve(new HealthChecks());
    const metrics = await get(`${urls.metrics}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.body).toContain('ebb_build_info{');
    expect((await get(`${urls.metrics}/healthz`)).status).toBe(404);
    expect((await get(`${urls.health}/metrics`)).status).toBe(404);
  });

  it('answers request targets new URL() cannot parse with 404 or 400, and keeps serving (a throw would end the process)', async () => {
    const urls = await serve(new HealthChecks());
    const answers = { '//[': 404, '//x:99999/readyz': 404, 'http://[/metrics': 400, 'ebb.test/readyz': 400 };
    for (const url of [urls.health, urls.metrics]) {
      for (const [target, status] of Object.entries(answers)) {
        expect(await rawStatus(url, target), `${url} ${target}`).toBe(status);
      }
    }
    // RFC 9112 §3.2.2: absolute-form is accepted too.
    expect(await rawStatus(urls.health, 'http://ebb.test/readyz?verbose')).toBe(200);
    expect(await rawStatus(urls.metrics, 'http://ebb.test/metrics')).toBe(200);
    expect((await get(`${urls.health}/readyz`)).status).toBe(200);
  });
});
