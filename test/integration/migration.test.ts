// docs/migrating-from-keda.md walked on a real API server with KEDA 2.21.1's CRDs installed: a
// cluster as KEDA leaves it (a keda.sh ScaledObject with KEDA's finalizer, the HPA KEDA made and
// owns, the external-metrics APIService on KEDA's service), then each step of the procedure in
// order (PROCEDURE), asserting the cluster after each. The test plays KEDA's operator where the
// doc says KEDA acts (it deletes keda-hpa-* on pause); ebb's controller is the real one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  ApiregistrationV1Api,
  AutoscalingV2Api,
  CustomObjectsApi,
  loadYaml,
  type V1APIService,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { migrateText } from '../../src/cli/migrate.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createDeployment,
  deploymentReplicas,
  installCrd,
  readScaledObject,
} from '../controller/cluster.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';
import { PROCEDURE } from '../migration/procedure.ts';

const kc = kubeConfig();
const ns = useNamespace('migration');
const objects = kc.makeApiClient(CustomObjectsApi);
const hpas = kc.makeApiClient(AutoscalingV2Api);
const apiServices = kc.makeApiClient(ApiregistrationV1Api);
const wait = { timeout: 30_000, interval: 250 };
const APISERVICE = 'v1beta1.external.metrics.k8s.io';
const keda = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' };
let running: RunningController | undefined;

const KEDA_MANIFEST = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders
spec:
  scaleTargetRef:
    name: orders
  minReplicaCount: 3 # a floor both autoscalers keep
  maxReplicaCount: 5
  triggers:
    - type: cron
      metadata: { timezone: Etc/UTC, start: "0 8 * * *", end: "0 9 * * *", desiredReplicas: "4" }
`;

const notFound = async (read: () => Promise<unknown>): Promise<boolean> =>
  read().then(
    () => false,
    (e: { code?: number }) => e.code === 404,
  );

beforeAll(async () => {
  const dir = execFileSync('bash', ['test/env/keda-crds.sh'], { encoding: 'utf8' }).trim();
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const f of ['scaledobjects', 'triggerauthentications', 'clustertriggerauthentications']) {
    // loadYaml maps the YAML onto the client's model (a plain object loses x-kubernetes-* keys).
    const body = loadYaml<V1CustomResourceDefinition>(readFileSync(join(dir, `keda.sh_${f}.yaml`), 'utf8'));
    await ext.createCustomResourceDefinition({ body }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  // As a KEDA cluster has it: the workload, KEDA's object with its finalizer, its HPA, its APIService.
  await createDeployment(kc, ns.name, 'orders', 1);
  const so = await vi.waitFor(
    () =>
      objects.createNamespacedCustomObject({
        ...keda,
        namespace: ns.name,
        body: {
          ...(parse(KEDA_MANIFEST) as object),
          metadata: { name: 'orders', finalizers: ['finalizer.keda.sh'] },
        },
      }) as Promise<{ metadata: { uid: string } }>,
    wait,
  );
  await hpas.createNamespacedHorizontalPodAutoscaler({
    namespace: ns.name,
    body: {
      metadata: {
        name: 'keda-hpa-orders',
        ownerReferences: [
          {
            apiVersion: 'keda.sh/v1alpha1',
            kind: 'ScaledObject',
            name: 'orders',
            uid: so.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' },
        minReplicas: 3,
        maxReplicas: 5,
        metrics: [
          {
            type: 'External',
            external: {
              metric: { name: 's0-cron-Etc-UTC-08xxx-09xxx' },
              target: { type: 'AverageValue', averageValue: '1' },
            },
          },
        ],
      },
    },
  });
  await apiServices.deleteAPIService({ name: APISERVICE }).catch(() => undefined);
  await apiServices.createAPIService({
    body: {
      metadata: { name: APISERVICE },
      spec: {
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        service: { namespace: 'keda', name: 'keda-operator-metrics-apiserver', port: 443 },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  });
}, 300_000);

afterAll(async () => {
  await running?.stop();
  await apiServices.deleteAPIService({ name: APISERVICE }).catch(() => undefined);
});

describe('the KEDA cut-over of docs/migrating-from-keda.md', () => {
  let migrated = '';
  const step = (n: number) => `${n}. ${PROCEDURE[n - 1]}`;

  it(step(1), async () => {
    await installCrd(kc);
    // Adapter off: KEDA's APIService stays.
    const service = await apiServices.readAPIService({ name: APISERVICE });
    expect(service.spec?.service).toMatchObject({
      namespace: 'keda',
      name: 'keda-operator-metrics-apiserver',
    });
  });

  it(step(2), () => {
    const result = migrateText('orders.yaml', KEDA_MANIFEST, Date.now());
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.findings.map((f) => f.field)).toContain('metadata.name'); // keda-hpa-orders
    migrated = result.text ?? '';
    expect(migrated).toContain('apiVersion: autoscaling.ebb.dev/v1alpha1');
    expect(migrated).toContain('# a floor both autoscalers keep');
  });

  it(step(3), async () => {
    await objects.patchNamespacedCustomObject({
      ...keda,
      namespace: ns.name,
      name: 'orders',
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'autoscaling.keda.sh/paused': 'true' } }],
    });
    await hpas.deleteNamespacedHorizontalPodAutoscaler({ namespace: ns.name, name: 'keda-hpa-orders' }); // KEDA's part
    expect(
      await notFound(() =>
        hpas.readNamespacedHorizontalPodAutoscaler({ namespace: ns.name, name: 'keda-hpa-orders' }),
      ),
    ).toBe(true);
  });

  it(step(4), async () => {
    const [doc] = parseAllDocuments(migrated);
    const body = doc?.toJS() as { metadata: Record<string, unknown> };
    await objects.createNamespacedCustomObject({
      group: 'autoscaling.ebb.dev',
      version: 'v1alpha1',
      plural: 'scaledobjects',
      namespace: ns.name,
      body: { ...body, metadata: { ...body.metadata, namespace: ns.name } },
    });
    running = await runController({
      kubeconfig: kubeConnection().kubeconfigPath,
      namespace: ns.name,
      log: silentLogger,
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'orders')).toBe(3), wait);
    await vi.waitFor(
      async () =>
        expect(conditionOf(await readScaledObject(kc, ns.name, 'orders'), 'Ready')?.status).toBe('True'),
      wait,
    );
  });

  it(step(5), async () => {
    await objects.deleteNamespacedCustomObject({ ...keda, namespace: ns.name, name: 'orders' });
    // KEDA's finalizer holds it (no KEDA operator runs here): Terminating, until removed.
    const held = (await objects.getNamespacedCustomObject({
      ...keda,
      namespace: ns.name,
      name: 'orders',
    })) as {
      metadata: { deletionTimestamp?: string };
    };
    expect(held.metadata.deletionTimestamp).toBeDefined();
    await objects.patchNamespacedCustomObject({
      ...keda,
      namespace: ns.name,
      name: 'orders',
      body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }],
    });
    await vi.waitFor(
      async () =>
        expect(
          await notFound(() =>
            objects.getNamespacedCustomObject({ ...keda, namespace: ns.name, name: 'orders' }),
          ),
        ).toBe(true),
      wait,
    );
    expect(await deploymentReplicas(kc, ns.name, 'orders')).toBe(3); // ebb's count stands
  });

  it(step(6), async () => {
    await apiServices.deleteAPIService({ name: APISERVICE });
    const chart = parseAllDocuments(readFileSync('deploy/manifests/ebb.yaml', 'utf8')).map(
      (d) => d.toJS() as V1APIService,
    );
    const ours = chart.find((d) => d?.kind === 'APIService');
    expect(ours).toBeDefined();
    await apiServices.createAPIService({ body: ours as V1APIService });
    const service = await apiServices.readAPIService({ name: APISERVICE });
    expect(service.spec?.service).toMatchObject({ namespace: 'ebb-system', name: 'ebb-metrics-adapter' });
  });

  it(step(7), async () => {
    await objects.patchNamespacedCustomObject({
      group: 'autoscaling.ebb.dev',
      version: 'v1alpha1',
      plural: 'scaledobjects',
      namespace: ns.name,
      name: 'orders',
      body: [
        { op: 'add', path: '/metadata/annotations', value: { 'autoscaling.ebb.dev/scaling-mode': 'hpa' } },
      ],
    });
    await vi.waitFor(async () => {
      const hpa = await hpas.readNamespacedHorizontalPodAutoscaler({
        namespace: ns.name,
        name: 'ebb-hpa-orders',
      });
      expect(hpa.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'ScaledObject',
        name: 'orders',
        controller: true,
      });
    }, wait);
  });
});
