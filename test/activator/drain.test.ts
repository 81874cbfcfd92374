// Graceful drain: stop accepting, finish what is in flight, then answer held requests 503.
import { connect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import {
  type Answer,
  type Backend,
  call,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from './helpers.ts';

let backends: Backend[] = [];
afterEach(async () => {
  for (const b of backends) await b.close();
  backends = [];
});

it('drain: refuses new connections, finishes in-flight, then answers held requests 503', async () => {
  let finishSlow: (() => void) | undefined;
  const b = await startBackend((req, res) => {
    if (req.url === '/slow') finishSlow = () => res.end('slow done');
    else res.end('other');
  });
  backends.push(b);
  const a = await startActivator([routeSpec('app'), routeSpec('cold')]);
  a.source.set(serviceKey('app'), [b.endpoint]);
  const order: string[] = [];

  // In flight: a slow request on a connection that sends another one once draining began.
  const socket = connect(a.port, '127.0.0.1');
  let raw = '';
  socket.on('data', (c: Buffer) => {
    raw += c.toString();
  });
  const socketClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n');
  await until(() => finishSlow !== undefined, 'the slow request to reach the backend');

  // Held: a request for a route with no endpoint.
  const held = call(a.port, 'cold.test').then((r: Answer) => {
    order.push('held');
    return r;
  });
  await until(() => a.routeStats('shop/cold').held === 1, 'the held request');

  let drained = false;
  const draining = a.activator.drain().then(() => {
    drained = true;
  });
  // Stopped accepting: a new connection is refused.
  await expect(call(a.port, 'app.test')).rejects.toThrow(/ECONNREFUSED/);
  // A request on a connection still open is not forwarded.
  socket.write('GET /late HTTP/1.1\r\nHost: app.test\r\n\r\n');
  // The held request waits while something is in flight.
  expect(a.routeStats('shop/cold').held).toBe(1);
  expect(drained).toBe(false);

  order.push('in-flight finishes');
  finishSlow?.();
  const got = await held;
  expect(order).toEqual(['in-flight finishes', 'held']);
  expect(got.status).toBe(503);
  expect(got.headers['x-ebb-reason']).toBe('Draining');
  expect(got.headers['retry-after']).toBe('1');
  expect(got.body).toContain('route shop/cold');

  await socketClosed;
  // The slow request completed (telling the client to close); the late one never went upstream.
  expect(raw).toMatch(/^HTTP\/1.1 200 OK/);
  expect(raw).toMatch(/connection: close/i);
  expect(raw).toContain('slow done');
  expect(b.seen.map((r) => r.url)).toEqual(['/slow']);
  await draining;
  expect(drained).toBe(true);
  expect(a.activator.server.listening).toBe(false);
});

it('close(): held requests are answered 503 and connections cut', async () => {
  const a = await startActivator([routeSpec('cold')]);
  const held = call(a.port, 'cold.test');
  await until(() => a.routeStats('shop/cold').held === 1, 'held');
  await a.close();
  const got = await held;
  expect(got.status).toBe(503);
  expect(got.headers['x-ebb-reason']).toBe('Draining');
});
