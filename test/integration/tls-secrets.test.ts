// The activator's TLS certificates from real `kubernetes.io/tls` Secrets on a real kube-apiserver,
// read by a ServiceAccount whose Role names only those Secrets (resourceNames), as the chart
// grants it: SNI with two Secrets, a Secret rotated while clients keep calling (no failed
// request, new connections see the new certificate), a bad Secret keeping the previous
// certificate (logged and counted with its name and reason), a deleted one too.
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Activator, createActivator } from '../../src/activator/server.ts';
import {
  CertificateKeyMismatch,
  CertificateMissing,
  CertificateSourceDeleted,
} from '../../src/api/reasons.ts';
import { type ActivatorTls, activatorTls } from '../../src/cli/activator-tls.ts';
import { silentLogger } from '../../src/logging.ts';
import { EbbMetrics, ebbBuildInfo } from '../../src/observability/metrics.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import type { RestConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { type Backend, routeSpec, serviceKey, startBackend } from '../activator/helpers.ts';
import { MemoryEndpointSource } from '../activator/memory-endpoints.ts';
import { callTls, makeCert, presented, type TestCert } from '../activator/tls-certs.ts';
import { serviceAccountToken } from '../controller/cluster.ts';
import { restConfigFor } from '../env/rest-config.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const WAIT = { timeout: 20_000, interval: 100 };
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const ns = useNamespace('tls-secrets');
const SECRETS = ['web-a', 'web-b'];

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const putSecret = async (name: string, data: Record<string, string>): Promise<void> => {
  const body = {
    metadata: { name },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
  const existing = await core.readNamespacedSecret({ name, namespace: ns.name }).catch(() => undefined);
  if (existing === undefined) await core.createNamespacedSecret({ namespace: ns.name, body });
  else await core.replaceNamespacedSecret({ name, namespace: ns.name, body });
};
const tlsData = (c: TestCert) => ({ 'tls.crt': c.cert, 'tls.key': c.key });

/** A KubeConfig of the ServiceAccount `activator`, allowed get/list/watch on SECRETS only. */
const restrictedConfig = async (): Promise<RestConfig> => {
  const namespace = ns.name;
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'tls-secrets' },
      rules: [
        { apiGroups: [''], resources: ['secrets'], resourceNames: SECRETS, verbs: ['get', 'list', 'watch'] },
      ],
    },
  });
  const token = await serviceAccountToken(kc, namespace, 'activator');
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tls-secrets' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tls-secrets' },
      subjects: [{ kind: 'ServiceAccount', name: 'activator', namespace }],
    },
  });
  const conn = kubeConnection();
  return restConfigFor({ server: conn.server, caData: conn.caData, token });
};

let a: TestCert;
let b: TestCert;
let b2: TestCert;
let b3: TestCert;
let metrics: EbbMetrics;
let tls: ActivatorTls;
let activator: Activator;
let backend: Backend;
let client: KubeClient;
let tlsPort = 0;

beforeAll(async () => {
  [a, b, b2, b3] = await Promise.all([
    makeCert('cert-a', ['a.example.test']),
    makeCert('cert-b', ['b.example.test']),
    makeCert('cert-b2', ['b.example.test']),
    makeCert('cert-b3', ['b.example.test']),
  ]);
  await putSecret('web-a', tlsData(a));
  await putSecret('web-b', tlsData(b));
  // A Secret the activator may not read: the watch never asks for it.
  await putSecret('unrelated', tlsData(b3));
  client = new KubeClient(await restrictedConfig());
  metrics = new EbbMetrics(ebbBuildInfo());
  tls = activatorTls(
    client,
    {
      port: 0,
      secrets: SECRETS.map((name) => ({ namespace: ns.name, name })),
      settings: { minVersion: 'TLSv1.2' },
    },
    silentLogger,
    () => metrics,
  );
  // The first list may race the RoleBinding (403): the watch retries until it lists.
  await tls.component.start(new AbortController().signal);
  await vi.waitFor(() => expect(tls.listener.certificates.loaded()).toHaveLength(2), WAIT);
  backend = await startBackend();
  const source = new MemoryEndpointSource();
  activator = createActivator({
    endpoints: source,
    routes: [routeSpec('app', { hosts: ['a.example.test', 'b.example.test'] })],
    poke: () => {},
    id: 'tls-it',
    tls: tls.listener,
  });
  source.set(serviceKey('app'), [backend.endpoint]);
  const server = activator.tlsServer;
  if (server === undefined) throw new Error('no TLS listener');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tlsPort = (server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await activator?.close();
  await tls?.component.stop();
  await backend?.close();
  client?.close();
});

const cnFor = async (servername: string): Promise<string> => {
  const p = await presented(tlsPort, servername);
  p.socket.destroy();
  return p.cn;
};

const errorsOf = async (reason: string): Promise<number> => {
  const m = await metrics.activatorTlsCertificateErrors.get();
  return (
    m.values.find((v) => v.labels.source === `${ns.name}/web-b` && v.labels.reason === reason)?.value ?? 0
  );
};

describe('TLS certificates from Secrets', () => {
  it('serves each Secret by SNI, the first listed as the default', async () => {
    expect(await cnFor('a.example.test')).toBe('cert-a');
    expect(await cnFor('b.example.test')).toBe('cert-b');
    expect(await cnFor('')).toBe('cert-a');
  });

  it('a Secret rotated under load fails no request; new connections see the new certificate', async () => {
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
    const loop = async (agent: Agent | false): Promise<void> => {
      while (!stop) {
        try {
          const got = await callTls(tlsPort, 'b.example.test', '/load', agent);
          if (got.status === 200) ok++;
          else failures.push(`status ${got.status}`);
          seen.add(got.cn);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    // New connections (a handshake each) and keep-alive ones (opened before the rotation).
    const loops = [
      ...Array.from({ length: 4 }, () => loop(false)),
      ...Array.from({ length: 4 }, () => loop(keepAlive)),
    ];
    try {
      await vi.waitFor(() => expect(ok).toBeGreaterThan(50), WAIT);
      await putSecret('web-b', tlsData(b2));
      await vi.waitFor(async () => expect(await cnFor('b.example.test')).toBe('cert-b2'), WAIT);
      const before = ok;
      await vi.waitFor(() => expect(ok).toBeGreaterThan(before + 50), WAIT);
    } finally {
      stop = true;
      await Promise.all(loops);
      keepAlive.destroy();
    }
    expect(failures).toEqual([]);
    expect(seen).toEqual(new Set(['cert-b', 'cert-b2']));
  }, 60_000);

  it('a bad Secret keeps the previous certificate, counted with its name and reason', async () => {
    await putSecret('web-b', { 'tls.crt': b3.cert, 'tls.key': a.key });
    await vi.waitFor(async () => expect(await errorsOf(CertificateKeyMismatch)).toBe(1), WAIT);
    // The API server requires both keys in a kubernetes.io/tls Secret, not that they hold anything.
    await putSecret('web-b', { 'tls.crt': b3.cert, 'tls.key': '' });
    await vi.waitFor(async () => expect(await errorsOf(CertificateMissing)).toBe(1), WAIT);
    expect(await cnFor('b.example.test')).toBe('cert-b2');
    // Fixed: taken at once.
    await putSecret('web-b', tlsData(b3));
    await vi.waitFor(async () => expect(await cnFor('b.example.test')).toBe('cert-b3'), WAIT);
  });

  it('a deleted Secret keeps its last certificate', async () => {
    await core.deleteNamespacedSecret({ name: 'web-b', namespace: ns.name });
    await vi.waitFor(async () => expect(await errorsOf(CertificateSourceDeleted)).toBe(1), WAIT);
    expect(await cnFor('b.example.test')).toBe('cert-b3');
  });
});
