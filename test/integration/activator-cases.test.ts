// The activator's remaining cases of issue 4 item 6, through the same real path as
// activator.test.ts: `ebb activator` (controller + activator in one process), the real API
// server, real EndpointSlices published by the netns test kubelet for backends on 10.213.0.x,
// requests sent to the activator on 127.0.0.1. Each case has its own Deployment at 0, Service
// and ScaledObject; a case without a kubelet has a target that is woken but never becomes ready.
import { Agent, request as httpRequest } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { RouteStats } from '../../src/activator/stats.ts';
import type { RunningActivator } from '../../src/cli/activator-with-controller.ts';
import type { ReplicaInfo } from '../env/kubelet.ts';
import { type Answer, ClientRequests, type Sent, useActivatorEnv, WAIT } from './activator-setup.ts';

let running: RunningActivator;

const { ns, createApp, createHttpScaledObject } = useActivatorEnv('activator-cases', {
  onStarted(r) {
    running = r;
  },
  beforeStop() {
    requests.destroyAll();
  },
});

/** The activator's counters for the case's route now. */
const routeStats = (name: string): RouteStats => {
  const found = running.activator.stats().routes.find((r) => r.route === `${ns.name}/${name}`);
  if (found === undefined) throw new Error(`no route ${ns.name}/${name} in the activator's stats`);
  return found;
};

const requests = new ClientRequests();
const open = requests.open;

/** One request through the activator with `Host: <host>`; the caller may abort it (`req.destroy()`). */
const start = (host: string, path = '/', agent: Agent | false = false, timeoutMs = 60_000): Sent =>
  requests.start(running.url, host, { path, agent, timeoutMs });

const send = (host: string, path = '/', agent: Agent | false = false): Promise<Answer> =>
  start(host, path, agent).answer;

/** Aborts a held request from the client side; its promise's rejection is expected. */
const abort = async (sent: Sent): Promise<void> => {
  sent.req.destroy();
  await sent.answer.catch(() => undefined);
};

/** A backend replica's own counters (GET /stats from the host side of the veth). */
const backendStats = async (r: ReplicaInfo): Promise<{ name: string; inFlight: number; served: number }> => {
  const res = await fetch(`http://${r.address}:${r.port}/stats`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as { name: string; inFlight: number; served: number };
};

const countByStatus = (answers: readonly Answer[]): Record<number, number> => {
  const byStatus: Record<number, number> = {};
  for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  return byStatus;
};

describe('the activator in the controller process: the remaining cases', () => {
  it('holds 1,000 concurrent requests through one cold start and answers every one 200', async () => {
    await createApp('thousand');
    await createHttpScaledObject('thousand', { targetConcurrency: '1000', maxHeldRequests: '1000' });
    // One connection per request (no keep-alive), all at once.
    const agent = new Agent({ keepAlive: false, maxSockets: 1_000 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => send('thousand.example.test', `/t/${i}?delayMs=10`, agent)),
      );
      expect(countByStatus(answers)).toEqual({ 200: 1_000 });
      const paths = new Set(answers.map((a) => (JSON.parse(a.body) as { path: string }).path));
      expect(paths.size).toBe(1_000);
    } finally {
      agent.destroy();
    }
    expect(routeStats('thousand')).toMatchObject({ inFlight: 0, held: 0, requests: 1_000 });
  });

  it('answers 503 with Retry-After, naming the route and the limit, beyond the route cap', async () => {
    await createApp('capped', false); // woken but never ready: requests stay held
    await createHttpScaledObject('capped', { maxHeldRequests: '2', holdTimeout: '60s' });
    const held = [start('capped.example.test', '/a'), start('capped.example.test', '/b')];
    await vi.waitFor(() => expect(routeStats('capped').held).toBe(2), WAIT);

    const over = await send('capped.example.test', '/c');
    expect(over.status, over.body).toBe(503);
    expect(over.headers['retry-after']).toMatch(/^\d+$/);
    expect(over.headers['x-ebb-reason']).toBe('RouteHoldLimit');
    expect(over.body).toContain(`${ns.name}/capped`);
    expect(over.body).toContain('maxHeldRequests 2');
    expect(held.map((h) => h.settled())).toEqual([false, false]); // the held ones still wait
    await Promise.all(held.map(abort));
  });

  it('frees a held slot at once when its client disconnects', async () => {
    await createApp('abort', false);
    await createHttpScaledObject('abort', { maxHeldRequests: '1', holdTimeout: '60s' });
    const first = start('abort.example.test', '/first');
    await vi.waitFor(() => expect(routeStats('abort').held).toBe(1), WAIT);
    // The only slot is taken: a second request is refused.
    expect((await send('abort.example.test', '/refused')).status).toBe(503);

    await abort(first);
    await vi.waitFor(() => expect(routeStats('abort').held).toBe(0), { timeout: 5_000, interval: 10 });

    // The slot is free again: the next request is held, not refused.
    const next = start('abort.example.test', '/next');
    await vi.waitFor(() => expect(routeStats('abort').held).toBe(1), WAIT);
    expect(next.settled()).toBe(false);
    await abort(next);
    await vi.waitFor(() => expect(routeStats('abort')).toMatchObject({ held: 0, inFlight: 0 }), WAIT);
  });

  it('keeps requests held while the backend starts slowly, then answers them 200', async () => {
    const kubelet = await createApp('slow', { startDelayMs: 3_000 });
    if (kubelet === undefined) throw new Error('no kubelet');
    await createHttpScaledObject('slow', { targetConcurrency: '1000' });
    const sent = Array.from({ length: 20 }, (_, i) => start('slow.example.test', `/s/${i}`));
    // Caught in the act: the replica runs but is not ready, and every request is held.
    await vi.waitFor(() => {
      expect(kubelet.replicas().map((r) => r.phase)).toEqual(['starting']);
      expect(routeStats('slow').held).toBe(20);
    }, WAIT);
    const answers = await Promise.all(sent.map((s) => s.answer));
    expect(countByStatus(answers)).toEqual({ 200: 20 });
    for (const a of answers) expect(JSON.parse(a.body)).toMatchObject({ name: 'slow-0' });
    expect(routeStats('slow')).toMatchObject({ inFlight: 0, held: 0, requests: 20 });
  });

  it('answers 502 with a reason when the backend dies mid-request, and sends the next request elsewhere', async () => {
    const kubelet = await createApp('crash');
    if (kubelet === undefined) throw new Error('no kubelet');
    await createHttpScaledObject('crash', {}, { minReplicaCount: 2 });
    const replicas = await kubelet.settled(2);
    await vi.waitFor(
      () => expect(running.endpoints.ready({ namespace: ns.name, name: 'crash', port: 80 })).toHaveLength(2),
      WAIT,
    );

    const slow = start('crash.example.test', '/slow?delayMs=60000', false, 90_000);
    let victim: ReplicaInfo | undefined;
    await vi.waitFor(async () => {
      const inFlight = await Promise.all(replicas.map(async (r) => (await backendStats(r)).inFlight));
      expect([...inFlight].sort()).toEqual([0, 1]);
      victim = replicas[inFlight.indexOf(1)];
    }, WAIT);
    if (victim === undefined) throw new Error('no replica took the request');
    const survivor = replicas.find((r) => r.ordinal !== victim?.ordinal);
    kubelet.kill(victim.ordinal);

    const failed = await slow.answer;
    expect(failed.status, failed.body).toBe(502);
    expect(failed.headers['x-ebb-reason']).toBe('UpstreamFailed');
    expect(failed.body).toContain(`${ns.name}/crash`);
    expect(failed.body).toContain('failed before answering');

    const next = await send('crash.example.test', '/next');
    expect(next.status, next.body).toBe(200);
    expect(JSON.parse(next.body)).toMatchObject({ name: survivor?.name, path: '/next' });
    expect(routeStats('crash')).toMatchObject({ inFlight: 0, held: 0 });
  });

  it('streams server-sent events through the proxy one by one, before the stream ends', async () => {
    const kubelet = await createApp('sse');
    if (kubelet === undefined) throw new Error('no kubelet');
    await createHttpScaledObject('sse');
    // 1,000 events 200 ms apart: the stream outlives the test, so every event seen was flushed on its own.
    const events: { data: string; at: number }[] = [];
    let ended = false;
    let contentType: string | undefined;
    const req = httpRequest(new URL('/sse?events=1000&intervalMs=200', running.url), {
      headers: { host: 'sse.example.test', accept: 'text/event-stream' },
      agent: false,
    });
    open.add(req);
    req.on('error', () => undefined);
    req.on('response', (res) => {
      contentType = res.headers['content-type'];
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(text.slice(0, end))?.[1] ?? '';
          events.push({ data, at: performance.now() });
          text = text.slice(end + 2);
        }
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        ended = true;
      });
    });
    req.end();

    await vi.waitFor(() => expect(events.length).toBeGreaterThanOrEqual(3), {
      timeout: 30_000,
      interval: 20,
    });
    expect(ended).toBe(false);
    expect(contentType).toBe('text/event-stream');
    expect(events.slice(0, 3).map((e) => e.data)).toEqual(['sse-0 0', 'sse-0 1', 'sse-0 2']);
    const [e0, e1, e2] = events;
    expect(e1?.at).toBeGreaterThan(e0?.at ?? Infinity);
    expect(e2?.at).toBeGreaterThan(e1?.at ?? Infinity);
    expect(routeStats('sse').inFlight).toBe(1);

    // The client leaves: the activator and the backend both let go of the stream.
    req.destroy();
    open.delete(req);
    const [replica] = kubelet.replicas();
    if (replica === undefined) throw new Error('no replica');
    await vi.waitFor(() => expect(routeStats('sse').inFlight).toBe(0), WAIT);
    await vi.waitFor(async () => expect((await backendStats(replica)).inFlight).toBe(0), WAIT);
  });

  it('passes a WebSocket through the proxy across a cold start, echoing each message', async () => {
    const kubelet = await createApp('ws');
    if (kubelet === undefined) throw new Error('no kubelet');
    // Node's WebSocket sends the URL's host: the route is for 127.0.0.1, path /ws.
    await createHttpScaledObject('ws', { hosts: '127.0.0.1', pathPrefixes: '/ws' });
    expect(kubelet.replicas()).toEqual([]); // at 0: the upgrade is held through the cold start

    const ws = new WebSocket(`ws://127.0.0.1:${running.port}/ws`);
    ws.binaryType = 'arraybuffer';
    const received: (string | number[])[] = [];
    let closed = false;
    let failure: string | undefined;
    ws.addEventListener('message', (e: MessageEvent) => {
      received.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data as ArrayBuffer)]);
    });
    ws.addEventListener('error', () => {
      failure = 'WebSocket error';
    });
    ws.addEventListener('close', () => {
      closed = true;
    });
    try {
      await vi.waitFor(() => {
        expect(failure).toBeUndefined();
        expect(ws.readyState).toBe(WebSocket.OPEN);
      }, WAIT);
      expect(routeStats('ws').inFlight).toBe(1);

      ws.send('hello');
      await vi.waitFor(() => expect(received).toEqual(['hello']), WAIT);
      const big = 'x'.repeat(70_000); // a 64-bit length frame
      ws.send(big);
      ws.send(new Uint8Array([0, 1, 2, 255]));
      await vi.waitFor(() => expect(received).toHaveLength(3), WAIT);
      expect(received[1]).toBe(big);
      expect(received[2]).toEqual([0, 1, 2, 255]);
      expect(failure).toBeUndefined();
    } finally {
      ws.close();
    }
    await vi.waitFor(() => expect(closed).toBe(true), WAIT);
    await vi.waitFor(() => expect(routeStats('ws').inFlight).toBe(0), WAIT);
    const [replica] = kubelet.replicas();
    if (replica === undefined) throw new Error('no replica');
    await vi.waitFor(
      async () => expect(await backendStats(replica)).toMatchObject({ inFlight: 0, served: 1 }),
      WAIT,
    );
  });
});
