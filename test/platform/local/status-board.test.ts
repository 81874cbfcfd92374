// The status board: what the page and `/api/status` show, sampled from the supervisor, the
// activator's counters and the controller's polls (no processes are started here).
import { afterAll, describe, expect, it } from 'vitest';
import type { ActivatorStats } from '../../../src/activator/stats.ts';
import { realClock } from '../../../src/clock.ts';
import { HISTORY_SAMPLES, StatusBoard } from '../../../src/platform/local/status-board.ts';
import { createStatusServer } from '../../../src/platform/local/status-page.ts';
import { Supervisor } from '../../../src/platform/local/supervisor.ts';
import { makeAppDir } from './replica-apps.ts';

const apps = makeAppDir();
afterAll(() => apps.remove());

const board = () => {
  let at = 1_000_000;
  let concurrencyMs = 0;
  let held = 0;
  const stats = (): ActivatorStats => ({
    activator: 'a',
    at,
    routes: [{ route: 'default/web', inFlight: 0, held, requests: 3, concurrencyMs }],
  });
  const b = new StatusBoard({
    objects: [
      { key: 'default/web', namespace: 'default', target: 'default/web' },
      { key: 'default/worker', namespace: 'default', target: 'default/worker' },
    ],
    supervisor: new Supervisor([apps.app('web'), apps.app('worker')]),
    stats,
    routeOf: (key) => (key === 'default/web' ? 'default/web' : undefined),
    status: (key) =>
      key === 'default/worker'
        ? { conditions: [{ type: 'Ready', status: 'False', reason: 'ScalerFailed', message: 'queue gone' }] }
        : undefined,
    clock: { ...realClock, wallNow: () => at },
  });
  return {
    b,
    /** Moves time by `ms` with `concurrency` requests held all along. */
    advance(ms: number, concurrency: number) {
      at += ms;
      concurrencyMs += ms * concurrency;
      held = concurrency;
    },
  };
};

describe('StatusBoard', () => {
  it("charts a route's average concurrency over each sample's interval, so a short hold still shows", () => {
    const { b, advance } = board();
    b.sample(); // first sample: the gauges (0)
    advance(1000, 0);
    b.sample();
    advance(400, 2); // two requests held for 0.4 s, released before the next sample
    advance(600, 0);
    b.sample();
    advance(1000, 0);
    b.sample();
    const web = b.snapshot().objects[0];
    expect(web?.history.map((s) => s.metric)).toEqual([0, 0, 0.8, 0]);
    expect(web).toMatchObject({ route: 'default/web', requests: 3, replicas: 0, ready: 0, processes: [] });
  });

  it('charts the first trigger reading for an object without a route, and shows failures as unavailable', () => {
    const { b } = board();
    b.polled({
      namespace: 'default',
      name: 'worker',
      at: 0,
      currentReplicas: 0,
      desiredReplicas: 0,
      active: false,
      error: true,
      triggers: [
        {
          trigger: 'q',
          type: 'rabbitmq',
          index: 0,
          metricName: 's0-rabbitmq-q',
          target: 5,
          metricType: 'AverageValue',
          latencyMs: 1,
          error: { reason: 'RabbitMQError', message: 'cannot reach RabbitMQ' },
        },
      ],
    });
    b.sample();
    const worker = b.snapshot().objects[1];
    expect(worker).toMatchObject({
      key: 'default/worker',
      route: null,
      problem: 'queue gone',
      triggers: [
        { name: 'q', type: 'rabbitmq', target: 5, value: null, error: 'unavailable: cannot reach RabbitMQ' },
      ],
    });
    expect(worker?.history.map((s) => s.metric)).toEqual([null]);
  });

  it(`keeps the last ${HISTORY_SAMPLES} samples`, () => {
    const { b, advance } = board();
    for (let i = 0; i < HISTORY_SAMPLES + 20; i++) {
      b.sample();
      advance(1000, 0);
    }
    expect(b.snapshot().objects[0]?.history).toHaveLength(HISTORY_SAMPLES);
  });
});

describe('status page server', () => {
  it('serves the page at / (its script and style beside it), the snapshot at /api/status, and nothing else', async () => {
    const { b } = board();
    b.sample();
    const server = createStatusServer(() => ({
      ...b.snapshot(),
      file: 'x.yaml',
      url: 'http://127.0.0.1:1/',
    }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const page = await fetch(`${base}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('<script src="/status.js"></script>');
      expect(await (await fetch(`${base}/status.js`)).text()).toContain("fetch('/api/status'");
      const status = (await (await fetch(`${base}/api/status`)).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ file: 'x.yaml', url: 'http://127.0.0.1:1/' });
      expect((status.objects as unknown[]).length).toBe(2);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    } finally {
      server.close();
    }
  });
});
