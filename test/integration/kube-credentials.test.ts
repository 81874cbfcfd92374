// ebb's own kubeconfig loader and transport against the real kube-apiserver, with the credentials
// deployments use: in-cluster (a ServiceAccount token from the TokenRequest API in a temp
// ServiceAccount directory, its ca.crt, $KUBERNETES_SERVICE_HOST/_PORT), the token file re-read
// a minute later (a token replaced by garbage is refused from then on), and an exec plugin (a real
// node script) whose token the API server accepts. An informer lists and watches through each.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logging.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { ResilientInformer } from '../../src/platform/kubernetes/informer.ts';
import { configFromDocument, loadKubeConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { VirtualClock } from '../clock.ts';
import { serviceAccountToken } from '../controller/cluster.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const ns = useNamespace('kube-credentials');
const dir = mkdtempSync(join(tmpdir(), 'ebb-kube-credentials-'));
const WAIT = { timeout: 15_000, interval: 50 };
const clients: KubeClient[] = [];
const informers: ResilientInformer[] = [];

afterAll(async () => {
  for (const i of informers) await i.stop();
  for (const c of clients) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A ServiceAccount allowed get/list/watch on ConfigMaps of the test namespace; its token. */
const configMapReaderToken = async (): Promise<string> => {
  const namespace = ns.name;
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'configmaps' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  });
  return serviceAccountToken(kc, namespace, 'reader');
};

/** An informer on the namespace's ConfigMaps through `client`; resolves once listed. */
const watchConfigMaps = async (client: KubeClient): Promise<Set<string>> => {
  const names = new Set<string>();
  const informer = new ResilientInformer(client, {
    path: `/api/v1/namespaces/${ns.name}/configmaps`,
    log: silentLogger,
    handlers: { add: (o) => names.add(o.metadata?.name ?? ''), update: () => {}, delete: () => {} },
  });
  informers.push(informer);
  await informer.start();
  return names;
};

let saToken: string;
beforeAll(async () => {
  saToken = await configMapReaderToken();
});

describe('in-cluster, with a ServiceAccount token', () => {
  it('lists and watches; a replaced token file is read again a minute later', async () => {
    const conn = kubeConnection();
    const server = new URL(conn.server);
    const sa = join(dir, 'serviceaccount');
    const tokenFile = join(sa, 'token');
    mkdirSync(sa);
    writeFileSync(tokenFile, saToken);
    writeFileSync(join(sa, 'ca.crt'), conn.caData);
    writeFileSync(join(sa, 'namespace'), ns.name);
    const config = loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
      home: join(dir, 'no-home'),
      serviceAccountDir: sa,
    });
    expect(config.context).toBe('in-cluster');
    expect(config.namespace).toBe(ns.name);
    const clock = new VirtualClock(0);
    const client = new KubeClient(config, clock);
    clients.push(client);
    const names = await watchConfigMaps(client);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'seen-in-cluster' } },
    });
    await vi.waitFor(() => expect(names.has('seen-in-cluster')).toBe(true), WAIT);

    const get = () => client.request('GET', `/api/v1/namespaces/${ns.name}/configmaps`);
    writeFileSync(tokenFile, 'not-a-token');
    expect((await get()).ok).toBe(true); // the token read a moment ago, until a minute passes
    await clock.advance(60_000);
    const refused = await get();
    expect(refused.ok ? 200 : refused.error.status).toBe(401);
    writeFileSync(tokenFile, saToken);
    await clock.advance(60_000);
    expect((await get()).ok).toBe(true);
  });
});

describe('exec credential plugin', () => {
  it("the API server accepts the plugin's token; the plugin runs once", async () => {
    const conn = kubeConnection();
    const plugin = join(dir, 'token-plugin.mjs');
    const counter = join(dir, 'token-plugin.count');
    writeFileSync(
      plugin,
      `import { appendFileSync } from 'node:fs';
appendFileSync(process.env.COUNTER, 'x');
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: process.env.TOKEN } }));
`,
    );
    const config = configFromDocument(
      {
        clusters: [
          {
            name: 'test',
            cluster: {
              server: conn.server,
              'certificate-authority-data': Buffer.from(conn.caData).toString('base64'),
            },
          },
        ],
        users: [
          {
            name: 'plugin',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: process.execPath,
                args: [plugin],
                env: [
                  { name: 'TOKEN', value: saToken },
                  { name: 'COUNTER', value: counter },
                ],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'plugin' } }],
        'current-context': 'test',
      },
      join(dir, 'kubeconfig'),
    );
    const client = new KubeClient(config);
    clients.push(client);
    const names = await watchConfigMaps(client);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'seen-by-exec' } },
    });
    await vi.waitFor(() => expect(names.has('seen-by-exec')).toBe(true), WAIT);
    expect(readFileSync(counter, 'utf8')).toBe('x');
  });
});
