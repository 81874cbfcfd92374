// TriggerAuthentication and ClusterTriggerAuthentication resolved against a real kube-apiserver:
// the CRDs from renderCrds(), Secrets read and cached, change notices when a Secret or a
// TriggerAuthentication moves, errors that name what is missing and never a value.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderCrds } from '../../src/api/crd.ts';
import { GROUP, VERSION } from '../../src/api/scaledobject.ts';
import { silentLogger } from '../../src/logging.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { ResilientInformer } from '../../src/platform/kubernetes/informer.ts';
import { KubeTriggerAuthResolver, metadataOnlyClient } from '../../src/platform/kubernetes/trigger-auth.ts';
import { kubeConfig, restConfig, uniqueName, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const objects = kc.makeApiClient(CustomObjectsApi);
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const ns = useNamespace('trigger-auth');
// Stands in for ebb-system: the cluster object namespace ClusterTriggerAuthentications read from.
const clusterNs = useNamespace('ebb-cluster');

const PASSWORD = 'first-s3cret-value';
const ROTATED = 'rotated-s3cret-value';
const CLUSTER_PASSWORD = 'cluster-s3cret-value';
const DECOY = 'decoy-s3cret-value';
const CA = '-----BEGIN CERTIFICATE-----\nMIIB…ü\n-----END CERTIFICATE-----\n';
const VALUES = [PASSWORD, ROTATED, CLUSTER_PASSWORD, DECOY, 'alice'];

const wait = { timeout: 15_000, interval: 100 };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const until = async (what: string, probe: () => Promise<boolean>) => {
  await vi.waitFor(async () => {
    if (!(await probe().catch(() => false))) throw new Error(`waiting for ${what}`);
  }, wait);
};

/** Every CRD of renderCrds(), created or replaced, each through loadAllYaml (keeps enum, CEL). */
const installCrds = async () => {
  for (const crd of loadAllYaml(renderCrds()) as V1CustomResourceDefinition[]) {
    const name = crd.metadata?.name ?? '';
    const existing = await extensions.readCustomResourceDefinition({ name }).catch(() => undefined);
    if (existing === undefined) await extensions.createCustomResourceDefinition({ body: crd });
    else {
      const resourceVersion = existing.metadata?.resourceVersion;
      const body = { ...crd, metadata: { ...crd.metadata, ...(resourceVersion ? { resourceVersion } : {}) } };
      await extensions.replaceCustomResourceDefinition({ name, body });
    }
  }
  for (const plural of ['triggerauthentications', 'clustertriggerauthentications']) {
    await until(`${plural} to be served`, async () => {
      await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural, limit: 1 });
      return true;
    });
  }
};

const putSecret = async (namespace: string, name: string, data: Record<string, string>) => {
  const body = {
    metadata: { name },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
  const existing = await core.readNamespacedSecret({ name, namespace }).catch(() => undefined);
  if (existing === undefined) await core.createNamespacedSecret({ namespace, body });
  else await core.replaceNamespacedSecret({ name, namespace, body });
};

type SecretRef = { parameter: string; name: string; key: string };
const triggerAuth = (namespace: string, name: string, secretTargetRef: SecretRef[]) =>
  objects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'triggerauthentications',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'TriggerAuthentication',
      metadata: { name },
      spec: { secretTargetRef },
    },
  });

const client = new KubeClient(restConfig());
let resolver: KubeTriggerAuthResolver;
const changes: string[] = [];
const changed = (kind: string, namespace: string, name: string) =>
  changes.includes(`${kind} ${namespace}/${name}`);

beforeAll(async () => {
  await installCrds();
  resolver = new KubeTriggerAuthResolver(client, { clusterNamespace: clusterNs.name, log: silentLogger });
  resolver.onChange((namespace, name, kind) => changes.push(`${kind} ${namespace}/${name}`));
  await resolver.start();
});

afterAll(async () => {
  await resolver?.stop();
});

const expectNoValue = (message: string) => {
  for (const v of VALUES) expect(message).not.toContain(v);
};

describe('TriggerAuthentication on a real API server', () => {
  it('resolves secretTargetRef from a Secret, decoded, and then serves it from the cache', async () => {
    await putSecret(ns.name, 'kafka-creds', { user: 'alice', pass: PASSWORD, 'ca.crt': CA });
    await putSecret(ns.name, 'unrelated', { token: 'x' });
    await triggerAuth(ns.name, 'kafka', [
      { parameter: 'username', name: 'kafka-creds', key: 'user' },
      { parameter: 'password', name: 'kafka-creds', key: 'pass' },
      { parameter: 'ca', name: 'kafka-creds', key: 'ca.crt' },
    ]);
    await vi.waitFor(async () => {
      expect(await resolver.resolve(ns.name, { name: 'kafka' })).toEqual({
        ok: true,
        value: { username: 'alice', password: PASSWORD, ca: CA },
      });
    }, wait);
    expect(changed('TriggerAuthentication', ns.name, 'kafka')).toBe(true);
    // Only referenced Secrets have cached values; the next resolve makes no request.
    expect(resolver.cachedSecrets()).toContain(`${ns.name}/kafka-creds`);
    expect(resolver.cachedSecrets()).not.toContain(`${ns.name}/unrelated`);
    const gets = client.requests.get('GET') ?? 0;
    expect(await resolver.resolve(ns.name, { name: 'kafka', kind: 'TriggerAuthentication' })).toMatchObject({
      ok: true,
    });
    expect(client.requests.get('GET') ?? 0).toBe(gets);
  });

  it('a Secret update fires onChange for its TriggerAuthentication and the new value resolves', async () => {
    changes.length = 0;
    await putSecret(ns.name, 'unrelated', { token: 'y' });
    await putSecret(ns.name, 'kafka-creds', { user: 'alice', pass: ROTATED, 'ca.crt': CA });
    await vi.waitFor(() => expect(changes).toContain(`TriggerAuthentication ${ns.name}/kafka`), wait);
    // Watch events arrive in order: the unrelated Secret's came first and notified nobody.
    expect(changes).toEqual([`TriggerAuthentication ${ns.name}/kafka`]);
    // Ten ScaledObjects rebuilding at once read the rotated Secret once.
    const gets = client.requests.get('GET') ?? 0;
    const all = await Promise.all(
      Array.from({ length: 10 }, () => resolver.resolve(ns.name, { name: 'kafka' })),
    );
    for (const resolved of all) expect(resolved.ok && resolved.value.password).toBe(ROTATED);
    expect((client.requests.get('GET') ?? 0) - gets).toBe(1);
  });

  it('a missing key is an AuthenticationError naming the Secret and key, never a value; adding it recovers', async () => {
    await triggerAuth(ns.name, 'typo', [
      { parameter: 'username', name: 'kafka-creds', key: 'user' },
      { parameter: 'password', name: 'kafka-creds', key: 'passwd' },
    ]);
    await until('the TriggerAuthentication to be seen', async () =>
      changed('TriggerAuthentication', ns.name, 'typo'),
    );
    const got = await resolver.resolve(ns.name, { name: 'typo' });
    expect(got).toEqual({
      ok: false,
      error: {
        reason: 'AuthenticationError',
        message: `TriggerAuthentication ${ns.name}/typo: spec.secretTargetRef[1] (parameter "password"): Secret ${ns.name}/kafka-creds has no key "passwd"`,
      },
    });
    expectNoValue(got.ok ? '' : got.error.message);

    changes.length = 0;
    await putSecret(ns.name, 'kafka-creds', { user: 'alice', pass: ROTATED, passwd: PASSWORD, 'ca.crt': CA });
    await vi.waitFor(() => expect(changes).toContain(`TriggerAuthentication ${ns.name}/typo`), wait);
    expect(changes).toContain(`TriggerAuthentication ${ns.name}/kafka`);
    expect(await resolver.resolve(ns.name, { name: 'typo' })).toEqual({
      ok: true,
      value: { username: 'alice', password: PASSWORD },
    });
  });

  it('a missing Secret and a missing TriggerAuthentication are reported; creating the Secret notifies', async () => {
    expect(await resolver.resolve(ns.name, { name: 'nobody' })).toEqual({
      ok: false,
      error: { reason: 'AuthenticationError', message: `TriggerAuthentication ${ns.name}/nobody not found` },
    });
    await triggerAuth(ns.name, 'later', [{ parameter: 'password', name: 'later-creds', key: 'pass' }]);
    await until('the TriggerAuthentication to be seen', async () =>
      changed('TriggerAuthentication', ns.name, 'later'),
    );
    const missing = await resolver.resolve(ns.name, { name: 'later' });
    expect(missing.ok ? '' : missing.error.message).toBe(
      `TriggerAuthentication ${ns.name}/later: spec.secretTargetRef[0] (parameter "password"): Secret ${ns.name}/later-creds not found`,
    );
    changes.length = 0;
    await putSecret(ns.name, 'later-creds', { pass: PASSWORD });
    await vi.waitFor(() => expect(changes).toEqual([`TriggerAuthentication ${ns.name}/later`]), wait);
    expect(await resolver.resolve(ns.name, { name: 'later' })).toEqual({
      ok: true,
      value: { password: PASSWORD },
    });
  });

  it('editing or deleting the TriggerAuthentication notifies; a status-only write does not', async () => {
    changes.length = 0;
    const target = { group: GROUP, version: VERSION, namespace: ns.name, plural: 'triggerauthentications' };
    await objects.patchNamespacedCustomObjectStatus({
      ...target,
      name: 'later',
      body: [{ op: 'add', path: '/status', value: { scaledobjects: 'a' } }],
    });
    await objects.patchNamespacedCustomObject({
      ...target,
      name: 'later',
      body: [{ op: 'replace', path: '/spec/secretTargetRef/0/parameter', value: 'secret' }],
    });
    await vi.waitFor(() => expect(changes).toEqual([`TriggerAuthentication ${ns.name}/later`]), wait);
    expect(await resolver.resolve(ns.name, { name: 'later' })).toEqual({
      ok: true,
      value: { secret: PASSWORD },
    });

    changes.length = 0;
    await objects.deleteNamespacedCustomObject({ ...target, name: 'later' });
    await vi.waitFor(() => expect(changes).toEqual([`TriggerAuthentication ${ns.name}/later`]), wait);
    expect(resolver.cachedSecrets()).not.toContain(`${ns.name}/later-creds`);
    expect(await resolver.resolve(ns.name, { name: 'later' })).toMatchObject({ ok: false });
  });
});

describe('ClusterTriggerAuthentication on a real API server', () => {
  const name = uniqueName('shared');

  afterAll(async () => {
    await objects
      .deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'clustertriggerauthentications',
        name,
      })
      .catch(() => undefined);
  });

  it('reads its Secrets from the cluster object namespace, from any trigger namespace', async () => {
    await putSecret(clusterNs.name, 'shared-creds', { pass: CLUSTER_PASSWORD });
    // A namesake in the trigger namespace must not be used.
    await putSecret(ns.name, 'shared-creds', { pass: DECOY });
    await objects.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'clustertriggerauthentications',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ClusterTriggerAuthentication',
        metadata: { name },
        spec: { secretTargetRef: [{ parameter: 'password', name: 'shared-creds', key: 'pass' }] },
      },
    });
    await vi.waitFor(() => expect(changes).toContain(`ClusterTriggerAuthentication /${name}`), wait);
    for (const namespace of [ns.name, 'default']) {
      expect(await resolver.resolve(namespace, { name, kind: 'ClusterTriggerAuthentication' })).toEqual({
        ok: true,
        value: { password: CLUSTER_PASSWORD },
      });
    }
    // A TriggerAuthentication reference of the same name is another object.
    expect(await resolver.resolve(ns.name, { name })).toMatchObject({ ok: false });

    changes.length = 0;
    await putSecret(clusterNs.name, 'shared-creds', { pass: ROTATED });
    await vi.waitFor(() => expect(changes).toEqual([`ClusterTriggerAuthentication /${name}`]), wait);
    const rotated = await resolver.resolve('default', { name, kind: 'ClusterTriggerAuthentication' });
    expect(rotated.ok && rotated.value.password).toBe(ROTATED);

    await core.deleteNamespacedSecret({ namespace: clusterNs.name, name: 'shared-creds' });
    await vi.waitFor(async () => {
      const gone = await resolver.resolve(ns.name, { name, kind: 'ClusterTriggerAuthentication' });
      expect(gone.ok ? '' : gone.error.message).toBe(
        `ClusterTriggerAuthentication ${name}: spec.secretTargetRef[0] (parameter "password"): ` +
          `Secret ${clusterNs.name}/shared-creds not found (ClusterTriggerAuthentications read Secrets from this namespace)`,
      );
    }, wait);
  });
});

describe('Secrets are watched without their values', () => {
  it('lists and watches PartialObjectMetadata: no data reaches the cache', async () => {
    const metadata = metadataOnlyClient(client);
    const listed = await metadata.request('GET', `/api/v1/namespaces/${ns.name}/secrets`);
    expect(listed.ok && listed.value).toMatchObject({ kind: 'PartialObjectMetadataList' });
    const items = listed.ok ? ((listed.value as { items: object[] }).items ?? []) : [];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item).not.toHaveProperty('data');

    const seen: object[] = [];
    const informer = new ResilientInformer(metadata, {
      path: `/api/v1/namespaces/${ns.name}/secrets`,
      log: silentLogger,
      handlers: { add: (o) => seen.push(o), update: (o) => seen.push(o), delete: () => {} },
    });
    await informer.start();
    try {
      await putSecret(ns.name, 'watched', { pass: PASSWORD });
      await vi.waitFor(
        () => expect(seen.some((o) => JSON.stringify(o).includes('"watched"'))).toBe(true),
        wait,
      );
      for (const o of seen) {
        expect(o).not.toHaveProperty('data');
        expect(o).toMatchObject({ kind: 'PartialObjectMetadata' });
      }
    } finally {
      await informer.stop();
    }
  });
});
