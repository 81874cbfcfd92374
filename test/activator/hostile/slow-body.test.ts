// A forwarded request whose body stops arriving (a slowloris upload): after requestBodyTimeout
// with no byte read (nginx's client_body_timeout: the time between two reads), the upstream
// request is cut, the endpoint's slot is freed, and the client gets 408 RequestBodyTimeout with
// `Connection: close` when nothing was answered yet (RFC 9110 §15.5.9), else its connection is cut.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../../src/routing/routes.ts';
import {
  type Backend,
  call,
  closeAfterEach,
  type Handler,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
} from '../helpers.ts';
import { expectOwnAnswer, openRaw, type RawConn } from './conn-harness.ts';

const track = closeAfterEach();
const ROUTE = 'shop/app';

/** Reads the whole body, then answers `got <n> bytes`; records requests that ended early. */
const readingBackend = async (aborted: IncomingMessage[]): Promise<Backend> => {
  const handler: Handler = (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.end(`got ${n} bytes`));
    req.on('close', () => {
      if (!req.complete) aborted.push(req);
    });
  };
  return track(await startBackend(handler));
};

const warm = async (
  b: Backend,
  over: Partial<RouteSpec>,
  limits: Parameters<typeof startActivator>[1] = {},
): Promise<TestActivator> => {
  const a = track(await startActivator([routeSpec('app', { containerConcurrency: 1, ...over })], limits));
  a.source.set(serviceKey('app'), [b.endpoint]);
  return a;
};

/** Writes `bytes` one at a time, one per `everyMs`, until the connection closes or all are sent. */
const trickle = (c: RawConn, bytes: number, everyMs: number): (() => void) => {
  let sent = 0;
  const timer = setInterval(() => {
    if (c.closed() || sent >= bytes) {
      clearInterval(timer);
      return;
    }
    c.write('x');
    sent++;
  }, everyMs);
  return () => clearInterval(timer);
};

const postHead = (length: number | 'chunked'): string =>
  'POST /upload HTTP/1.1\r\nHost: app.test\r\n' +
  (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
  '\r\n';

describe('a body that stops arriving', { timeout: 30_000 }, () => {
  it('1 byte per second with a 300 ms body timeout: 408, the upstream request cut, the containerConcurrency slot freed', async () => {
    const aborted: IncomingMessage[] = [];
    const b = await readingBackend(aborted);
    const a = await warm(b, { requestBodyTimeoutMs: 300 });
    const c = await openRaw(a.port);
    c.write(`${postHead(100)}x`);
    const stop = trickle(c, 99, 1000);
    try {
      const [answer] = await c.waitResponses(1);
      expectOwnAnswer(answer, 408, 'RequestBodyTimeout', [`route ${ROUTE}`, 'requestBodyTimeout 300 ms']);
      await c.waitClosed();
    } finally {
      stop();
    }
    await until(() => aborted.length === 1, 'the upstream request cut');
    expect(a.routeStats(ROUTE).inFlight).toBe(0);
    // containerConcurrency 1: the slot is free, so the next request is forwarded at once.
    const next = await call(a.port, 'app.test', '/next', { method: 'POST', body: 'hello' });
    expect(next.status).toBe(200);
    expect(next.body).toBe('got 5 bytes');
  });

  it('a chunked body that stops, with the activator-wide default: 408', async () => {
    const aborted: IncomingMessage[] = [];
    const b = await readingBackend(aborted);
    const a = await warm(b, {}, { requestBodyTimeoutMs: 300 });
    const c = await openRaw(a.port);
    c.write(`${postHead('chunked')}5\r\nhello\r\n`);
    const [answer] = await c.waitResponses(1);
    expectOwnAnswer(answer, 408, 'RequestBodyTimeout', [`route ${ROUTE}`]);
    await c.waitClosed();
    await until(() => aborted.length === 1, 'the upstream request cut');
    expect(a.routeStats(ROUTE).inFlight).toBe(0);
  });

  it('the route overrides the default; 0 turns the limit off for the route', async () => {
    const aborted: IncomingMessage[] = [];
    const b = await readingBackend(aborted);
    const a = await warm(b, { requestBodyTimeoutMs: 0 }, { requestBodyTimeoutMs: 100 });
    const c = await openRaw(a.port);
    c.write(`${postHead(3)}x`);
    // Well past the activator-wide 100 ms: still in flight.
    await new Promise((r) => setTimeout(r, 600));
    expect(c.responses()).toEqual([]);
    expect(a.routeStats(ROUTE).inFlight).toBe(1);
    c.write('yz');
    const [answer] = await c.waitResponses(1);
    expect(answer?.status).toBe(200);
    expect(answer?.body).toBe('got 3 bytes');
  });

  it('a body that keeps arriving is not cut, and the limit ends with the body (a slow answer is not a slow body)', async () => {
    const aborted: IncomingMessage[] = [];
    const late: { finish?: (() => void) | undefined } = {};
    const answerNow = (): void => late.finish?.();
    const b = track(
      await startBackend((req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
        });
        req.on('end', () => {
          late.finish = () => res.end(`got ${n} bytes`);
        });
      }),
    );
    const a = await warm(b, { requestBodyTimeoutMs: 1000 });
    const c = await openRaw(a.port);
    c.write(postHead(10));
    const stop = trickle(c, 10, 100);
    await until(() => late.finish !== undefined, 'the whole body at the backend');
    stop();
    // The body is complete: an answer slower than the body timeout is the response timeout's business.
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.responses()).toEqual([]);
    answerNow();
    const [answer] = await c.waitResponses(1);
    expect(answer?.status).toBe(200);
    expect(answer?.body).toBe('got 10 bytes');
    expect(aborted).toEqual([]);
    // The keep-alive connection still works (no stale timer cuts it).
    late.finish = undefined;
    c.write('GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n');
    await until(() => late.finish !== undefined, 'the second request at the backend');
    answerNow();
    const both = await c.waitResponses(2);
    expect(both[1]?.status).toBe(200);
  });

  it('a body that stops after the endpoint already answered: the connection is cut (no second answer)', async () => {
    const b = track(
      await startBackend((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('early ');
        req.on('end', () => res.end('done'));
      }),
    );
    const a = await warm(b, { requestBodyTimeoutMs: 300 });
    const c = await openRaw(a.port);
    c.write(`${postHead(50)}x`);
    await c.waitClosed();
    expect(c.received().toString()).toMatch(/^HTTP\/1.1 200 /);
    expect(c.received().toString()).not.toContain('408');
    await until(() => a.routeStats(ROUTE).inFlight === 0, 'the slot freed');
  });
});
