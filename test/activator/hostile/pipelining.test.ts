// Pipelined requests (RFC 9112 §9.3.2) are taken one at a time, as nginx and Envoy take them: the
// next request on a connection is admitted only after the answer to the one before it finished,
// and the connection is not read meanwhile, so a request held for a cold start cannot make the
// activator read, hold or forward a connection's worth of requests behind it (each answer would
// have to wait in memory for the one before it anyway).
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
} from '../helpers.ts';
import { openRaw, rawGet } from './conn-harness.ts';

const track = closeAfterEach();
const ROUTE = 'shop/app';

/** Answers `<method> <url> <body>` after `delayMs`. */
const echoBackend = async (delayMs = 0): Promise<Backend> =>
  track(
    await startBackend((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      const answer = (): void => {
        res.end(`${req.method} ${req.url} ${body}`);
      };
      req.on('end', () => (delayMs === 0 ? answer() : setTimeout(answer, delayMs)));
    }),
  );

/** The activator with its server's request count and its server-side sockets. */
const observed = async (
  over: Parameters<typeof routeSpec>[1] = {},
): Promise<{ a: TestActivator; requests: () => number; sockets: Socket[] }> => {
  const a = track(await startActivator([routeSpec('app', { maxHeldRequests: 5_000, ...over })]));
  let requests = 0;
  const sockets: Socket[] = [];
  a.activator.server.on('request', () => requests++);
  a.activator.server.on('connection', (s: Socket) => sockets.push(s));
  return { a, requests: () => requests, sockets };
};

// A request of ~250 bytes: 2,000 of them are ~500 KB, several reads' worth.
const PAD = `X-Pad: ${'p'.repeat(200)}`;

describe('pipelining', { timeout: 60_000 }, () => {
  it('2,000 requests pipelined behind a held one are not read while it is held, then all answered in order, one at a time', async () => {
    const { a, requests, sockets } = await observed();
    const c = await openRaw(a.port);
    c.write(rawGet('app.test', '/held'));
    await until(() => a.routeStats(ROUTE).held === 1, 'the first request held');
    const N = 2_000;
    let pipelined = '';
    for (let i = 0; i < N; i++) pipelined += rawGet('app.test', `/p${i}`, [PAD]);
    const total = Buffer.byteLength(pipelined);
    c.write(pipelined);
    // Time to read everything, had the activator wanted to (the old code read all of it here).
    await new Promise((r) => setTimeout(r, 1000));
    const server = sockets[0] as Socket;
    // At most the one read (64 KB) that carried the first pipelined request is parsed.
    expect(server.bytesRead).toBeLessThan(total / 4);
    expect(requests()).toBeLessThan(N / 4);
    // Nothing behind the held request was admitted: no second held request, nothing forwarded.
    expect(a.routeStats(ROUTE).held).toBe(1);
    expect(a.routeStats(ROUTE).requests).toBe(1);

    const b = await echoBackend();
    a.source.set(serviceKey('app'), [b.endpoint]);
    const answers = await c.waitResponses(N + 1, 60_000);
    expect(answers.map((r) => r.status)).toEqual(Array(N + 1).fill(200));
    expect(answers[0]?.body).toBe('GET /held ');
    for (let i = 0; i < N; i++) expect(answers[i + 1]?.body).toBe(`GET /p${i} `);
    expect(b.maxInFlight).toBe(1);
    expect(server.bytesRead).toBe(Buffer.byteLength(rawGet('app.test', '/held')) + total);
  });

  it('on a warm route, pipelined requests reach the endpoint one at a time, each after the answer before it', async () => {
    const { a } = await observed();
    const b = await echoBackend(20);
    a.source.set(serviceKey('app'), [b.endpoint]);
    const c = await openRaw(a.port);
    c.write(['/1', '/2', '/3', '/4', '/5'].map((p) => rawGet('app.test', p)).join(''));
    const answers = await c.waitResponses(5);
    expect(answers.map((r) => r.body)).toEqual(['GET /1 ', 'GET /2 ', 'GET /3 ', 'GET /4 ', 'GET /5 ']);
    expect(b.maxInFlight).toBe(1);
  });

  it('a pipelined POST behind a held request keeps its body, and what follows it still comes after', async () => {
    const { a } = await observed();
    const c = await openRaw(a.port);
    c.write(
      rawGet('app.test', '/held') +
        'POST /post HTTP/1.1\r\nHost: app.test\r\nContent-Length: 11\r\n\r\nhello world' +
        rawGet('app.test', '/after'),
    );
    await until(() => a.routeStats(ROUTE).held === 1, 'the first request held');
    const b = await echoBackend();
    a.source.set(serviceKey('app'), [b.endpoint]);
    const answers = await c.waitResponses(3);
    expect(answers.map((r) => r.body)).toEqual(['GET /held ', 'POST /post hello world', 'GET /after ']);
  });

  it('a client that pipelines behind a held request and leaves costs nothing once the hold times out', async () => {
    const { a } = await observed({ holdTimeoutMs: 300 });
    const c = await openRaw(a.port);
    let pipelined = rawGet('app.test', '/held');
    for (let i = 0; i < 100; i++) pipelined += rawGet('app.test', `/p${i}`, [PAD]);
    c.write(pipelined);
    await until(() => a.routeStats(ROUTE).held === 1, 'the first request held');
    c.socket.destroy();
    await until(() => a.routeStats(ROUTE).held === 0, 'the held request gone');
    const b = await echoBackend();
    a.source.set(serviceKey('app'), [b.endpoint]);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.seen).toEqual([]);
    expect(a.routeStats(ROUTE).inFlight).toBe(0);
    expect(a.routeStats(ROUTE).held).toBe(0);
  });
});
