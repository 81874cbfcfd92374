// The TLS listener through real node:tls / node:https clients on 127.0.0.1: requests served as
// on the plain port with X-Forwarded-Proto https, certificates chosen by SNI, reload without
// dropping a connection, a bad certificate keeping the previous one, the protocol floor.
import { connect as connectH2 } from 'node:http2';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateStore, type TlsSettings } from '../../src/activator/certificates.ts';
import { createActivator } from '../../src/activator/server.ts';
import { parseTlsSettings } from '../../src/activator/tls.ts';
import {
  CertificateExpired,
  CertificateKeyMismatch,
  CertificateNotYetValid,
  CertificateUnparseable,
} from '../../src/api/reasons.ts';
import { type Backend, call, closeAfterEach, routeSpec, serviceKey, startBackend } from './helpers.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';
import { callTls, makeCert, presented, type TestCert } from './tls-certs.ts';

const track = closeAfterEach();
const SETTINGS: TlsSettings = { minVersion: 'TLSv1.2' };

let a: TestCert;
let b: TestCert;
let wild: TestCert;
beforeAll(async () => {
  [a, b, wild] = await Promise.all([
    makeCert('cert-a', ['app.test', 'a.example.test']),
    makeCert('cert-b', ['b.example.test']),
    makeCert('cert-wild', ['*.wild.test']),
  ]);
});

interface TlsActivator {
  readonly port: number;
  readonly tlsPort: number;
  readonly store: CertificateStore;
  readonly backend: Backend;
  readonly handshakeErrors: Error[];
  readonly activator: ReturnType<typeof createActivator>;
}

/** An activator with route app.test (and b.example.test) over one backend, its TLS port serving `store`. */
const start = async (store: CertificateStore): Promise<TlsActivator> => {
  const backend = track(await startBackend());
  const source = new MemoryEndpointSource();
  const handshakeErrors: Error[] = [];
  const activator = createActivator({
    endpoints: source,
    routes: [routeSpec('app', { hosts: ['app.test', 'b.example.test'] })],
    poke: () => {},
    id: 'tls-test',
    limits: { drainTimeoutMs: 5_000 },
    tls: { certificates: store, onHandshakeError: (err) => handshakeErrors.push(err) },
  });
  track({ close: () => activator.close() });
  source.set(serviceKey('app'), [backend.endpoint]);
  const tlsServer = activator.tlsServer;
  if (tlsServer === undefined) throw new Error('no TLS listener');
  await new Promise<void>((resolve) => activator.server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  return {
    port: (activator.server.address() as AddressInfo).port,
    tlsPort: (tlsServer.address() as AddressInfo).port,
    store,
    backend,
    handshakeErrors,
    activator,
  };
};

const storeWith = (...certs: [string, TestCert][]): CertificateStore => {
  const store = new CertificateStore(
    SETTINGS,
    certs.map(([source]) => source),
  );
  for (const [source, cert] of certs) expect(store.set(source, cert)).toBeUndefined();
  return store;
};

describe('the TLS listener', () => {
  it('serves a request as the plain port does, with X-Forwarded-Proto https (http on the plain port)', async () => {
    const t = await start(storeWith(['shop/a', a]));
    const got = await callTls(t.tlsPort, 'app.test', '/over-tls');
    expect(got).toMatchObject({ status: 200, body: 'ok', cn: 'cert-a' });
    const plain = await call(t.port, 'app.test', '/plain');
    expect(plain.status).toBe(200);
    expect(t.backend.seen.map((r) => [r.url, r.headers['x-forwarded-proto']])).toEqual([
      ['/over-tls', 'https'],
      ['/plain', 'http'],
    ]);
  });

  it('a client that negotiates h2 by ALPN is served HTTP/2 on the TLS port (RFC 9113 §3.2)', async () => {
    const t = await start(storeWith(['shop/a', a]));
    const session = connectH2(`https://127.0.0.1:${t.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    try {
      const got = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/over-h2', ':authority': 'app.test' });
        let status = 0;
        let body = '';
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
        stream.end();
      });
      expect(session.alpnProtocol).toBe('h2');
      expect(got).toEqual({ status: 200, body: 'ok' });
      expect(t.backend.seen.map((r) => [r.url, r.headers['x-forwarded-proto']])).toEqual([
        ['/over-h2', 'https'],
      ]);
    } finally {
      session.close();
    }
  });

  it('a client claiming X-Forwarded-Proto http over TLS is replaced by https (no trusted proxy)', async () => {
    const t = await start(storeWith(['shop/a', a]));
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: t.tlsPort,
          servername: 'app.test',
          headers: { host: 'app.test', 'x-forwarded-proto': 'http' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(t.backend.seen[0]?.headers['x-forwarded-proto']).toBe('https');
  });

  it('chooses the certificate by SNI: exact, then wildcard of one label, else the first source', async () => {
    const t = await start(storeWith(['shop/a', a], ['shop/b', b], ['shop/wild', wild]));
    const cn = async (name: string): Promise<string> => {
      const p = await presented(t.tlsPort, name);
      p.socket.destroy();
      return p.cn;
    };
    expect(await cn('a.example.test')).toBe('cert-a');
    expect(await cn('B.Example.Test')).toBe('cert-b');
    expect(await cn('x.wild.test')).toBe('cert-wild');
    // A wildcard is one label: neither the bare domain nor two labels deep.
    expect(await cn('wild.test')).toBe('cert-a');
    expect(await cn('x.y.wild.test')).toBe('cert-a');
    expect(await cn('unknown.test')).toBe('cert-a');
    expect(await cn('')).toBe('cert-a');
  });

  it('reloads: a new handshake sees the new certificate, an open connection keeps serving', async () => {
    const t = await start(storeWith(['shop/a', a], ['shop/b', b]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      expect((await callTls(t.tlsPort, 'b.example.test', '/1', agent)).cn).toBe('cert-b');
      const renewed = await makeCert('cert-b2', ['b.example.test']);
      expect(t.store.set('shop/b', renewed)).toBeUndefined();
      // Same keep-alive connection: still answered, still the old certificate.
      const again = await callTls(t.tlsPort, 'b.example.test', '/2', agent);
      expect(again).toMatchObject({ status: 200, cn: 'cert-b' });
      expect(t.backend.connections).toBe(1);
      const fresh = await presented(t.tlsPort, 'b.example.test');
      fresh.socket.destroy();
      expect(fresh.cn).toBe('cert-b2');
      // The default certificate (the server's own context) reloads too.
      const a2 = await makeCert('cert-a2', ['app.test']);
      expect(t.store.set('shop/a', a2)).toBeUndefined();
      const noSni = await presented(t.tlsPort, '');
      noSni.socket.destroy();
      expect(noSni.cn).toBe('cert-a2');
    } finally {
      agent.destroy();
    }
  });

  it('a bad certificate is refused with its source and reason, and the previous one is served', async () => {
    const t = await start(storeWith(['shop/a', a], ['shop/b', b]));
    const expired = await makeCert('old', ['b.example.test'], {
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const future = await makeCert('future', ['b.example.test'], {
      notBefore: new Date(Date.now() + 86_400_000),
    });
    const refusals = [
      t.store.set('shop/b', { cert: 'not a certificate', key: b.key }),
      t.store.set('shop/b', {
        cert: b.cert,
        key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      }),
      t.store.set('shop/b', { cert: b.cert, key: a.key }),
      t.store.set('shop/b', expired),
      t.store.set('shop/b', future),
    ];
    expect(refusals.map((p) => [p?.source, p?.reason])).toEqual([
      ['shop/b', CertificateUnparseable],
      ['shop/b', CertificateUnparseable],
      ['shop/b', CertificateKeyMismatch],
      ['shop/b', CertificateExpired],
      ['shop/b', CertificateNotYetValid],
    ]);
    expect(refusals[2]?.message).toContain('does not belong to the certificate');
    const still = await callTls(t.tlsPort, 'b.example.test');
    expect(still).toMatchObject({ status: 200, cn: 'cert-b' });
  });

  it('refuses a client below TLS 1.2 with a protocol_version alert, and counts it', async () => {
    const t = await start(storeWith(['shop/a', a]));
    const err = await presented(t.tlsPort, 'app.test', {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    }).then(
      (p) => {
        p.socket.destroy();
        throw new Error(`handshake succeeded with ${p.socket.getProtocol()}`);
      },
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err.code).toMatch(/ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
    await expect.poll(() => t.handshakeErrors.length).toBe(1);
  });

  it('refuses every handshake while no certificate is loaded, and serves once one is', async () => {
    const t = await start(new CertificateStore(SETTINGS, ['shop/a']));
    await expect(presented(t.tlsPort, 'app.test')).rejects.toThrow();
    await expect(presented(t.tlsPort, '')).rejects.toThrow();
    expect(t.store.set('shop/a', a)).toBeUndefined();
    expect(await callTls(t.tlsPort, 'app.test')).toMatchObject({ status: 200, cn: 'cert-a' });
  });
});

describe('drain with a TLS listener', () => {
  it('closes the TLS port and its idle keep-alive connections, and resolves', async () => {
    const t = await start(storeWith(['shop/a', a]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      expect((await callTls(t.tlsPort, 'app.test', '/', agent)).status).toBe(200);
      const closed = new Promise<void>((resolve) => {
        for (const sockets of Object.values(agent.freeSockets))
          for (const s of sockets ?? []) s.once('close', () => resolve());
      });
      await t.activator.drain();
      await closed;
      await expect(presented(t.tlsPort, 'app.test')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
    }
  });
});

describe('--tls-min-version and --tls-ciphers', () => {
  it.each([
    ['TLSv1.2', undefined, { minVersion: 'TLSv1.2', ciphers: undefined }],
    [
      'TLSv1.3',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      { minVersion: 'TLSv1.3', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
    ],
    [
      'TLSv1.1',
      undefined,
      '--tls-min-version TLSv1.1: TLS 1.0 and 1.1 are deprecated (RFC 8996); use TLSv1.2 or TLSv1.3',
    ],
    ['1.2', undefined, '--tls-min-version "1.2": must be TLSv1.2 or TLSv1.3'],
    [
      'TLSv1.2',
      'NOT-A-CIPHER',
      /^--tls-ciphers "NOT-A-CIPHER": not an OpenSSL cipher list .*no cipher match/i,
    ],
    ['TLSv1.2', ' ', /^--tls-ciphers: empty/],
  ])('%s %s', (min, ciphers, want) => {
    const got = parseTlsSettings(min, ciphers);
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toEqual(want);
  });
});
