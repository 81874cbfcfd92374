// TLS to endpoints whose port says https (appProtocol `https`/`kubernetes.io/wss`): real
// node:https backends on 127.0.0.1 with `selfsigned` certificates, the activator verifying them
// against the Service name `<svc>.<ns>.svc` and the CA it was given (backend-tls.ts).
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { checkCaBundle, isTlsFailure } from '../../src/activator/backend-tls.ts';
import { appProtocolOf, type Endpoint } from '../../src/activator/ports.ts';
import type { ActivatorOptions } from '../../src/activator/server.ts';
import { h2Call, h2Session } from './h2-helpers.ts';
import {
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  type TestActivator,
  until,
  wsAccept,
} from './helpers.ts';
import { makeCert, type TestCert } from './tls-certs.ts';

const track = closeAfterEach();

interface TlsBackend {
  readonly endpoint: Endpoint;
  /** SNI names the backend's handshakes carried, and the connections it accepted. */
  readonly servernames: string[];
  requests: number;
  close(): Promise<void>;
}

/** An https backend serving `cert`; answers `ok <servername>`; WebSocket upgrades echo once. */
const startTlsBackend = async (cert: TestCert): Promise<TlsBackend> => {
  const server: Server = createServer({ cert: cert.cert, key: cert.key });
  const sockets = new Set<Socket>();
  const b = {
    endpoint: { address: '127.0.0.1', port: 0, protocol: 'https' } as Endpoint,
    servernames: [] as string[],
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: TLSSocket) => {
    b.servernames.push(String((s as TLSSocket & { servername?: string | false }).servername));
  });
  server.on('tlsClientError', () => {});
  server.on('request', (req, res) => {
    b.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const sni = (req.socket as TLSSocket & { servername?: string }).servername;
      res.end(`ok ${sni} ${req.headers.host}${body === '' ? '' : ` body=${body}`}`);
    });
  });
  server.on('upgrade', (req, socket: Socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${wsAccept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    socket.once('data', (c: Buffer) => socket.end(Buffer.concat([Buffer.from('tls-echo:'), c])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.endpoint = { address: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'https' };
  return b;
};

/** Route shop/cart (Service cart, so the name checked is cart.shop.svc) over `b`. */
const activatorFor = async (
  b: TlsBackend | undefined,
  backendTls: ActivatorOptions['backendTls'],
  over: Parameters<typeof routeSpec>[1] = {},
): Promise<TestActivator> => {
  const a = track(
    await startActivator([routeSpec('cart', over)], {}, undefined, undefined, undefined, {
      ...(backendTls === undefined ? {} : { backendTls }),
    }),
  );
  if (b !== undefined) a.source.set(serviceKey('cart'), [b.endpoint]);
  return a;
};

describe('TLS to endpoints whose port says https', () => {
  it('verifies the certificate for <svc>.<ns>.svc with the given CA: 200, SNI sent, connections reused', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(undefined, { ca: cert.cert });
    // Held for a cold start first, then the https endpoint appears.
    const held = call(a.port, 'cart.test', '/first');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request to be held');
    a.source.set(serviceKey('cart'), [b.endpoint]);
    const first = await held;
    expect(first.status).toBe(200);
    expect(first.body).toBe('ok cart.shop.svc cart.test');
    for (let i = 0; i < 5; i++) expect((await call(a.port, 'cart.test', `/${i}`)).status).toBe(200);
    expect(b.requests).toBe(6);
    // Keep-alive over TLS: one handshake carried all six requests one after another.
    expect(b.servernames).toEqual(['cart.shop.svc']);
  });

  it('a request body goes through over TLS, sized and chunked', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: cert.cert });
    const sized = await call(a.port, 'cart.test', '/p', { method: 'POST', body: 'x'.repeat(100_000) });
    expect(sized.body).toBe(`ok cart.shop.svc cart.test body=${'x'.repeat(100_000)}`);
    const chunked = await call(a.port, 'cart.test', '/c', {
      method: 'POST',
      body: 'abc',
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.body).toBe('ok cart.shop.svc cart.test body=abc');
  });

  it('an expired certificate is refused, naming the reason', async () => {
    const day = 86_400_000;
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc'], {
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: cert.cert });
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
    expect(got.body).toContain('CERT_HAS_EXPIRED');
  });

  it('a certificate for another name is a 502 UpstreamTlsFailed naming the name and the reason', async () => {
    const cert = await makeCert('other.shop.svc', ['other.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: cert.cert });
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
    expect(got.body).toContain('route shop/cart');
    expect(got.body).toContain(`endpoint 127.0.0.1:${b.endpoint.port} as cart.shop.svc`);
    expect(got.body).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(b.requests).toBe(0);
    // The activator is not stuck: the next request fails the same way, at once.
    expect((await call(a.port, 'cart.test', '/')).headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
  });

  it('without a CA a self-signed certificate is refused (node default CAs): 502 naming it', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, undefined);
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
    expect(got.body).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('a CA that did not sign the certificate is refused', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const stranger = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: stranger.cert });
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
  });

  it('insecure accepts any certificate for any name: 200', async () => {
    const cert = await makeCert('other.example', ['other.example']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { insecure: true });
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(200);
    expect(got.body).toBe('ok cart.shop.svc cart.test');
  });

  it('an endpoint that does not speak TLS is a 502 UpstreamTlsFailed, not a hang', async () => {
    const plain = createHttpServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => plain.close(() => resolve())) });
    const port = (plain.address() as AddressInfo).port;
    const a = await activatorFor(undefined, { insecure: true });
    a.source.set(serviceKey('cart'), [{ address: '127.0.0.1', port, protocol: 'https' }]);
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
    // OpenSSL's reason: the peer's answer (an HTTP/1.1 400) is no TLS record.
    expect(got.body).toContain('wrong version number');
  });

  it('a WebSocket upgrade reaches a wss endpoint over TLS', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: cert.cert }, { allowedUpgrades: ['websocket'] });
    const socket = connect(a.port, '127.0.0.1');
    track({ close: async () => void socket.destroy() });
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: cart.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await until(() => received.includes('\r\n\r\n'), 'the 101');
    expect(received).toMatch(/^HTTP\/1.1 101 /);
    socket.write('ping');
    await until(() => received.includes('tls-echo:ping'), 'the echo over TLS');
    expect(b.servernames).toEqual(['cart.shop.svc']);
  });
});

describe('TLS endpoints and other clients, and silent peers', () => {
  it('an HTTP/2 client reaches an https endpoint (HTTP/1.1 over TLS on the forward hop)', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const b = track(await startTlsBackend(cert));
    const a = await activatorFor(b, { ca: cert.cert });
    const session = track(await h2Session(a.port));
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h2Call(session, 'cart.test', `/${i}`).answer),
    );
    for (const got of answers) {
      expect(got.status).toBe(200);
      expect(got.body).toBe('ok cart.shop.svc cart.test');
    }
  });

  it('a peer that accepts and never answers the ClientHello is cut at the response timeout: 504', async () => {
    const silent = createNetServer((socket) => socket.on('error', () => {}));
    const sockets = new Set<Socket>();
    silent.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    });
    const port = (silent.address() as AddressInfo).port;
    const a = await activatorFor(undefined, {}, { responseTimeoutMs: 300 });
    a.source.set(serviceKey('cart'), [{ address: '127.0.0.1', port, protocol: 'https' }]);
    const got = await call(a.port, 'cart.test', '/');
    expect(got.status).toBe(504);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTimeout');
    expect(a.routeStats('shop/cart').inFlight).toBe(0);
  });
});

describe('appProtocol names', () => {
  it.each([
    ['https', 'https'],
    ['kubernetes.io/wss', 'https'],
    ['kubernetes.io/ws', 'http/1.1'],
    ['kubernetes.io/h2c', 'h2c'],
    ['h2c', 'h2c'],
    ['grpc', 'h2c'],
    ['http', 'http/1.1'],
    ['HTTPS', 'http/1.1'],
    [undefined, 'http/1.1'],
  ])('%s → %s', (appProtocol, protocol) => {
    expect(appProtocolOf(appProtocol)).toBe(protocol);
  });
});

describe('TLS failure codes and CA bundles', () => {
  it.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', true],
    ['ERR_SSL_WRONG_VERSION_NUMBER', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', true],
    ['CERT_HAS_EXPIRED', true],
    ['EPROTO', true],
    ['ECONNRESET', false],
    ['ECONNREFUSED', false],
    ['HPE_INVALID_CONSTANT', false],
  ])('%s is a TLS failure: %s', (code, tls) => {
    expect(isTlsFailure(code)).toBe(tls);
  });

  it('a CA bundle needs at least one parseable certificate; the error names the file', async () => {
    const one = await makeCert('a.b.svc', ['a.b.svc']);
    const two = await makeCert('c.d.svc', ['c.d.svc']);
    expect(checkCaBundle(`# comment\n${one.cert}\n${two.cert}`, 'ca.pem')).toEqual({
      ca: `${one.cert.trim()}\n${two.cert.trim()}`,
    });
    expect(checkCaBundle('', '/etc/ca.pem')).toEqual({
      problem: '/etc/ca.pem: no PEM certificate (-----BEGIN CERTIFICATE-----) in it',
    });
    expect(checkCaBundle(one.key, 'key.pem')).toHaveProperty('problem');
    const broken = checkCaBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'bad.pem');
    expect(broken).toHaveProperty('problem');
    expect((broken as { problem: string }).problem).toMatch(
      /^bad\.pem: certificate 1 of 1 is not a valid X\.509/,
    );
  });
});
