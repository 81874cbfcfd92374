// HTTP/2 to endpoints whose port says h2c (appProtocol): node:http2 backends on 127.0.0.1, HTTP/1.1
// and HTTP/2 clients through the activator, a session per endpoint, session failures as upstream
// errors with a fresh session for the next request.
import {
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { type AddressInfo, connect as netConnect, createServer as netServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/activator/ports.ts';
import { VirtualClock } from '../clock.ts';
import { h2Call, h2Session } from './h2-helpers.ts';
import { call, closeAfterEach, routeSpec, serviceKey, startActivator, until } from './helpers.ts';

const track = closeAfterEach();

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

interface H2Backend {
  readonly endpoint: Endpoint;
  readonly server: Http2Server;
  readonly sessions: Set<ServerHttp2Session>;
  /** Cuts every TCP connection at once, as a crashed process would. */
  cut(): void;
  /** Sessions accepted so far, streams open now and the most at once. */
  accepted: number;
  open: number;
  maxOpen: number;
  setHandler(h: StreamHandler): void;
  close(): Promise<void>;
}

const echo: StreamHandler = (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    stream.respond(
      { ':status': 200, 'x-seen': `${headers[':method']} ${headers[':path']} ${headers[':authority']}` },
      { waitForTrailers: true },
    );
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(chunks.length) }));
    stream.end(`body=${Buffer.concat(chunks)}`);
  });
};

const startH2Backend = async (handler: StreamHandler = echo): Promise<H2Backend> => {
  let h = handler;
  const server = createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const b: H2Backend = {
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    server,
    endpoint: { address: '127.0.0.1', port: 0, protocol: 'h2c' },
    sessions: new Set(),
    accepted: 0,
    open: 0,
    maxOpen: 0,
    setHandler: (next) => {
      h = next;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of b.sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('session', (s: ServerHttp2Session) => {
    b.accepted++;
    b.sessions.add(s);
    s.on('close', () => b.sessions.delete(s));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    b.open++;
    b.maxOpen = Math.max(b.maxOpen, b.open);
    stream.on('close', () => b.open--);
    stream.on('error', () => {});
    h(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (b as { endpoint: Endpoint }).endpoint = {
    address: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    protocol: 'h2c',
  };
  return b;
};

/** A DATA frame the activator sent an endpoint: its stream, payload length and END_STREAM flag. */
interface DataFrame {
  readonly stream: number;
  readonly length: number;
  readonly endStream: boolean;
}

/**
 * A TCP relay in front of `to` that parses the frames the activator sends (after the 24-byte
 * connection preface) and records its DATA frames: what the endpoint sees on the wire.
 */
const frameTap = async (
  to: Endpoint,
): Promise<{ endpoint: Endpoint; data: DataFrame[]; close(): Promise<void> }> => {
  const data: DataFrame[] = [];
  const sockets = new Set<Socket>();
  const server = netServer((client) => {
    const upstream = netConnect(to.port, to.address);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    let pending = Buffer.alloc(0);
    let preface = true;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      if (preface) {
        if (pending.length < 24) return;
        pending = pending.subarray(24);
        preface = false;
      }
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        if (pending[3] === 0x0 /* DATA */)
          data.push({
            stream: pending.readUInt32BE(5) & 0x7fffffff,
            length,
            endStream: (pending.readUInt8(4) & 1) === 1,
          });
        pending = pending.subarray(9 + length);
      }
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: { address: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'h2c' },
    data,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};

describe('HTTP/2 to h2c endpoints', () => {
  it("a client's body that came whole ends with its DATA frame (END_STREAM on it, no empty frame after)", async () => {
    const b = track(await startH2Backend());
    const tap = track(await frameTap(b.endpoint));
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [tap.endpoint]);
    const s = track(await h2Session(a.port));
    // The session to the endpoint is open (as under load): the call is forwarded at its HEADERS.
    expect((await h2Call(s, 'cart.test').answer).status).toBe(200);
    expect(tap.data).toEqual([]);
    // A gRPC unary call's shape: HEADERS, then one DATA frame with END_STREAM, in one write.
    const got = await h2Call(s, 'cart.test', '/', { method: 'POST', body: 'message' }).answer;
    expect(got.body).toBe('body=message');
    // The endpoint answers a unary call at END_STREAM: sent alone, it is one more wake-up and
    // a write that waits for the DATA frame's.
    expect(tap.data.map(({ length, endStream }) => ({ length, endStream }))).toEqual([
      { length: 7, endStream: true },
    ]);
    // A body still arriving when forwarded streams on and ends as it ends.
    const parts = s.request(
      { ':method': 'POST', ':path': '/', ':authority': 'cart.test' },
      { endStream: false },
    );
    parts.write('first ');
    await until(() => tap.data.length > 1, 'the first part to reach the endpoint');
    let body = '';
    parts.on('data', (c: Buffer) => {
      body += c.toString();
    });
    const ended = new Promise((resolve) => parts.on('end', resolve));
    parts.end('second');
    await ended;
    expect(body).toBe('body=first second');
  });

  it("x-ebb-cold-start on a route that asks for it: ebb's, the h2c backend's own dropped (as over HTTP/1.1)", async () => {
    const b = track(
      await startH2Backend((stream) => {
        stream.respond({
          ':status': 200,
          'x-ebb-cold-start': '7ms',
          'X-EBB-COLD-START': '8ms',
          'x-kept': 'yes',
        });
        stream.end('ok');
      }),
    );
    const clock = new VirtualClock();
    const a = track(
      await startActivator([routeSpec('cart', { coldStartHeader: true })], {}, undefined, undefined, clock),
    );
    const held = call(a.port, 'cart.test', '/');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    await clock.advance(321);
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(answer.headers['x-ebb-cold-start']).toBe('321ms');
    expect(answer.headers['x-kept']).toBe('yes');
    const warm = await call(a.port, 'cart.test', '/');
    expect(warm.headers['x-ebb-cold-start']).toBeUndefined();
    expect(warm.headers['x-kept']).toBe('yes');
  });

  it('an HTTP/1.1 client reaches an h2c endpoint: method, path, authority, body and answer relayed', async () => {
    const b = track(await startH2Backend());
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const got = await call(a.port, 'cart.test', '/x/../y?z', { method: 'POST', body: 'hello' });
    expect(got.status).toBe(200);
    expect(got.headers['x-seen']).toBe('POST /y?z cart.test');
    expect(got.body).toBe('body=hello');
    const chunked = await call(a.port, 'cart.test', '/c', {
      method: 'POST',
      body: 'abc',
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.body).toBe('body=abc');
  });

  it('an HTTP/2 client gets the answer and its trailers; requests share one session', async () => {
    const b = track(await startH2Backend());
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const s = track(await h2Session(a.port));
    const answers = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => h2Call(s, 'cart.test', `/${i}`, { method: 'POST', body: 'x' }).answer,
      ),
    );
    for (const [i, got] of answers.entries()) {
      expect(got.status).toBe(200);
      expect(got.headers['x-seen']).toBe(`POST /${i} cart.test`);
      expect(got.trailers['x-checksum']).toBe('1');
    }
    expect(b.accepted).toBe(1);
  });

  it('holds streams during a cold start and releases them under containerConcurrency', async () => {
    const b = track(await startH2Backend());
    const a = track(await startActivator([routeSpec('cart', { containerConcurrency: 3 })]));
    const s = track(await h2Session(a.port));
    const answers = Array.from({ length: 30 }, (_, i) => h2Call(s, 'cart.test', `/${i}`).answer);
    await until(() => a.routeStats('shop/cart').held === 30, '30 held');
    a.source.set(serviceKey('cart'), [b.endpoint]);
    expect((await Promise.all(answers)).every((x) => x.status === 200)).toBe(true);
    expect(b.maxOpen).toBeLessThanOrEqual(3);
  });

  it('a connection that dies fails its streams as UpstreamFailed (502); the next request opens a new session', async () => {
    const b = track(await startH2Backend(() => {}));
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const pending = call(a.port, 'cart.test', '/dies');
    await until(() => b.open === 1, 'the stream to reach the endpoint');
    b.cut();
    const failed = await pending;
    expect(failed.status).toBe(502);
    expect(failed.headers['x-ebb-reason']).toBe('UpstreamFailed');
    b.setHandler(echo);
    const next = await call(a.port, 'cart.test', '/next');
    expect(next.status).toBe(200);
    expect(b.accepted).toBe(2);
    expect(a.routeStats('shop/cart').inFlight).toBe(0);
  });

  it('a stream the endpoint refused (REFUSED_STREAM: not processed, RFC 9113 §8.7) is sent again', async () => {
    const b = track(await startH2Backend());
    let first = true;
    b.setHandler((stream, headers) => {
      if (first) {
        first = false;
        stream.close(0x7 /* REFUSED_STREAM */);
        return;
      }
      echo(stream, headers);
    });
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const got = await call(a.port, 'cart.test', '/again');
    expect(got.status).toBe(200);
    expect(got.headers['x-seen']).toBe('GET /again cart.test');
  });

  it('a stream the endpoint resets before answering is 502 with the reset code', async () => {
    const b = track(await startH2Backend((stream) => stream.close(0x2 /* INTERNAL_ERROR */)));
    const a = track(await startActivator([routeSpec('cart')]));
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const got = await call(a.port, 'cart.test');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamFailed');
    expect(got.body).toContain('cart');
  });
});
