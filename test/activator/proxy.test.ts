// The data path through real HTTP: headers, retries on refused connections, a backend dying
// mid-request, SSE and chunked streaming, backpressure on a response, WebSocket pass-through,
// client aborts.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  call,
  closeAfterEach,
  refusedEndpoint,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
  wsAccept,
  wsClientFrame,
  wsDecode,
} from './helpers.ts';

const track = closeAfterEach();
const activatorWith = async (...args: Parameters<typeof startActivator>): Promise<TestActivator> =>
  track(await startActivator(...args));
const backend = async (...args: Parameters<typeof startBackend>): Promise<Backend> =>
  track(await startBackend(...args));

/** An activator with route `shop/app` (host app.test) over the given backends. */
const warm = async (
  backends: readonly Backend[],
  over: Parameters<typeof routeSpec>[1] = {},
): Promise<TestActivator> => {
  const a = await activatorWith([routeSpec('app', over)]);
  a.source.set(
    serviceKey('app'),
    backends.map((b) => b.endpoint),
  );
  return a;
};

describe('headers', () => {
  it('sets X-Forwarded-*, keeps Host, strips hop-by-hop both ways', async () => {
    const b = await backend((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic',
        'x-end-to-end': 'kept',
      });
      res.end('ok');
    });
    const a = await warm([b]);
    const got = await call(a.port, 'app.test', '/h', {
      headers: {
        connection: 'x-drop-me',
        'x-drop-me': '1',
        'keep-alive': '300',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-forwarded-for': '203.0.113.7',
        'x-custom': 'yes',
      },
    });
    expect(got.status).toBe(200);
    const seen = b.seen[0]?.headers ?? {};
    expect(seen.host).toBe('app.test');
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('app.test');
    expect(seen['x-custom']).toBe('yes');
    for (const h of ['x-drop-me', 'keep-alive', 'proxy-authorization', 'te']) expect(seen[h]).toBeUndefined();
    expect(got.headers['x-end-to-end']).toBe('kept');
    for (const h of ['x-hop', 'proxy-authenticate']) expect(got.headers[h]).toBeUndefined();
  });
});

describe('connection pool', () => {
  it('reuses one keep-alive connection per endpoint for sequential requests', async () => {
    const b = await backend();
    const a = await warm([b]);
    for (let i = 0; i < 20; i++) expect((await call(a.port, 'app.test')).status).toBe(200);
    expect(b.seen).toHaveLength(20);
    expect(b.connections).toBe(1);
  });
});

describe('retries and failures', () => {
  it('retries a refused connection on another endpoint', async () => {
    const good = await backend();
    const a = await activatorWith([routeSpec('app')]);
    a.source.set(serviceKey('app'), [await refusedEndpoint(), good.endpoint]);
    const got = await Promise.all(Array.from({ length: 10 }, () => call(a.port, 'app.test')));
    expect(got.map((g) => g.status)).toEqual(Array(10).fill(200));
    expect(good.seen).toHaveLength(10);
  });

  it('keeps a request whose only endpoint refuses until the endpoint listens (slow start)', async () => {
    const endpoint = await refusedEndpoint();
    const a = await activatorWith([routeSpec('app')], { refusedCooldownMs: 20 });
    a.source.set(serviceKey('app'), [endpoint]);
    const answer = call(a.port, 'app.test');
    await until(() => a.routeStats('shop/app').held === 1, 'the refused request to be held again');
    // The backend now listens where the endpoint said it would.
    const server = createServer((_req, res) => res.end('late'));
    await new Promise<void>((resolve) => server.listen(endpoint.port, endpoint.address, resolve));
    try {
      const got = await answer;
      expect(got.status).toBe(200);
      expect(got.body).toBe('late');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('answers 502 with the reason when the backend dies mid-request; the next request goes elsewhere', async () => {
    let victim: Backend | undefined;
    const b1 = await backend(() => victim?.kill());
    const b2 = await backend((_req, res) => res.end('survivor'));
    victim = b1;
    // b1 first: with nothing in flight the pick starts at the first endpoint.
    const a = await warm([b1, b2]);
    const first = await call(a.port, 'app.test', '/boom');
    expect(first.status).toBe(502);
    expect(first.headers['x-ebb-reason']).toBe('UpstreamFailed');
    expect(first.body).toContain('route shop/app');
    expect(first.body).toContain(`endpoint 127.0.0.1:${b1.endpoint.port}`);
    expect(first.body).toMatch(/socket hang up|ECONNRESET/);
    const next = await call(a.port, 'app.test');
    expect(next.status).toBe(200);
    expect(next.body).toBe('survivor');
    expect(a.routeStats('shop/app').inFlight).toBe(0);
  });

  it('destroys the client connection when the backend dies after the response head', async () => {
    const b = await backend((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 10);
    });
    const a = await warm([b]);
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: a.port, path: '/', headers: { host: 'app.test' } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve('complete'));
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
        },
      );
      req.on('error', () => resolve('cut'));
      req.end();
    });
    expect(outcome).toBe('cut');
  });

  it('a client that leaves mid-request frees the endpoint slot and cancels upstream', async () => {
    let upstreamClosed = false;
    const b = await backend((_req, res) => {
      res.on('close', () => {
        upstreamClosed = true;
      });
    });
    const a = await warm([b], { containerConcurrency: 1 });
    const req = request({ host: '127.0.0.1', port: a.port, path: '/', headers: { host: 'app.test' } });
    req.on('error', () => {});
    req.end();
    await until(() => a.routeStats('shop/app').inFlight === 1, 'in flight');
    req.destroy();
    await until(() => a.routeStats('shop/app').inFlight === 0 && upstreamClosed, 'the slot freed upstream');
    b.setHandler((_req, res) => res.end('next'));
    expect((await call(a.port, 'app.test')).body).toBe('next');
  });
});

describe('streaming', () => {
  it('passes SSE events one by one (each is read before the next is sent)', async () => {
    let sendNext: (() => void) | undefined;
    const b = await backend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      let n = 0;
      sendNext = () => {
        n++;
        if (n > 3) res.end();
        else res.write(`data: event ${n}\n\n`);
      };
    });
    const a = await warm([b]);
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: a.port, path: '/events', headers: { host: 'app.test' } },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          // The head arrived before any event was written: it was flushed, not buffered.
          sendNext?.();
          res.on('data', (c: Buffer) => {
            events.push(c.toString());
            sendNext?.();
          });
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(events).toEqual(['data: event 1\n\n', 'data: event 2\n\n', 'data: event 3\n\n']);
  });

  it('streams a chunked request body and a chunked response both ways', async () => {
    const b = await backend((req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const a = await warm([b]);
    const parts = ['alpha-', 'beta-', 'gamma'];
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: a.port, method: 'POST', path: '/echo', headers: { host: 'app.test' } },
        (res) => {
          let got = '';
          res.on('data', (c: Buffer) => {
            got += c.toString();
            const next = parts.shift();
            if (next === undefined) req.end();
            else req.write(next);
          });
          res.on('end', () => resolve(got));
        },
      );
      req.on('error', reject);
      req.write('start-');
      req.flushHeaders();
    });
    expect(body).toBe('start-alpha-beta-gamma');
    expect(b.seen[0]?.headers['transfer-encoding']).toBe('chunked');
  });
});

describe('backpressure', () => {
  it('a response the client does not read stops the endpoint, not piles up in the activator', async () => {
    // The endpoint writes 64 MB, a 64 KB chunk each time the previous one drained.
    const CHUNK = Buffer.alloc(64 * 1024, 0x61);
    const TOTAL = 64 * 1024 * 1024;
    let written = 0;
    const b = await backend((_req, res) => {
      res.writeHead(200, { 'content-length': String(TOTAL) });
      const more = (): void => {
        while (written < TOTAL) {
          written += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    });
    const a = await warm([b]);
    // A client that sends its request and then reads nothing.
    const client = connect(a.port, '127.0.0.1');
    client.pause();
    client.write('GET /big HTTP/1.1\r\nHost: app.test\r\n\r\n');
    // The endpoint blocks once the socket buffers on the way and the activator's stream buffers
    // are full: its count stops moving well short of the whole body.
    let last = -1;
    let still = 0;
    await until(
      () => {
        still = written === last ? still + 1 : 0;
        last = written;
        return still >= 100;
      },
      'the endpoint blocked',
      60_000,
    );
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(TOTAL / 2);
    // Reading on lets everything through, byte for byte.
    let received = 0;
    let headEnd = -1;
    let head = '';
    const done = new Promise<void>((resolve) => {
      client.on('data', (c: Buffer) => {
        if (headEnd < 0) {
          head += c.toString('latin1');
          headEnd = head.indexOf('\r\n\r\n');
          if (headEnd >= 0) received = Buffer.byteLength(head, 'latin1') - headEnd - 4;
        } else received += c.length;
        if (received >= TOTAL) resolve();
      });
    });
    client.resume();
    await done;
    expect(head.startsWith('HTTP/1.1 200')).toBe(true);
    expect(received).toBe(TOTAL);
    client.destroy();
  });
});

describe('WebSocket', () => {
  const upgradeRequest = (key: string): string =>
    'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;

  /** A WebSocket echo backend written against the raw upgrade event (RFC 6455 handshake). */
  const echoBackend = async (): Promise<Backend> => {
    const b = await backend((_req, res) => res.end('not a websocket'));
    b.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      b.seen.push(req);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${wsAccept(req.headers['sec-websocket-key'] ?? '')}\r\n\r\n`,
      );
      let buf = head;
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        for (let f = wsDecode(buf); f !== undefined; f = wsDecode(buf)) {
          buf = buf.subarray(f.length);
          if (f.opcode === 0x8) {
            // Close: answer with a close frame (status 1000) and end the connection.
            socket.end(Buffer.from([0x88, 2, 0x03, 0xe8]));
            return;
          }
          const out = Buffer.from(`echo: ${f.text}`);
          socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
        }
      };
      socket.on('data', onData);
      socket.on('end', () => socket.end());
      if (head.length > 0) onData(Buffer.alloc(0));
    });
    return b;
  };

  it('echoes frames through the proxy after relaying the 101, also while cold-started', async () => {
    const b = await echoBackend();
    const a = await activatorWith([routeSpec('app')]);
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const socket = connect(a.port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
    });
    // The first frame travels in the same write as the upgrade request (the server's `head`).
    socket.write(Buffer.concat([Buffer.from(upgradeRequest(key)), wsClientFrame('one')]));
    await until(() => a.routeStats('shop/app').held === 1, 'the upgrade to be held');
    expect(a.pokes).toEqual([{ route: 'shop/app', held: 1 }]);
    a.source.set(serviceKey('app'), [b.endpoint]);
    await until(() => received.includes('\r\n\r\n'), 'the 101');
    const headEnd = received.indexOf('\r\n\r\n') + 4;
    const head = received.subarray(0, headEnd).toString();
    expect(head).toMatch(/^HTTP\/1.1 101 /);
    expect(head).toContain(`Sec-WebSocket-Accept: ${wsAccept(key)}`);
    expect(b.seen[0]?.headers.upgrade).toBe('websocket');
    expect(b.seen[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    await until(() => wsDecode(received.subarray(headEnd)) !== undefined, 'the first echo');
    socket.write(wsClientFrame('two'));
    await until(() => {
      const first = wsDecode(received.subarray(headEnd));
      return first !== undefined && wsDecode(received.subarray(headEnd + first.length)) !== undefined;
    }, 'the second echo');
    const first = wsDecode(received.subarray(headEnd));
    const second = wsDecode(received.subarray(headEnd + (first?.length ?? 0)));
    expect([first?.text, second?.text]).toEqual(['echo: one', 'echo: two']);
    // An open WebSocket is one request in flight until it closes.
    expect(a.routeStats('shop/app').inFlight).toBe(1);
    socket.destroy();
    await until(() => a.routeStats('shop/app').inFlight === 0, 'the WebSocket to end');
  });

  it("node's own WebSocket client talks to the backend through the proxy and closes cleanly", async () => {
    const b = await echoBackend();
    const a = await activatorWith([routeSpec('app', { hosts: ['*'] })]);
    a.source.set(serviceKey('app'), [b.endpoint]);
    const ws = new WebSocket(`ws://127.0.0.1:${a.port}/chat`);
    const messages: string[] = [];
    const closed = await new Promise<{ code: number; clean: boolean }>((resolve, reject) => {
      ws.addEventListener('open', () => ws.send('hello'));
      ws.addEventListener('message', (e) => {
        messages.push(String(e.data));
        if (messages.length === 1) ws.send('again');
        else ws.close(1000);
      });
      ws.addEventListener('close', (e) => resolve({ code: e.code, clean: e.wasClean }));
      ws.addEventListener('error', () => reject(new Error('websocket error')));
    });
    expect(messages).toEqual(['echo: hello', 'echo: again']);
    expect(closed).toEqual({ code: 1000, clean: true });
    await until(() => a.routeStats('shop/app').inFlight === 0, 'the WebSocket to end');
  });

  it('a held upgrade whose client leaves (FIN) frees its slot at once', async () => {
    const a = await activatorWith([routeSpec('app')]);
    const socket = connect(a.port, '127.0.0.1');
    socket.write(upgradeRequest('a2V5a2V5a2V5a2V5a2V5aw=='));
    await until(() => a.routeStats('shop/app').held === 1, 'the upgrade to be held');
    socket.end();
    await until(() => a.routeStats('shop/app').held === 0, 'the slot freed');
  });

  it('relays a backend that refuses to switch protocols, then closes', async () => {
    const b = await backend((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', 'content-length': '4' });
      res.end('nope');
    });
    const a = await warm([b]);
    const socket = connect(a.port, '127.0.0.1');
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString();
      });
      socket.on('close', () => resolve(got));
      socket.write(upgradeRequest('a2V5a2V5a2V5a2V5a2V5aw=='));
    });
    expect(answer).toMatch(/^HTTP\/1.1 426 /);
    expect(answer.endsWith('nope')).toBe(true);
    expect(a.routeStats('shop/app').inFlight).toBe(0);
  });
});
