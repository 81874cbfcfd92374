// HTTP/2 from clients (h2c with prior knowledge) through the activator to node:http backends on
// 127.0.0.1: every stream routed, held, counted, balanced and released as an HTTP/1.1 request.
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { h2Call, h2Session } from './h2-helpers.ts';
import {
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from './helpers.ts';

const track = closeAfterEach();

describe('h2c with prior knowledge on the proxy port', () => {
  it('serves HTTP/2 and HTTP/1.1 on the same port; the backend gets HTTP/1.1 with Host and the path', async () => {
    const b = track(
      await startBackend((req, res) => {
        res.writeHead(201, { 'x-seen': `${req.method} ${req.url} ${req.headers.host} ${req.httpVersion}` });
        res.end(`cookie=${req.headers.cookie ?? ''}`);
      }),
    );
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const got = await h2Call(s, 'cart.test', '/a/../b?x=1', { headers: { cookie: ['a=1', 'b=2'] } }).answer;
    expect(got.status).toBe(201);
    expect(got.headers['x-seen']).toBe('GET /b?x=1 cart.test 1.1');
    // RFC 9113 §8.2.3: cookie fields are joined with "; " for an HTTP/1.1 hop.
    expect(got.body).toBe('cookie=a=1; b=2');
    const h1 = await call(a.port, 'cart.test', '/c');
    expect(h1.status).toBe(201);
    expect(h1.headers['x-seen']).toBe('GET /c cart.test 1.1');
  });

  it('forwards a request body sent in DATA frames (chunked upstream when not sized)', async () => {
    const b = track(
      await startBackend((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () =>
          res.end(`${req.headers['transfer-encoding'] ?? 'sized'}:${Buffer.concat(chunks)}`),
        );
      }),
    );
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const got = await h2Call(s, 'cart.test', '/', { method: 'POST', body: 'hello h2' }).answer;
    expect(got).toMatchObject({ status: 200, body: 'chunked:hello h2' });
    const sized = await h2Call(s, 'cart.test', '/', {
      method: 'POST',
      body: 'x'.repeat(10),
      headers: { 'content-length': '10' },
    }).answer;
    expect(sized.body).toBe(`sized:${'x'.repeat(10)}`);
  });

  it('holds streams during a cold start, pokes once, and answers them all when an endpoint appears', async () => {
    const b = track(await startBackend());
    const a = track(await startActivator([routeSpec('cart')]));
    const s = track(await h2Session(a.port));
    const calls = Array.from({ length: 50 }, (_, i) => h2Call(s, 'cart.test', `/${i}`).answer);
    await until(() => a.routeStats('shop/cart').held === 50, '50 held streams');
    expect(a.pokes[0]).toEqual({ route: 'shop/cart', held: 1 });
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const answers = await Promise.all(calls);
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 200));
    expect(a.routeStats('shop/cart')).toMatchObject({ held: 0, inFlight: 0, requests: 50 });
  });

  it('counts concurrency per stream: containerConcurrency 2 lets two streams of one connection through', async () => {
    const pending: (() => void)[] = [];
    const b = track(await startBackend((_req, res) => pending.push(() => res.end('ok'))));
    const a = track(await startActivator([routeSpec('cart', { containerConcurrency: 2 })]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const calls = Array.from({ length: 5 }, () => h2Call(s, 'cart.test').answer);
    await until(() => pending.length === 2 && a.routeStats('shop/cart').held === 3, '2 forwarded, 3 held');
    while (pending.length > 0 || b.inFlight > 0) {
      pending.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await Promise.all(calls)).map((x) => x.status)).toEqual([200, 200, 200, 200, 200]);
    expect(b.maxInFlight).toBe(2);
  });

  it('a held stream reset by its client (RST_STREAM) leaves the queue; the others are answered', async () => {
    const b = track(await startBackend());
    const a = track(await startActivator([routeSpec('cart')]));
    const s = track(await h2Session(a.port));
    const calls = Array.from({ length: 10 }, (_, i) => h2Call(s, 'cart.test', `/${i}`));
    await until(() => a.routeStats('shop/cart').held === 10, '10 held streams');
    for (const c of calls.slice(0, 4)) {
      c.answer.catch(() => {});
      c.stream.close(0x8 /* CANCEL */);
    }
    await until(() => a.routeStats('shop/cart').held === 6, 'the 4 reset streams to leave the queue');
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const answers = await Promise.all(calls.slice(4).map((c) => c.answer));
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(b.seen.map((r) => r.url).sort()).toEqual(['/4', '/5', '/6', '/7', '/8', '/9']);
  });

  it('answers hold limits and timeouts with the same statuses and reasons as HTTP/1.1', async () => {
    const a = track(await startActivator([routeSpec('cart', { maxHeldRequests: 1, holdTimeoutMs: 300 })]));
    const s = track(await h2Session(a.port));
    const first = h2Call(s, 'cart.test').answer;
    await until(() => a.routeStats('shop/cart').held === 1, 'one held stream');
    const second = await h2Call(s, 'cart.test').answer;
    expect(second.status).toBe(503);
    expect(second.headers['x-ebb-reason']).toBe('RouteHoldLimit');
    expect(second.headers['retry-after']).toBe('1');
    const timedOut = await first;
    expect(timedOut.status).toBe(504);
    expect(timedOut.headers['x-ebb-reason']).toBe('HoldTimeout');
    expect(timedOut.body).toContain('holdTimeout 300 ms');
  });

  it('refuses what HTTP/2 routing cannot take: unknown host 404, Host ≠ :authority 400, CONNECT 501', async () => {
    const a = track(await startActivator([routeSpec('cart')]));
    const s = track(await h2Session(a.port));
    const unknown = await h2Call(s, 'nope.test').answer;
    expect([unknown.status, unknown.headers['x-ebb-reason']]).toEqual([404, 'NoRoute']);
    const differ = await h2Call(s, 'cart.test', '/', { headers: { host: 'other.test' } }).answer;
    expect([differ.status, differ.headers['x-ebb-reason']]).toEqual([400, 'InvalidHost']);
    expect(differ.body).toContain(':authority');
    const connect = s.request({ ':method': 'CONNECT', ':authority': 'cart.test:443' });
    const tunnel = await new Promise<{ status: number; reason: unknown }>((resolve) =>
      connect.on('response', (h) => resolve({ status: Number(h[':status']), reason: h['x-ebb-reason'] })),
    );
    expect(tunnel).toEqual({ status: 501, reason: 'UnsupportedMethod' });
    connect.close();
    // The session survives every refusal.
    const b = track(await startBackend());
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await h2Call(s, 'cart.test').answer).status).toBe(200);
  });

  it('drain sends GOAWAY: the open stream finishes, then the session closes', async () => {
    let finish: () => void = () => {};
    const b = track(
      await startBackend((_req, res) => {
        finish = () => res.end('late');
      }),
    );
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const inFlight = h2Call(s, 'cart.test').answer;
    await until(() => b.inFlight === 1, 'the stream to reach the backend');
    let goaway = false;
    s.on('goaway', () => {
      goaway = true;
    });
    const drained = a.activator.drain();
    await until(() => goaway, 'GOAWAY');
    finish();
    expect(await inFlight).toMatchObject({ status: 200, body: 'late' });
    await drained;
  });

  it('an answer its endpoint cuts mid-body resets the stream with INTERNAL_ERROR: no clean end of a truncated body', async () => {
    const b = track(
      await startBackend((_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial', () => setTimeout(() => res.socket?.destroy(), 20));
      }),
    );
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const stream = s.request({ ':path': '/', ':authority': 'cart.test' });
    let body = '';
    let ended = false;
    stream.on('data', (c: Buffer) => {
      body += c.toString();
    });
    stream.on('end', () => {
      ended = true;
    });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.on('close', resolve));
    // RFC 9113 §8.1: a response cut short is an error (RST_STREAM NO_ERROR would end it cleanly).
    expect({ body, ended, rstCode: stream.rstCode }).toEqual({ body: 'partial', ended: false, rstCode: 2 });
    await until(() => a.routeStats('shop/cart').inFlight === 0, 'the slot to be released');
  });

  it('Expect: 100-continue on a held stream gets its 100 only when forwarded (RFC 9110 §10.1.1)', async () => {
    const b = track(
      await startBackend((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => res.end(`got:${Buffer.concat(chunks)}`));
      }),
    );
    const a = track(await startActivator([routeSpec('cart')]));
    const s = track(await h2Session(a.port));
    const stream = s.request(
      { ':method': 'POST', ':path': '/', ':authority': 'cart.test', expect: '100-continue' },
      { endStream: false },
    );
    let continued = false;
    stream.on('continue', () => {
      continued = true;
      stream.end('the body');
    });
    let answer = '';
    stream.on('data', (c: Buffer) => {
      answer += c.toString();
    });
    const done = new Promise((resolve) => stream.on('end', resolve));
    await until(() => a.routeStats('shop/cart').held === 1, 'the stream to be held');
    // A PING's acknowledgement comes after every frame the activator sent before it.
    await new Promise((resolve) => s.ping(resolve));
    expect(continued).toBe(false);
    a.source.set(serviceKey('cart'), [b.endpoint]);
    await done;
    expect({ continued, answer }).toEqual({ continued: true, answer: 'got:the body' });
  });

  it('a connection that sends a prefix of the preface and stops is closed at headersTimeout', async () => {
    const a = track(await startActivator([routeSpec('cart')], { headersTimeoutMs: 300 }));
    const socket = netConnect(a.port, '127.0.0.1');
    socket.write('PRI * HTTP/2.0\r\n');
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      socket.on('error', () => {});
      setTimeout(() => resolve(false), 5_000);
    });
    expect(closed).toBe(true);
  });
});
