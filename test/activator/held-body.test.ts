// A held request's body through real HTTP: the activator stops reading a body that is still
// arriving while the request is held (hold-queue.ts), and the body still reaches the backend
// byte for byte on release; an answer of the activator's own (504) still ends the exchange; a
// client that goes away while its body is unread frees its place by holdTimeout at the latest;
// a request without a pending body still frees its place at once.
import { createHash, randomBytes } from 'node:crypto';
import { Agent, type IncomingMessage, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ActivatorObserver } from '../../src/activator/observer.ts';
import { VirtualClock } from '../clock.ts';
import {
  type Backend,
  call,
  closeAfterEach,
  type Handler,
  refusedEndpoint,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
} from './helpers.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

const track = closeAfterEach();

const BODY = 256 * 1024;
const ROUTE = 'shop/cart';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The backend reads the whole body and answers `<bytes> <sha256>`. */
const digestHandler: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.end(`${body.length} ${sha256(body)}`);
  });
};

interface Outcome {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
  /** The client's connection closed after the answer. */
  readonly closed: Promise<void>;
  readonly reused: boolean;
}

interface Post {
  readonly req: ReturnType<typeof request>;
  readonly answer: Promise<Outcome>;
}

/** A POST to cart.test of `total` bytes (Content-Length, or chunked); the caller writes the body. */
const post = (port: number, total: number, chunked: boolean, agent: Agent | false = false): Post => {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/upload',
    headers: chunked ? { host: 'cart.test' } : { host: 'cart.test', 'content-length': String(total) },
    agent,
  });
  const answer = new Promise<Outcome>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const socket = req.socket as Socket;
      const closed = new Promise<void>((r) => {
        if (socket.destroyed) r();
        else socket.once('close', () => r());
      });
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: String(res.headers['x-ebb-reason'] ?? ''),
          body: Buffer.concat(chunks).toString(),
          closed,
          reused: req.reusedSocket,
        }),
      );
    });
  });
  return { req, answer };
};

const heldOutcomes = (): { observer: ActivatorObserver; outcomes: string[] } => {
  const outcomes: string[] = [];
  return {
    outcomes,
    observer: {
      requestDone: () => {},
      heldDone: (_route, _s, outcome) => outcomes.push(outcome),
      coldStart: () => {},
    },
  };
};

describe('a held request body', () => {
  let a: TestActivator;
  let b: Backend;
  const setUp = async (
    over: Parameters<typeof routeSpec>[1] = {},
    observer?: ActivatorObserver,
    clock?: VirtualClock,
  ): Promise<void> => {
    a = track(
      await startActivator([routeSpec('cart', over)], {}, new MemoryEndpointSource(), observer, clock),
    );
    b = track(await startBackend(digestHandler));
  };
  const held = (): number => a.routeStats(ROUTE).held;
  const release = (): void => a.source.set(serviceKey('cart'), [b.endpoint]);

  it('arrives byte for byte when a held 256 KB POST (Content-Length) is released', async () => {
    await setUp();
    const body = randomBytes(BODY);
    const p = post(a.port, BODY, false);
    p.req.end(body);
    await until(() => held() === 1, 'the POST to be held');
    await new Promise((r) => setTimeout(r, 100));
    release();
    const got = await p.answer;
    expect(got.status).toBe(200);
    expect(got.body).toBe(`${BODY} ${sha256(body)}`);
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
  });

  it('arrives byte for byte when a held 256 KB chunked POST is released, the rest sent while held', async () => {
    await setUp();
    const body = randomBytes(BODY);
    const p = post(a.port, BODY, true);
    p.req.write(body.subarray(0, 100_000));
    await until(() => held() === 1, 'the POST to be held');
    p.req.end(body.subarray(100_000));
    await new Promise((r) => setTimeout(r, 100));
    release();
    const got = await p.answer;
    expect(got.status).toBe(200);
    expect(got.body).toBe(`${BODY} ${sha256(body)}`);
    expect(b.seen[0]?.headers['transfer-encoding']).toBe('chunked');
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
  });

  it('is not read beyond what came with the head while held, and all of it arrives on release', async () => {
    await setUp();
    const reqs: IncomingMessage[] = [];
    a.activator.server.on('request', (req: IncomingMessage) => reqs.push(req));
    const body = randomBytes(BODY);
    const head = `POST /upload HTTP/1.1\r\nhost: cart.test\r\ncontent-length: ${BODY}\r\nconnection: close\r\n\r\n`;
    const socket = connect(a.port, '127.0.0.1');
    track({ close: async () => void socket.destroy() });
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(Buffer.concat([Buffer.from(head), body.subarray(0, 1000)]));
    await until(() => held() === 1, 'the POST to be held');
    // Unpaused, node would read on until 16 KB of body were buffered: another 64 KB read.
    socket.write(body.subarray(1000, 200_000));
    await new Promise((r) => setTimeout(r, 200));
    const req = reqs[0] as IncomingMessage;
    expect(req.socket.bytesRead).toBeLessThanOrEqual(head.length + 1000);
    expect(req.readableLength).toBeLessThanOrEqual(1000);
    socket.write(body.subarray(200_000));
    release();
    await ended;
    const answer = Buffer.concat(received).toString('latin1');
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
    expect(answer.endsWith(`${BODY} ${sha256(body)}`)).toBe(true);
  });

  it('arrives byte for byte when a 256 KB POST re-queued after a refused connection is released', async () => {
    const refused = await refusedEndpoint();
    await setUp();
    a.source.set(serviceKey('cart'), [refused]);
    const body = randomBytes(BODY);
    const p = post(a.port, BODY, false);
    p.req.end(body);
    await until(() => held() === 1, 'the refused POST to be back in the queue');
    await new Promise((r) => setTimeout(r, 100));
    release();
    const got = await p.answer;
    expect(got.status).toBe(200);
    expect(got.body).toBe(`${BODY} ${sha256(body)}`);
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
  });

  it('gets 504 when a held 256 KB POST times out, and the connection ends', async () => {
    const clock = new VirtualClock();
    await setUp({ holdTimeoutMs: 300 }, undefined, clock);
    const p = post(a.port, BODY, false);
    p.req.end(randomBytes(BODY));
    await until(() => held() === 1, 'the POST to be held');
    await clock.advance(300);
    const got = await p.answer;
    expect(got.status).toBe(504);
    expect(got.reason).toBe('HoldTimeout');
    await got.closed;
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it('keeps a keep-alive connection usable after a held 256 KB POST timed out (the unread body is discarded)', async () => {
    const clock = new VirtualClock();
    await setUp({ holdTimeoutMs: 300 }, undefined, clock);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    track({ close: async () => agent.destroy() });
    const first = post(a.port, BODY, false, agent);
    first.req.end(randomBytes(BODY));
    await until(() => held() === 1, 'the POST to be held');
    await clock.advance(300);
    expect((await first.answer).status).toBe(504);
    release();
    const body = randomBytes(BODY);
    const second = post(a.port, BODY, false, agent);
    second.req.end(body);
    const got = await second.answer;
    expect(got.status).toBe(200);
    expect(got.reused).toBe(true);
    expect(got.body).toBe(`${BODY} ${sha256(body)}`);
  });

  it('frees the slot of a held large POST whose client went away by holdTimeout at the latest', async () => {
    const { observer, outcomes } = heldOutcomes();
    const clock = new VirtualClock();
    await setUp({ holdTimeoutMs: 1_000 }, observer, clock);
    const p = post(a.port, BODY, false);
    p.answer.catch(() => {});
    p.req.end(randomBytes(BODY));
    await until(() => held() === 1, 'the POST to be held');
    p.req.destroy();
    // By holdTimeout at the latest: the close is noticed, or the hold timer ends it.
    await clock.advance(1_000);
    expect(held()).toBe(0);
    expect(outcomes).toHaveLength(1);
    expect(['aborted', 'timeout']).toContain(outcomes[0]);
    expect(a.stats().routes[0]).toMatchObject({ held: 0, inFlight: 0 });
    // Nothing is stuck: the next request is held and served.
    const next = call(a.port, 'cart.test', '/next');
    await until(() => held() === 1, 'the next request to be held');
    release();
    expect((await next).status).toBe(200);
  });

  it('frees the slot of a held large POST whose client went away mid-body when released; the endpoint sees no whole request', async () => {
    await setUp({ containerConcurrency: 1 });
    const p = post(a.port, BODY, false);
    p.answer.catch(() => {});
    p.req.write(randomBytes(100_000));
    await until(() => held() === 1, 'the POST to be held');
    await new Promise((r) => setTimeout(r, 50));
    p.req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(held()).toBe(1); // not seen leaving: its socket is not read while held
    release();
    await until(() => held() === 0 && a.routeStats(ROUTE).inFlight === 0, 'the abandoned POST to be done');
    await until(() => b.inFlight === 0, "the endpoint's request to end");
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0]?.complete).toBe(false);
    // The endpoint's only slot is free again.
    const next = await call(a.port, 'cart.test', '/next');
    expect(next.status).toBe(200);
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it('frees the slot of a held large POST whose client sent it all and went away when released', async () => {
    await setUp({ containerConcurrency: 1 });
    const p = post(a.port, BODY, false);
    p.answer.catch(() => {});
    p.req.end(randomBytes(BODY));
    await until(() => held() === 1, 'the POST to be held');
    await new Promise((r) => setTimeout(r, 50));
    p.req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    release();
    // The whole request was in the kernel's buffers: it may reach the endpoint whole (as from a
    // client that half-closed); its answer goes nowhere.
    await until(() => held() === 0 && a.routeStats(ROUTE).inFlight === 0, 'the abandoned POST to be done');
    await until(() => b.inFlight === 0, "the endpoint's request to end");
    const next = await call(a.port, 'cart.test', '/next');
    expect(next.status).toBe(200);
    expect(a.routeStats(ROUTE)).toMatchObject({ held: 0, inFlight: 0 });
  });

  it('frees the place of a held small GET whose client went away at once, as before', async () => {
    const { observer, outcomes } = heldOutcomes();
    await setUp({}, observer);
    const req = request({
      host: '127.0.0.1',
      port: a.port,
      path: '/small',
      headers: { host: 'cart.test' },
      agent: false,
    });
    req.on('error', () => {});
    req.end();
    await until(() => held() === 1, 'the GET to be held');
    req.destroy();
    await until(() => held() === 0, 'the aborted GET to leave the queue', 2_000);
    expect(outcomes).toEqual(['aborted']);
  });

  it('frees the place of a held POST with a small body (not above 16 KB: never paused) at once', async () => {
    const { observer, outcomes } = heldOutcomes();
    await setUp({}, observer);
    const p = post(a.port, 10_000, false);
    p.answer.catch(() => {});
    p.req.end(randomBytes(10_000));
    await until(() => held() === 1, 'the POST to be held');
    await new Promise((r) => setTimeout(r, 50));
    p.req.destroy();
    await until(() => held() === 0, 'the aborted POST to leave the queue', 2_000);
    expect(outcomes).toEqual(['aborted']);
  });
});
