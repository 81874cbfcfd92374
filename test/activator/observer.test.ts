// The ActivatorObserver hears each request's end, each held request's exit and each cold start;
// a backend that accepts and never answers gets the client a 504 after responseTimeout (on
// virtual time: the response-head deadline fires when the test moves the activator's clock).
import { describe, expect, it, vi } from 'vitest';
import type { ActivatorObserver } from '../../src/activator/observer.ts';
import { VirtualClock } from '../clock.ts';
import {
  call,
  closeAfterEach,
  NS,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from './helpers.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

const track = closeAfterEach();

interface Heard {
  readonly done: { route: string; status: number; seconds: number }[];
  readonly held: { route: string; seconds: number; outcome: string }[];
  readonly cold: { route: string; seconds: number }[];
}

const recording = (): ActivatorObserver & Heard => {
  const heard: Heard = { done: [], held: [], cold: [] };
  return {
    ...heard,
    requestDone: (route, status, seconds) => heard.done.push({ route, status, seconds }),
    heldDone: (route, seconds, outcome) => heard.held.push({ route, seconds, outcome }),
    coldStart: (route, seconds) => heard.cold.push({ route, seconds }),
  };
};

describe('ActivatorObserver', () => {
  it('hears a cold start, the held requests forwarded, and every request with its status', async () => {
    const observer = recording();
    const source = new MemoryEndpointSource();
    const a = track(await startActivator([routeSpec('app')], {}, source, observer));
    const b = track(await startBackend());

    const answers = [call(a.port, 'app.test', '/1'), call(a.port, 'app.test', '/2')];
    await until(() => a.routeStats(`${NS}/app`).held === 2, 'two held');
    await new Promise((r) => setTimeout(r, 30));
    source.set(serviceKey('app'), [b.endpoint]);
    expect((await Promise.all(answers)).map((x) => x.status)).toEqual([200, 200]);
    expect((await call(a.port, 'nothing.test')).status).toBe(404);
    await until(() => observer.done.length === 3, 'three requests done');

    expect(observer.cold).toHaveLength(1);
    expect(observer.cold[0]?.route).toBe(`${NS}/app`);
    expect(observer.cold[0]?.seconds).toBeGreaterThanOrEqual(0.02);
    expect(observer.held.map((h) => [h.route, h.outcome])).toEqual([
      [`${NS}/app`, 'forwarded'],
      [`${NS}/app`, 'forwarded'],
    ]);
    expect(observer.done.map((d) => [d.route, d.status]).sort()).toEqual([
      ['', 404],
      [`${NS}/app`, 200],
      [`${NS}/app`, 200],
    ]);
    // Warm now: a request is forwarded at once, no hold, no cold start.
    expect((await call(a.port, 'app.test')).status).toBe(200);
    await until(() => observer.done.length === 4, 'fourth request done');
    expect(observer.held).toHaveLength(2);
    expect(observer.cold).toHaveLength(1);
  });

  it('hears a hold timeout and a client that left while held; neither ends a cold start', async () => {
    const observer = recording();
    const clock = new VirtualClock(); // the hold timer fires when the test moves it
    const a = track(
      await startActivator(
        [routeSpec('app', { holdTimeoutMs: 50 })],
        {},
        new MemoryEndpointSource(),
        observer,
        clock,
      ),
    );
    const pending = call(a.port, 'app.test');
    await until(() => a.routeStats(`${NS}/app`).held === 1, 'the request held');
    await clock.advance(50);
    const answer = await pending;
    expect(answer.status).toBe(504);
    await until(() => observer.done.length === 1, 'request done');
    expect(observer.held.map((h) => h.outcome)).toEqual(['timeout']);
    expect(observer.done[0]).toMatchObject({ route: `${NS}/app`, status: 504 });
    expect(observer.cold).toEqual([]);
  });
});

describe('responseTimeout', () => {
  it('answers 504 naming the route and the limit when the backend accepts but never answers', async () => {
    const observer = recording();
    const silent = track(await startBackend(() => {})); // reads the request, never answers
    const clock = new VirtualClock();
    const a = track(
      await startActivator(
        [routeSpec('app')],
        { responseTimeoutMs: 200 },
        new MemoryEndpointSource(),
        observer,
        clock,
      ),
    );
    a.source.set(serviceKey('app'), [silent.endpoint]);
    let answered = false;
    const pending = call(a.port, 'app.test', '/slow').finally(() => {
      answered = true;
    });
    await until(() => silent.inFlight === 1, 'forwarded');
    await clock.advance(199);
    expect(answered).toBe(false); // not before its limit
    await clock.advance(1);
    const answer = await pending;
    expect(answer.status).toBe(504);
    expect(answer.headers['x-ebb-reason']).toBe('UpstreamTimeout');
    expect(answer.body).toContain(`route ${NS}/app`);
    expect(answer.body).toContain('responseTimeout 200 ms');
    // The slot is free again and the upstream request was cut.
    await until(() => a.routeStats(`${NS}/app`).inFlight === 0, 'in flight back to 0');
    await until(() => silent.inFlight === 0, 'upstream request cut');
  });

  it("a route's own responseTimeoutMs wins over the activator's", async () => {
    const silent = track(await startBackend(() => {}));
    const clock = new VirtualClock();
    const a = track(
      await startActivator(
        [routeSpec('app', { responseTimeoutMs: 100 })],
        { responseTimeoutMs: 60_000 },
        new MemoryEndpointSource(),
        undefined,
        clock,
      ),
    );
    a.source.set(serviceKey('app'), [silent.endpoint]);
    const pending = call(a.port, 'app.test');
    await until(() => silent.inFlight === 1, 'forwarded');
    await clock.advance(100);
    const answer = await pending;
    expect(answer.status).toBe(504);
    expect(answer.body).toContain('responseTimeout 100 ms');
  });

  it('each limit expires on its own: a shorter limit sent later answers first', async () => {
    const silent = track(await startBackend(() => {}));
    const clock = new VirtualClock();
    const a = track(
      await startActivator(
        [routeSpec('slow', { responseTimeoutMs: 600 }), routeSpec('fast', { responseTimeoutMs: 100 })],
        {},
        new MemoryEndpointSource(),
        undefined,
        clock,
      ),
    );
    a.source.set(serviceKey('slow'), [silent.endpoint]);
    a.source.set(serviceKey('fast'), [silent.endpoint]);
    const order: string[] = [];
    const slow = call(a.port, 'slow.test').then((x) => {
      order.push('slow');
      return x;
    });
    await until(() => silent.inFlight === 1, 'slow forwarded');
    const fast = call(a.port, 'fast.test').then((x) => {
      order.push('fast');
      return x;
    });
    await until(() => silent.inFlight === 2, 'fast forwarded');
    await clock.advance(100);
    await until(() => order.length === 1, 'the shorter limit answered');
    await clock.advance(500);
    const [s, f] = await Promise.all([slow, fast]);
    expect(order).toEqual(['fast', 'slow']);
    expect(f.status).toBe(504);
    expect(f.body).toContain(`route ${NS}/fast`);
    expect(f.body).toContain('responseTimeout 100 ms');
    expect(s.status).toBe(504);
    expect(s.body).toContain('responseTimeout 600 ms');
  });

  it('arms no timer per forwarded request: one for a run of them (the hot path)', async () => {
    const b = track(await startBackend());
    // A limit no other timer of the process uses, to tell the activator's head timers apart.
    const limitMs = 123_457;
    const a = track(await startActivator([routeSpec('app')], { responseTimeoutMs: limitMs }));
    a.source.set(serviceKey('app'), [b.endpoint]);
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      for (let i = 0; i < 50; i++) expect((await call(a.port, 'app.test', `/${i}`)).status).toBe(200);
      const headTimers = spy.mock.calls.filter(
        ([, ms]) => typeof ms === 'number' && ms > 120_000 && ms <= limitMs,
      );
      expect(headTimers.length).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('does not cut a response whose head came in time, however long its body takes', async () => {
    const slowBody = track(
      await startBackend((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
        setTimeout(() => res.end('b'), 300);
      }),
    );
    const a = track(await startActivator([routeSpec('app')], { responseTimeoutMs: 100 }));
    a.source.set(serviceKey('app'), [slowBody.endpoint]);
    const answer = await call(a.port, 'app.test');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ab');
  });
});
