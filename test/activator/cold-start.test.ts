// Cold start and the hold queue through real HTTP: a client → the activator → node:http backends
// on 127.0.0.1, endpoints published through the in-memory EndpointSource.
import { type IncomingMessage, request, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createActivator } from '../../src/activator/server.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import { VirtualClock } from '../clock.ts';
import {
  type Answer,
  type Backend,
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
} from './helpers.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

const track = closeAfterEach();

const activatorWith = async (...args: Parameters<typeof startActivator>): Promise<TestActivator> =>
  track(await startActivator(...args));
const backend = async (...args: Parameters<typeof startBackend>): Promise<Backend> =>
  track(await startBackend(...args));

/** An activator with the cart route whose hold timer runs on a virtual clock. */
const cartOnVirtualTime = async (
  holdTimeoutMs: number,
): Promise<{ a: TestActivator; clock: VirtualClock }> => {
  const clock = new VirtualClock();
  const a = await activatorWith([routeSpec('cart', { holdTimeoutMs })], {}, undefined, undefined, clock);
  return { a, clock };
};

/**
 * One request to cart.test, held, then `holdTimeoutMs` of virtual time: its answer. Not answered
 * a millisecond before the timeout (the hold timer runs on `clock`, nothing else ends the hold).
 */
const heldUntilTimeout = async (
  a: TestActivator,
  clock: VirtualClock,
  holdTimeoutMs: number,
): Promise<Answer> => {
  let answered = false;
  const answer = call(a.port, 'cart.test').finally(() => {
    answered = true;
  });
  await until(() => a.routeStats('shop/cart').held === 1, 'the request to be held');
  await clock.advance(holdTimeoutMs - 1);
  expect(answered).toBe(false);
  await clock.advance(1);
  return answer;
};

describe('cold start', () => {
  it('holds one request, pokes at once, and answers 200 when an endpoint appears', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const b = await backend();
    const answer = call(a.port, 'cart.test', '/items?x=1');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request to be held');
    expect(a.pokes).toEqual([{ route: 'shop/cart', held: 1 }]);
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const got = await answer;
    expect(got.status).toBe(200);
    expect(got.body).toBe('ok');
    expect(b.seen[0]?.url).toBe('/items?x=1');
    expect(a.routeStats('shop/cart')).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
  });

  it('holds 1,000 concurrent requests and answers all 200 in order once an endpoint appears', async () => {
    const a = await activatorWith([routeSpec('cart', { maxHeldRequests: 1000 })]);
    const b = await backend();
    const answers: Promise<Answer>[] = [];
    for (let i = 0; i < 1000; i++) answers.push(call(a.port, 'cart.test', `/n/${i}`));
    await until(() => a.routeStats('shop/cart').held === 1000, '1,000 held requests', 30_000);
    // One poke on the cold start, then one per doubling of the held count.
    expect(a.pokes.map((p) => p.held)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const got = await Promise.all(answers);
    expect(got.filter((g) => g.status === 200)).toHaveLength(1000);
    expect(a.routeStats('shop/cart')).toMatchObject({ held: 0, inFlight: 0, requests: 1000 });
  }, 60_000);

  it('releases held requests in arrival order, respecting containerConcurrency', async () => {
    const a = await activatorWith([routeSpec('cart', { containerConcurrency: 1 })]);
    const order: string[] = [];
    const b = await backend((req, res) => {
      order.push(req.url ?? '');
      setTimeout(() => res.end('ok'), 2);
    });
    const answers: Promise<Answer>[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(call(a.port, 'cart.test', `/n/${i}`));
      await until(() => a.routeStats('shop/cart').held === i + 1, `request ${i} held`);
    }
    a.source.set(serviceKey('cart'), [b.endpoint]);
    await Promise.all(answers);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => `/n/${i}`));
    expect(b.maxInFlight).toBe(1);
  });

  it('pokes once per cold start: again only after the route went from ready endpoints to none', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const b = await backend();
    const first = call(a.port, 'cart.test');
    await until(() => a.pokes.length === 1, 'the first poke');
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await first).status).toBe(200);
    expect((await call(a.port, 'cart.test')).status).toBe(200);
    expect(a.pokes).toHaveLength(1);
    a.source.set(serviceKey('cart'), []);
    const second = call(a.port, 'cart.test');
    await until(() => a.pokes.length === 2, 'the second cold start poke');
    expect(a.pokes[1]).toEqual({ route: 'shop/cart', held: 1 });
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await second).status).toBe(200);
  });

  it('pokes again when every held request left unserved (aborted): a burst after it pokes once, then doubles', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const req = request({ host: '127.0.0.1', port: a.port, path: '/', headers: { host: 'cart.test' } });
    req.on('error', () => {});
    req.end();
    await until(() => a.pokes.length === 1, 'the first poke');
    req.destroy();
    await until(() => a.routeStats('shop/cart').held === 0, 'the aborted request gone');
    // The target never became ready: the next request is a new cold start, poked at held = 1;
    // the rest of the burst only adds the doublings (2, 4), not a poke each.
    const burst = Array.from({ length: 5 }, (_, i) => call(a.port, 'cart.test', `/burst/${i}`));
    await until(() => a.routeStats('shop/cart').held === 5, 'the burst held');
    expect(a.pokes).toEqual([
      { route: 'shop/cart', held: 1 },
      { route: 'shop/cart', held: 1 },
      { route: 'shop/cart', held: 2 },
      { route: 'shop/cart', held: 4 },
    ]);
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await Promise.all(burst)).map((g) => g.status)).toEqual([200, 200, 200, 200, 200]);
    expect(a.pokes).toHaveLength(4);
  });

  it('pokes again after a hold timeout left the queue empty', async () => {
    const { a, clock } = await cartOnVirtualTime(50);
    expect((await heldUntilTimeout(a, clock, 50)).status).toBe(504);
    expect(a.pokes).toEqual([{ route: 'shop/cart', held: 1 }]);
    expect((await heldUntilTimeout(a, clock, 50)).status).toBe(504);
    expect(a.pokes).toEqual([
      { route: 'shop/cart', held: 1 },
      { route: 'shop/cart', held: 1 },
    ]);
  });

  it('a request held while others of the cold start still wait pokes no more than the doublings', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const first = [call(a.port, 'cart.test'), call(a.port, 'cart.test')];
    await until(() => a.routeStats('shop/cart').held === 2, 'two held');
    const req = request({ host: '127.0.0.1', port: a.port, path: '/', headers: { host: 'cart.test' } });
    req.on('error', () => {});
    req.end();
    await until(() => a.routeStats('shop/cart').held === 3, 'three held');
    req.destroy();
    await until(() => a.routeStats('shop/cart').held === 2, 'one left, two still held');
    const third = call(a.port, 'cart.test');
    await until(() => a.routeStats('shop/cart').held === 3, 'three held again');
    expect(a.pokes.map((p) => p.held)).toEqual([1, 2]);
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await Promise.all([...first, third])).map((g) => g.status)).toEqual([200, 200, 200]);
  });

  it('waiters are per Service: endpoints for one Service release only its requests', async () => {
    const a = await activatorWith([routeSpec('cart'), routeSpec('shipping')]);
    const b = await backend();
    const cart = call(a.port, 'cart.test');
    const shipping = call(a.port, 'shipping.test');
    await until(
      () => a.routeStats('shop/cart').held === 1 && a.routeStats('shop/shipping').held === 1,
      'both held',
    );
    expect(a.source.subscribers(serviceKey('cart'))).toBe(1);
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await cart).status).toBe(200);
    expect(a.routeStats('shop/shipping').held).toBe(1);
    a.source.set(serviceKey('shipping'), [b.endpoint]);
    expect((await shipping).status).toBe(200);
  });
});

describe('limits', () => {
  it('answers 504 naming the route and the hold timeout', async () => {
    const { a, clock } = await cartOnVirtualTime(50);
    const got = await heldUntilTimeout(a, clock, 50);
    expect(got.status).toBe(504);
    expect(got.headers['x-ebb-reason']).toBe('HoldTimeout');
    expect(got.body).toContain('route shop/cart');
    expect(got.body).toContain('holdTimeout 50 ms');
    expect(a.routeStats('shop/cart').held).toBe(0);
  });

  it('answers 503 with Retry-After at the route cap, naming the route and maxHeldRequests', async () => {
    const a = await activatorWith([routeSpec('cart', { maxHeldRequests: 2 })], { retryAfterSeconds: 3 });
    const held = [call(a.port, 'cart.test'), call(a.port, 'cart.test')];
    await until(() => a.routeStats('shop/cart').held === 2, 'two held');
    const got = await call(a.port, 'cart.test');
    expect(got.status).toBe(503);
    expect(got.headers['retry-after']).toBe('3');
    expect(got.headers['x-ebb-reason']).toBe('RouteHoldLimit');
    expect(got.body).toContain('route shop/cart');
    expect(got.body).toContain('maxHeldRequests 2');
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await Promise.all(held)).map((g) => g.status)).toEqual([200, 200]);
    expect(a.routeStats('shop/cart').requests).toBe(3);
  });

  it('answers 503 with Retry-After at the global cap, naming the route and the limit', async () => {
    const a = await activatorWith([routeSpec('cart'), routeSpec('shipping')], { maxHeldRequests: 1 });
    const held = call(a.port, 'cart.test');
    await until(() => a.routeStats('shop/cart').held === 1, 'one held');
    const got = await call(a.port, 'shipping.test');
    expect(got.status).toBe(503);
    expect(got.headers['retry-after']).toBe('1');
    expect(got.headers['x-ebb-reason']).toBe('GlobalHoldLimit');
    expect(got.body).toContain('route shop/shipping');
    expect(got.body).toContain('global limit 1');
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await held).status).toBe(200);
  });

  it('a client that disconnects while held frees its slot at once', async () => {
    const a = await activatorWith([routeSpec('cart', { maxHeldRequests: 1 })]);
    const req = request({ host: '127.0.0.1', port: a.port, path: '/', headers: { host: 'cart.test' } });
    req.on('error', () => {});
    req.end();
    await until(() => a.routeStats('shop/cart').held === 1, 'held');
    req.destroy();
    await until(() => a.routeStats('shop/cart').held === 0, 'the slot freed');
    // The slot is really free: the next request is held, not refused at the cap.
    const next = call(a.port, 'cart.test');
    await until(() => a.routeStats('shop/cart').held === 1, 'the next request held');
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await next).status).toBe(200);
    expect(b.seen).toHaveLength(1);
  });

  it('a held request body is not read: the client is held back, then the whole body arrives', async () => {
    const a = await activatorWith([routeSpec('upload')]);
    let received = 0;
    const b = await backend((req, res) => {
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => res.end(String(received)));
    });
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const req = request({
      host: '127.0.0.1',
      port: a.port,
      method: 'POST',
      path: '/u',
      headers: { host: 'upload.test', 'content-length': String(size) },
    });
    const answer = new Promise<string>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    let written = 0;
    const pump = (): void => {
      while (written < size) {
        written += chunk.length;
        const more = req.write(chunk);
        if (written >= size) req.end();
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
    await until(() => a.routeStats('shop/upload').held === 1, 'held');
    await new Promise((r) => setTimeout(r, 100));
    // TCP backpressure: far less than the body has left the client while held.
    expect(req.socket?.bytesWritten ?? 0).toBeLessThan(size / 2);
    a.source.set(serviceKey('upload'), [b.endpoint]);
    expect(await answer).toBe(String(size));
  }, 60_000);
});

describe('Expect: 100-continue', () => {
  it('invites the body only once the held request is forwarded', async () => {
    const a = await activatorWith([routeSpec('upload')]);
    const b = await backend((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => res.end(`got ${body}`));
    });
    let invited = false;
    const answer = new Promise<string>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: a.port,
        method: 'POST',
        path: '/u',
        headers: { host: 'upload.test', expect: '100-continue', 'content-length': '5' },
      });
      req.on('continue', () => {
        invited = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    await until(() => a.routeStats('shop/upload').held === 1, 'held');
    expect(invited).toBe(false);
    a.source.set(serviceKey('upload'), [b.endpoint]);
    expect(await answer).toBe('got hello');
    expect(invited).toBe(true);
    expect(b.seen[0]?.headers.expect).toBeUndefined();
  });
});

describe('containerConcurrency', () => {
  it('never sends more than containerConcurrency requests at once to one endpoint', async () => {
    const a = await activatorWith([routeSpec('cart', { containerConcurrency: 2 })]);
    // The backends keep every request until all 60 have arrived, then answer after 1 ms each.
    let open = false;
    const waiting: ServerResponse[] = [];
    const gated = (req: IncomingMessage, res: ServerResponse): void => {
      if (open) setTimeout(() => res.end(String(req.socket.localPort)), 1);
      else waiting.push(res);
    };
    const b1 = await backend(gated);
    const b2 = await backend(gated);
    a.source.set(serviceKey('cart'), [b1.endpoint, b2.endpoint]);
    const answers = Array.from({ length: 60 }, () => call(a.port, 'cart.test'));
    await until(() => a.routeStats('shop/cart').held === 56, '56 held behind 2 × 2 in flight');
    expect([b1.inFlight, b2.inFlight]).toEqual([2, 2]);
    // Saturation pokes: held reached ready × containerConcurrency = 4, then each doubling.
    expect(a.pokes.map((p) => p.held)).toEqual([4, 8, 16, 32]);
    open = true;
    for (const res of waiting.splice(0)) res.end('first');
    const got = await Promise.all(answers);
    expect(got.every((g) => g.status === 200)).toBe(true);
    expect(b1.maxInFlight).toBe(2);
    expect(b2.maxInFlight).toBe(2);
    expect(b1.seen.length + b2.seen.length).toBe(60);
  });
});

describe('health paths', () => {
  it('are forwarded but not counted, and never wake a cold route', async () => {
    const a = await activatorWith([routeSpec('cart', { healthPaths: ['/healthz'] })]);
    const cold = await call(a.port, 'cart.test', '/healthz');
    expect(cold.status).toBe(503);
    expect(cold.headers['x-ebb-reason']).toBe('ScaledToZero');
    expect(a.pokes).toEqual([]);
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await call(a.port, 'cart.test', '/healthz?full=1')).status).toBe(200);
    expect(a.routeStats('shop/cart').requests).toBe(0);
    expect((await call(a.port, 'cart.test', '/healthz/deeper')).status).toBe(200);
    expect(a.routeStats('shop/cart').requests).toBe(1);
  });
});

describe('stats', () => {
  it('carry the activator id and integrate concurrency over time', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const held = call(a.port, 'cart.test');
    await until(() => a.routeStats('shop/cart').held === 1, 'held');
    const first = a.stats();
    await until(
      () => (a.routeStats('shop/cart').concurrencyMs ?? 0) > (first.routes[0]?.concurrencyMs ?? 0) + 5,
      'time to pass',
    );
    const second = a.stats();
    expect(second.activator).toBe('activator-test');
    // One request held the whole time: the average concurrency over the interval is ~1.
    const avg =
      ((second.routes[0]?.concurrencyMs ?? 0) - (first.routes[0]?.concurrencyMs ?? 0)) /
      (second.at - first.at);
    expect(avg).toBeGreaterThan(0.9);
    expect(avg).toBeLessThan(1.1);
    const b = await backend();
    a.source.set(serviceKey('cart'), [b.endpoint]);
    await held;
  });
});

describe('stats push', () => {
  it('calls onStats periodically with the snapshot', async () => {
    const pushed: ActivatorStats[] = [];
    const activator = createActivator({
      endpoints: new MemoryEndpointSource(),
      routes: [routeSpec('cart')],
      poke: () => {},
      id: 'activator-7',
      onStats: (s) => pushed.push(s),
      statsIntervalMs: 5,
    });
    track(activator);
    await until(() => pushed.length >= 2, 'two pushes');
    expect(pushed[0]?.activator).toBe('activator-7');
    expect(pushed[0]?.routes.map((r) => r.route)).toEqual(['shop/cart']);
    expect((pushed[1]?.at ?? 0) > (pushed[0]?.at ?? 0)).toBe(true);
  });
});

describe('routes', () => {
  it('answers 404 naming the host and path when no route matches', async () => {
    const a = await activatorWith([routeSpec('cart')]);
    const got = await call(a.port, 'nope.test', '/x?y');
    expect(got.status).toBe(404);
    expect(got.headers['x-ebb-reason']).toBe('NoRoute');
    expect(got.body).toBe('no route matches host "nope.test" path "/x"\n');
  });

  it('setRoutes: a route removed while requests are held answers them 404; conflicts are returned', async () => {
    const a = await activatorWith([routeSpec('cart'), routeSpec('shipping')]);
    const held = call(a.port, 'shipping.test');
    await until(() => a.routeStats('shop/shipping').held === 1, 'held');
    const conflicts = a.activator.setRoutes([
      routeSpec('cart'),
      routeSpec('cart2', { hosts: ['cart.test'] }),
    ]);
    expect(conflicts.map((c) => c.dropped)).toEqual(['shop/cart2']);
    const got = await held;
    expect(got.status).toBe(404);
    expect(got.body).toContain('route shop/shipping was removed');
    expect(a.stats().routes.map((r) => r.route)).toEqual(['shop/cart', 'shop/cart2']);
  });
});
