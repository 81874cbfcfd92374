// Credentials on the wire (src/platform/kubernetes/transport.ts, exec-credential.ts,
// in-cluster.ts) against real node:http(s) servers on 127.0.0.1 that record what they were sent:
// a token file re-read once a minute, basic auth, and an exec plugin — a real node script that
// counts its runs — cached until its expirationTimestamp, run again after it and after a 401,
// once for concurrent requests, with a client certificate that reaches the TLS handshake.
// Time is a VirtualClock: the test moves it past expiries instead of waiting.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { configFromDocument } from '../../src/platform/kubernetes/kubeconfig.ts';
import { makeCert } from '../activator/tls-certs.ts';
import { VirtualClock } from '../clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'ebb-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  readonly authorization: string | undefined;
  readonly peer: string | undefined;
}

const servers: Server[] = [];
const clients: KubeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Records each request; `status()` picks the answer (default 200 `{}`). */
const recorder = (seen: Seen[], status: () => number) => (req: IncomingMessage, res: ServerResponse) => {
  const socket = req.socket as Partial<TLSSocket>;
  const peer = socket.getPeerCertificate?.()?.subject?.CN;
  seen.push({ authorization: req.headers.authorization, peer: typeof peer === 'string' ? peer : undefined });
  const code = status();
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(code === 200 ? '{}' : '{"kind":"Status","message":"Unauthorized"}');
};

const listen = async (server: Server): Promise<number> => {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

const httpServer = async (seen: Seen[], status: () => number = () => 200): Promise<string> =>
  `http://127.0.0.1:${await listen(createServer(recorder(seen, status)))}`;

const clientFor = (user: Record<string, unknown>, server: string, clock: VirtualClock, cluster = {}) => {
  const config = configFromDocument(
    {
      clusters: [{ name: 'c', cluster: { server, ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    },
    join(dir, 'kubeconfig'),
  );
  const client = new KubeClient(config, clock);
  clients.push(client);
  return client;
};

// A credential plugin: counts its runs in $COUNTER, saves KUBERNETES_EXEC_INFO to $INFO, prints a
// token `<arg>-<run>` (or the client certificate in $CERT/$KEY_<run parity>), expiring at
// run × $EXPIRES_STEP_MS after the epoch (VirtualClock's wall time starts there).
const PLUGIN = join(dir, 'plugin.mjs');
writeFileSync(
  PLUGIN,
  `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const e = process.env;
const run = (existsSync(e.COUNTER) ? Number(readFileSync(e.COUNTER, 'utf8')) : 0) + 1;
writeFileSync(e.COUNTER, String(run));
writeFileSync(e.INFO, e.KUBERNETES_EXEC_INFO ?? '');
if (e.FAIL) { process.stderr.write('please log in first\\n'); process.exit(2); }
const info = JSON.parse(e.KUBERNETES_EXEC_INFO);
const cert = e['CERT_' + (run % 2)];
const status = cert
  ? { clientCertificateData: readFileSync(cert, 'utf8'), clientKeyData: readFileSync(e['KEY_' + (run % 2)], 'utf8') }
  : { token: process.argv[2] + '-' + run };
if (e.EXPIRES_STEP_MS) status.expirationTimestamp = new Date(run * Number(e.EXPIRES_STEP_MS)).toISOString();
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status }));
`,
);

let plugins = 0;
/** An exec user running PLUGIN with `env`; returns it and the files it writes. */
const execUser = (env: Record<string, string>, apiVersion = 'client.authentication.k8s.io/v1') => {
  const id = plugins++;
  const counter = join(dir, `count-${id}`);
  const info = join(dir, `info-${id}`);
  const user = {
    exec: {
      apiVersion,
      command: process.execPath,
      args: [PLUGIN, 'tok'],
      env: Object.entries({ COUNTER: counter, INFO: info, ...env }).map(([name, value]) => ({ name, value })),
      interactiveMode: 'Never',
      installHint: 'install the plugin: see https://example.test/plugin',
    },
  };
  const runs = () => {
    try {
      return Number(readFileSync(counter, 'utf8'));
    } catch {
      return 0;
    }
  };
  return { user, runs, info: () => JSON.parse(readFileSync(info, 'utf8')) as unknown };
};

describe('token file', () => {
  it('is re-read once a minute (bound tokens rotate); a failed re-read keeps the last token', async () => {
    const seen: Seen[] = [];
    const server = await httpServer(seen);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const clock = new VirtualClock(0);
    const client = clientFor({ tokenFile }, server, clock);
    const get = async () => expect((await client.request('GET', '/version')).ok).toBe(true);
    await get();
    writeFileSync(tokenFile, 'second');
    await clock.advance(59_999);
    await get();
    await clock.advance(1);
    await get();
    unlinkSync(tokenFile);
    await clock.advance(60_000);
    await get();
    expect(seen.map((s) => s.authorization)).toEqual([
      'Bearer first',
      'Bearer first',
      'Bearer second',
      'Bearer second',
    ]);
  });

  it('that cannot be read at all fails the request, naming the file', async () => {
    const server = await httpServer([]);
    const client = clientFor({ tokenFile: 'missing-token' }, server, new VirtualClock(0));
    const res = await client.request('GET', '/version');
    expect(res.ok).toBe(false);
    if (!res.ok)
      expect(res.error.message).toContain(
        `${join(dir, 'missing-token')}: tokenFile: cannot read it (ENOENT)`,
      );
  });
});

describe('basic auth', () => {
  it('sends username:password in base64 (RFC 7617)', async () => {
    const seen: Seen[] = [];
    const client = clientFor(
      { username: 'ad:min', password: 'pä ss' },
      await httpServer(seen),
      new VirtualClock(0),
    );
    expect((await client.request('GET', '/version')).ok).toBe(true);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('ad:min:pä ss').toString('base64')}`);
  });
});

describe('exec credential plugin', () => {
  it('runs once, caches until expirationTimestamp, runs again after it and after a 401', async () => {
    const seen: Seen[] = [];
    let refuse = 0;
    const server = await httpServer(seen, () => (refuse-- > 0 ? 401 : 200));
    const clock = new VirtualClock(0);
    // Run n's credential expires at n minutes.
    const plugin = execUser({ EXPIRES_STEP_MS: '60000' });
    const client = clientFor(plugin.user, server, clock);
    const get = () => client.request('GET', '/version');
    expect((await get()).ok).toBe(true);
    expect((await get()).ok).toBe(true);
    expect(plugin.runs()).toBe(1);
    expect(plugin.info()).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1',
      spec: { interactive: false },
    });
    await clock.advance(59_999);
    expect((await get()).ok).toBe(true);
    expect(plugin.runs()).toBe(1);
    await clock.advance(1);
    expect((await get()).ok).toBe(true);
    expect(plugin.runs()).toBe(2);
    refuse = 1;
    const refused = await get();
    expect(refused.ok ? 0 : refused.error.status).toBe(401);
    expect((await get()).ok).toBe(true);
    expect(plugin.runs()).toBe(3);
    // Run 3's credential expires at 3 minutes: five requests then share one run.
    await clock.advance(120_000);
    const all = await Promise.all([get(), get(), get(), get(), get()]);
    expect(all.every((r) => r.ok)).toBe(true);
    expect(plugin.runs()).toBe(4);
    expect(seen.map((s) => s.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
      'Bearer tok-2',
      'Bearer tok-3',
      ...Array(5).fill('Bearer tok-4'),
    ]);
  });

  it('v1beta1 without an expiry: cached for good; provideClusterInfo passes the cluster', async () => {
    const seen: Seen[] = [];
    const server = await httpServer(seen);
    const plugin = execUser({}, 'client.authentication.k8s.io/v1beta1');
    const user = { exec: { ...plugin.user.exec, provideClusterInfo: true } };
    const clock = new VirtualClock(0);
    const client = clientFor(user, server, clock);
    await client.request('GET', '/a');
    await clock.advance(24 * 3600_000);
    await client.request('GET', '/b');
    expect(plugin.runs()).toBe(1);
    expect(plugin.info()).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: { interactive: false, cluster: { server } },
    });
  });

  it('a failing plugin fails the request with its field, exit code, stderr and install hint', async () => {
    const server = await httpServer([]);
    const plugin = execUser({ FAIL: '1' });
    const client = clientFor(plugin.user, server, new VirtualClock(0));
    const res = await client.request('GET', '/version');
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.message).toContain('users[0].user.exec: running');
      expect(res.error.message).toContain('exited with 2: please log in first');
      expect(res.error.message).toContain('install the plugin: see https://example.test/plugin');
    }
  });

  it("a plugin's client certificate is presented in the TLS handshake, and a new one after expiry", async () => {
    const serverCert = await makeCert('kube-apiserver', ['kubernetes.default']);
    const [a, b] = [await makeCert('client-a', []), await makeCert('client-b', [])];
    const files: Record<string, string> = {};
    for (const [name, pem] of Object.entries({
      CERT_1: a.cert,
      KEY_1: a.key,
      CERT_0: b.cert,
      KEY_0: b.key,
    })) {
      files[name] = join(dir, `${name}.pem`);
      writeFileSync(files[name], pem);
    }
    const seen: Seen[] = [];
    const https = createHttpsServer(
      { cert: serverCert.cert, key: serverCert.key, requestCert: true, rejectUnauthorized: false },
      recorder(seen, () => 200),
    );
    const port = await listen(https);
    const clock = new VirtualClock(0);
    const plugin = execUser({ ...files, EXPIRES_STEP_MS: '60000' });
    // The server's certificate names kubernetes.default, not 127.0.0.1: tls-server-name verifies it.
    const client = clientFor(plugin.user, `https://127.0.0.1:${port}`, clock, {
      'certificate-authority-data': Buffer.from(serverCert.cert).toString('base64'),
      'tls-server-name': 'kubernetes.default',
    });
    expect((await client.request('GET', '/version')).ok).toBe(true);
    await clock.advance(60_000);
    expect((await client.request('GET', '/version')).ok).toBe(true);
    expect(seen.map((s) => [s.authorization, s.peer])).toEqual([
      [undefined, 'client-a'],
      [undefined, 'client-b'],
    ]);
  });
});

describe('cluster TLS and proxy-url', () => {
  const tlsServer = async (seen: Seen[]) => {
    const cert = await makeCert('kube-apiserver', ['kubernetes.default']);
    const port = await listen(
      createHttpsServer(
        { cert: cert.cert, key: cert.key },
        recorder(seen, () => 200),
      ),
    );
    return { cert, server: `https://127.0.0.1:${port}` };
  };

  it('verifies the server against certificate-authority-data, or skips it with insecure-skip-tls-verify', async () => {
    const seen: Seen[] = [];
    const { cert, server } = await tlsServer(seen);
    const clock = new VirtualClock(0);
    const ca = Buffer.from(cert.cert).toString('base64');
    const unverified = await clientFor({ token: 't' }, server, clock).request('GET', '/version');
    expect(unverified.ok).toBe(false); // no CA given: the self-signed certificate is refused
    const wrongName = await clientFor({ token: 't' }, server, clock, {
      'certificate-authority-data': ca,
    }).request('GET', '/version');
    expect(wrongName.ok).toBe(false); // the certificate names kubernetes.default, not 127.0.0.1
    const insecure = clientFor({ token: 't' }, server, clock, { 'insecure-skip-tls-verify': true });
    expect((await insecure.request('GET', '/version')).ok).toBe(true);
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer t']);
  });

  it('sends every request through the proxy-url (HTTP CONNECT), TLS verified end to end', async () => {
    const seen: Seen[] = [];
    const { cert, server } = await tlsServer(seen);
    const connects: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host ?? '', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    const proxyPort = await listen(proxy);
    const client = clientFor({ token: 't' }, server, new VirtualClock(0), {
      'certificate-authority-data': Buffer.from(cert.cert).toString('base64'),
      'tls-server-name': 'kubernetes.default',
      'proxy-url': `http://127.0.0.1:${proxyPort}`,
    });
    expect((await client.request('GET', '/version')).ok).toBe(true);
    expect(connects).toEqual([new URL(server).host]);
    expect(seen).toHaveLength(1);
  });
});
