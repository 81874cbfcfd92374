// Upgrades as an attacker sends them (raw bytes): only `websocket` is relayed unless the route
// allows more (`allowedUpgrades`); an h2c upgrade is ignored and served as a plain request
// (Envoy's HTTP/1 codec, RFC 9110 §7.8, RFC 9113 §3.1); any other token gets 403 UpgradeRefused
// and the connection closes (Envoy's upgrade_failed). An upgraded connection idle for
// upgradeIdleTimeout (no byte either way) is closed and counted out, whether its client vanished
// or half-closed.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../../src/routing/routes.ts';
import {
  type Backend,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  type TestActivator,
  until,
  wsAccept,
  wsClientFrame,
  wsDecode,
} from '../helpers.ts';
import { expectOwnAnswer, openRaw, type RawConn, rawGet } from './conn-harness.ts';

const track = closeAfterEach();
const ROUTE = 'shop/app';

interface UpgradeBackend extends Backend {
  /** Upgrade requests that reached the backend, and their sockets. */
  readonly upgrades: IncomingMessage[];
  readonly tunnels: Socket[];
}

/**
 * A backend that switches to whatever protocol is asked (so a relayed upgrade shows as a 101) and
 * then echoes WebSocket frames; it never closes a tunnel by itself, not even on a FIN
 * (allowHalfOpen), so only the activator's idle timeout can end an abandoned one.
 */
const upgradeBackend = async (): Promise<UpgradeBackend> => {
  const b = track(
    await startBackend((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`plain ${req.headers.upgrade ?? '-'} ${req.headers['http2-settings'] ?? '-'}`);
    }),
  );
  const upgrades: IncomingMessage[] = [];
  const tunnels: Socket[] = [];
  b.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.push(req);
    tunnels.push(socket);
    socket.on('error', () => {});
    const key = req.headers['sec-websocket-key'];
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade ?? ''}\r\nConnection: Upgrade\r\n` +
        (key === undefined ? '' : `Sec-WebSocket-Accept: ${wsAccept(key)}\r\n`) +
        '\r\n',
    );
    let buf = head;
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      for (let f = wsDecode(buf); f !== undefined; f = wsDecode(buf)) {
        buf = buf.subarray(f.length);
        const out = Buffer.from(`echo: ${f.text}`);
        socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
      }
    };
    socket.on('data', onData);
    if (head.length > 0) onData(Buffer.alloc(0));
  });
  return Object.assign(b, { upgrades, tunnels });
};

const warm = async (
  b: Backend,
  over: Partial<RouteSpec> = {},
  limits: Parameters<typeof startActivator>[1] = {},
): Promise<TestActivator> => {
  const a = track(await startActivator([routeSpec('app', over)], limits));
  a.source.set(serviceKey('app'), [b.endpoint]);
  return a;
};

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const wsUpgrade = (extra: readonly string[] = []): string =>
  rawGet('app.test', '/ws', [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${KEY}`,
    ...extra,
  ]);

/** Opens a WebSocket through the activator and waits for the 101 and one echoed frame. */
const openTunnel = async (a: TestActivator): Promise<RawConn> => {
  const c = await openRaw(a.port);
  c.write(Buffer.concat([Buffer.from(wsUpgrade()), wsClientFrame('hello')]));
  const [switched] = await c.waitResponses(1);
  expect(switched?.status).toBe(101);
  expect(switched?.headers['sec-websocket-accept']).toBe(wsAccept(KEY));
  await until(() => {
    const raw = c.received();
    const frames = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
    return wsDecode(frames)?.text === 'echo: hello';
  }, 'the echoed frame');
  expect(a.routeStats(ROUTE).inFlight).toBe(1);
  return c;
};

describe('which upgrades are relayed', { timeout: 30_000 }, () => {
  it('an h2c upgrade is ignored: the request is served plainly, without Upgrade or HTTP2-Settings, and the connection stays usable', async () => {
    const b = await upgradeBackend();
    const a = await warm(b);
    const c = await openRaw(a.port);
    c.write(
      rawGet('app.test', '/', [
        'Connection: Upgrade, HTTP2-Settings',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
      ]),
    );
    const [first] = await c.waitResponses(1);
    expect(first?.status).toBe(200);
    expect(first?.body).toBe('plain - -');
    expect(b.upgrades).toEqual([]);
    // Still an HTTP/1.1 connection: a second request on it is answered too.
    c.write(rawGet('app.test', '/again'));
    const both = await c.waitResponses(2);
    expect(both[1]?.status).toBe(200);
    expect(b.seen.map((r) => r.url)).toEqual(['/', '/again']);
  });

  it.each([
    ['an unknown protocol', 'foo/1'],
    ['TLS (RFC 2817)', 'TLS/1.0'],
    ['h2c next to websocket', 'websocket, h2c'],
    ['a list with one unknown token', 'websocket, irc'],
  ])(
    '%s is refused with 403 UpgradeRefused naming the token, and the connection closes',
    async (_, upgrade) => {
      const b = await upgradeBackend();
      const a = await warm(b);
      const c = await openRaw(a.port);
      c.write(rawGet('app.test', '/', ['Connection: Upgrade', `Upgrade: ${upgrade}`]));
      const [answer] = await c.waitResponses(1);
      expectOwnAnswer(answer, 403, 'UpgradeRefused', [`route ${ROUTE}`, 'allowedUpgrades']);
      await c.waitClosed();
      expect(b.upgrades).toEqual([]);
      expect(b.seen).toEqual([]);
      expect(a.routeStats(ROUTE).inFlight).toBe(0);
    },
  );

  it('websocket is relayed by default', async () => {
    const b = await upgradeBackend();
    const a = await warm(b);
    const c = await openTunnel(a);
    expect(b.upgrades[0]?.headers.upgrade).toBe('websocket');
    c.socket.destroy();
    await until(() => a.routeStats(ROUTE).inFlight === 0, 'the tunnel counted out');
  });

  it('a route that allows another protocol has it relayed; its list replaces the default', async () => {
    const b = await upgradeBackend();
    const a = await warm(b, { allowedUpgrades: ['foo'] });
    const c = await openRaw(a.port);
    c.write(rawGet('app.test', '/', ['Connection: Upgrade', 'Upgrade: FOO/2']));
    const [answer] = await c.waitResponses(1);
    expect(answer?.status).toBe(101);
    expect(b.upgrades[0]?.headers.upgrade).toBe('FOO/2');
    c.socket.destroy();

    const ws = await openRaw(a.port);
    ws.write(wsUpgrade());
    const [refused] = await ws.waitResponses(1);
    expect(refused?.status).toBe(403);
    expect(refused?.body).toContain('"websocket"');
  });
});

describe('upgraded connections: idle timeout', { timeout: 30_000 }, () => {
  it('a client that vanished (sends nothing, never closes) is cut and counted out after upgradeIdleTimeout', async () => {
    const b = await upgradeBackend();
    const a = await warm(b, { upgradeIdleTimeoutMs: 300 });
    const c = await openTunnel(a);
    // Neither side sends anything more.
    await until(() => a.routeStats(ROUTE).inFlight === 0, 'the idle tunnel counted out');
    await c.waitClosed();
    await until(
      () => b.tunnels[0]?.destroyed === true || b.tunnels[0]?.readableEnded === true,
      'upstream closed',
    );
  });

  it('a half-closed client (FIN) ends the tunnel, even when the endpoint keeps its side open (as nginx)', async () => {
    const b = await upgradeBackend();
    // No idle limit: only the FIN can end it.
    const a = await warm(b, {}, { upgradeIdleTimeoutMs: 0 });
    const c = await openTunnel(a);
    c.socket.end();
    await until(() => a.routeStats(ROUTE).inFlight === 0, 'the half-closed tunnel counted out');
    await c.waitClosed();
    await until(() => b.tunnels[0]?.readableEnded === true, 'the FIN passed on to the endpoint');
  });

  it('an endpoint that half-closes ends the tunnel too; what it sent before reaches the client', async () => {
    const b = await upgradeBackend();
    const a = await warm(b, {}, { upgradeIdleTimeoutMs: 0 });
    const c = await openTunnel(a);
    b.tunnels[0]?.end(Buffer.from([0x81, 3, 0x62, 0x79, 0x65])); // a last text frame, "bye", then FIN
    await until(() => a.routeStats(ROUTE).inFlight === 0, 'the tunnel counted out');
    await c.waitClosed();
    expect(c.received().subarray(-5)).toEqual(Buffer.from([0x81, 3, 0x62, 0x79, 0x65]));
  });

  it('a tunnel with traffic is not idle: frames keep flowing past the idle timeout', async () => {
    const b = await upgradeBackend();
    const a = await warm(b, { upgradeIdleTimeoutMs: 1500 });
    const c = await openTunnel(a);
    for (let i = 0; i < 10; i++) {
      c.write(wsClientFrame(`m${i}`));
      await new Promise((r) => setTimeout(r, 250));
    }
    const texts = (): string[] => {
      const raw = c.received();
      let frames = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
      const out: string[] = [];
      for (let f = wsDecode(frames); f !== undefined; f = wsDecode(frames)) {
        out.push(f.text);
        frames = frames.subarray(f.length);
      }
      return out;
    };
    await until(() => texts().length === 11, 'every echo');
    expect(texts()).toEqual(['echo: hello', ...Array.from({ length: 10 }, (_, i) => `echo: m${i}`)]);
    expect(c.closed()).toBe(false);
    expect(a.routeStats(ROUTE).inFlight).toBe(1);
  });
});
