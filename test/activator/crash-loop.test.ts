// The 504 of a crash-looping backend says what the activator saw, through real sockets: an
// endpoint that is published ready, refuses connections (its process died) and leaves the ready
// set, again and again, while a request waits. The hold timer runs on virtual time; every
// connection is real (to a loopback port nothing listens on, or a node:http backend that dies).
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/activator/ports.ts';
import { VirtualClock } from '../clock.ts';
import {
  type Answer,
  call,
  closeAfterEach,
  refusedEndpoint,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
} from './helpers.ts';

const track = closeAfterEach();
const HOLD_MS = 1000;

/** The cart route on virtual time; `forwarded` counts the held requests sent to an endpoint. */
const cart = async (): Promise<{ a: TestActivator; clock: VirtualClock; forwarded: () => number }> => {
  const clock = new VirtualClock();
  let forwarded = 0;
  const observer = {
    requestDone: () => {},
    coldStart: () => {},
    heldDone: (_route: string, _s: number, outcome: string) => {
      if (outcome === 'forwarded') forwarded++;
    },
  };
  const a = track(
    await startActivator([routeSpec('cart', { holdTimeoutMs: HOLD_MS })], {}, undefined, observer, clock),
  );
  return { a, clock, forwarded: () => forwarded };
};

/** The request waits, held: its answer comes when the test advances the clock past the timeout. */
const heldRequest = async (a: TestActivator): Promise<{ answer: Promise<Answer> }> => {
  const answer = call(a.port, 'cart.test');
  await until(() => a.routeStats('shop/cart').held === 1, 'the request to be held');
  return { answer }; // wrapped: an async function's returned promise would be awaited here
};

/** Publishes `ep` ready; the held request goes to it, is refused and comes back to the queue. */
const readyThenRefused = async (
  t: { a: TestActivator; forwarded: () => number },
  ep: Endpoint,
): Promise<void> => {
  const before = t.forwarded();
  t.a.source.set(serviceKey('cart'), [ep]);
  await until(
    () => t.forwarded() === before + 1 && t.a.routeStats('shop/cart').held === 1,
    'refused, held again',
  );
  t.a.source.set(serviceKey('cart'), []); // the kubelet marks the crashed Pod not ready
};

describe('a 504 after the backend flapped names what happened', () => {
  it('one endpoint ready, refused and unready three times: BackendUnstable, the count and the last error', async () => {
    const t = await cart();
    const { answer } = await heldRequest(t.a);
    const ep = await refusedEndpoint();
    for (let i = 0; i < 3; i++) await readyThenRefused(t, ep);
    await t.clock.advance(HOLD_MS);
    const got = await answer;
    expect(got.status).toBe(504);
    expect(got.headers['x-ebb-reason']).toBe('BackendUnstable');
    expect(got.body).toContain('route shop/cart');
    expect(got.body).toContain('holdTimeout 1000 ms');
    expect(got.body).toContain('1 endpoint became unready 3 times');
    expect(got.body).toContain('3 connections refused');
    expect(got.body).toContain(`ECONNREFUSED from ${ep.address}:${ep.port}`);
    expect(got.body).toContain('may be crash-looping');
    expect(got.body).not.toContain('had capacity');
  });

  it('a backend that accepts and then dies: the same account, from a real server that went away', async () => {
    const t = await cart();
    const { answer } = await heldRequest(t.a);
    // A live server: published, then killed before it took the request (port closed: refused).
    const server: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ep = { address: '127.0.0.1', port: (server.address() as AddressInfo).port };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await readyThenRefused(t, ep);
    await t.clock.advance(HOLD_MS);
    const got = await answer;
    expect(got.headers['x-ebb-reason']).toBe('BackendUnstable');
    expect(got.body).toContain('1 endpoint became unready 1 time');
    expect(got.body).toContain('1 connection refused');
  });

  it('no endpoint ever ready: HoldTimeout saying none became ready, not that none had capacity', async () => {
    const t = await cart();
    const { answer } = await heldRequest(t.a);
    await t.clock.advance(HOLD_MS);
    const got = await answer;
    expect(got.headers['x-ebb-reason']).toBe('HoldTimeout');
    expect(got.body).toContain('no endpoint of service shop/cart:80 became ready within holdTimeout 1000 ms');
    expect(got.body).not.toContain('had capacity');
  });

  it('what a flap left behind does not colour a later, ordinary timeout', async () => {
    const t = await cart();
    const { answer: first } = await heldRequest(t.a);
    await readyThenRefused(t, await refusedEndpoint());
    const b = track(await startBackend());
    t.a.source.set(serviceKey('cart'), [b.endpoint]); // the replica came back: the request goes through
    expect((await first).status).toBe(200);
    t.a.source.set(serviceKey('cart'), []);
    const { answer: second } = await heldRequest(t.a);
    await t.clock.advance(HOLD_MS);
    const got = await second;
    expect(got.headers['x-ebb-reason']).toBe('HoldTimeout');
    expect(got.body).not.toContain('unready');
  });
});
