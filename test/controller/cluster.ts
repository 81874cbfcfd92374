// Helpers for the controller's integration tests (test/integration/controller*.test.ts) and the
// benchmark: install the CRD from crds/, create Deployments and ScaledObjects, read them back.
// Not a test file itself (the unit project only runs *.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { type SOOptions, scaledObjectManifest } from './manifests.ts';

const CRD_DIR = new URL('../../crds/', import.meta.url);

/** The ScaledObject CRD from whichever file in crds/ holds it (the generator names the files). */
const scaledObjectCrd = (): V1CustomResourceDefinition => {
  for (const file of readdirSync(CRD_DIR).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, CRD_DIR), 'utf8'))) {
      const crd = doc.toJS() as V1CustomResourceDefinition | null;
      if (
        crd?.kind === 'CustomResourceDefinition' &&
        crd.spec?.names?.plural === PLURAL &&
        crd.spec.group === GROUP
      ) {
        return crd;
      }
    }
  }
  throw new Error(`no ${PLURAL}.${GROUP} CRD in crds/`);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates (or updates) the ScaledObject CRD from crds/ and waits until it is served. */
export const installCrd = async (kc: KubeConfig): Promise<void> => {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const body = scaledObjectCrd();
  const name = body.metadata?.name ?? '';
  try {
    await ext.createCustomResourceDefinition({ body });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
    const existing = await ext.readCustomResourceDefinition({ name });
    body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' };
    await ext.replaceCustomResourceDefinition({ name, body });
  }
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (let i = 0; i < 100; i++) {
    const crd = await ext.readCustomResourceDefinition({ name });
    const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (established) {
      try {
        await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 });
        return;
      } catch {
        // not served yet
      }
    }
    await sleep(100);
  }
  throw new Error('the ScaledObject CRD did not become established');
};

export const createDeployment = async (kc: KubeConfig, namespace: string, name: string, replicas: number) => {
  const labels = { app: name };
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
        },
      },
    },
  });
};

/** A Deployment at 0 replicas and its Service `name` (port 80 `http` → 8080, selector app=name). */
export const createHttpApp = async (
  kc: KubeConfig,
  namespace: string,
  name: string,
  /** The Service port's appProtocol (e.g. `kubernetes.io/h2c`); default none. */
  appProtocol?: string,
): Promise<void> => {
  await kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: {
        selector: { app: name },
        ports: [
          {
            name: 'http',
            port: 80,
            targetPort: 8080,
            protocol: 'TCP',
            ...(appProtocol === undefined ? {} : { appProtocol }),
          },
        ],
      },
    },
  });
  await createDeployment(kc, namespace, name, 0);
};

export const deploymentReplicas = async (
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<number> => {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace });
  return d.spec?.replicas ?? -1;
};

export const createScaledObject = async (
  kc: KubeConfig,
  namespace: string,
  name: string,
  o: SOOptions = {},
) => {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: scaledObjectManifest(namespace, name, o),
  });
};

export const patchScaledObject = async (kc: KubeConfig, namespace: string, name: string, body: unknown) => {
  await kc
    .makeApiClient(CustomObjectsApi)
    .patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
};

export const deleteScaledObject = async (kc: KubeConfig, namespace: string, name: string) => {
  await kc
    .makeApiClient(CustomObjectsApi)
    .deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
};

export interface SOState {
  exists: boolean;
  finalizers: string[];
  status: {
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      observedGeneration?: number;
    }[];
    pausedReplicaCount?: number;
    originalReplicaCount?: number;
    lastActiveTime?: string;
    externalMetricNames?: string[];
    currentReplicas?: number;
  };
}

export const readScaledObject = async (kc: KubeConfig, namespace: string, name: string): Promise<SOState> => {
  try {
    const obj = (await kc
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as {
      metadata?: { finalizers?: string[] };
      status?: SOState['status'];
    };
    return { exists: true, finalizers: obj.metadata?.finalizers ?? [], status: obj.status ?? {} };
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return { exists: false, finalizers: [], status: {} };
    throw err;
  }
};

export const conditionOf = (s: SOState, type: string) => s.status.conditions?.find((c) => c.type === type);

export interface EventSummary {
  reason: string;
  type: string;
  note: string;
  reportingController: string;
  regarding: string;
  count: number;
}

export const listEvents = async (kc: KubeConfig, namespace: string): Promise<EventSummary[]> => {
  const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.map((e) => ({
    reason: e.reason ?? '',
    type: e.type ?? '',
    note: e.note ?? '',
    reportingController: e.reportingController ?? '',
    regarding: `${e.regarding?.kind ?? ''}/${e.regarding?.name ?? ''}`,
    count: e.series?.count ?? 1,
  }));
};

/**
 * A token the API server issues for ServiceAccount `namespace/name` (TokenRequest), creating
 * the ServiceAccount when it is missing; `audiences` empty: the API server's own.
 */
export const serviceAccountToken = async (
  kc: KubeConfig,
  namespace: string,
  name: string,
  audiences: readonly string[] = [],
): Promise<string> => {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [...audiences], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (token === undefined || token === '')
    throw new Error(`no token for ServiceAccount ${namespace}/${name}`);
  return token;
};

const TableSchema = z.object({
  columnDefinitions: z.array(z.object({ name: z.string(), priority: z.number().optional() })),
  rows: z.array(z.object({ cells: z.array(z.unknown()), object: z.looseObject({}).optional() })),
});
export type Table = z.infer<typeof TableSchema>;

/** GET as kubectl does for `kubectl get`: the server-side Table with the printer columns. */
export const getTable = async (kc: KubeConfig, path: string): Promise<Table> => {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: Parameters<typeof request>[1] = {
    method: 'GET',
    headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  };
  await kc.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  return TableSchema.parse(JSON.parse(text));
};

/** A table's rows as { column name: cell }, keyed by the Name cell. */
export const tableRows = (table: Table): Map<string, Record<string, unknown>> => {
  const names = table.columnDefinitions.map((c) => c.name);
  const rows = new Map<string, Record<string, unknown>>();
  for (const row of table.rows) {
    const cells: Record<string, unknown> = {};
    names.forEach((n, i) => {
      cells[n] = row.cells[i];
    });
    rows.set(String(cells.Name), cells);
  }
  return rows;
};
