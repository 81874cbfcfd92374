// The generated CRD against a real kube-apiserver: it is accepted (structural, within the CEL
// cost budget), and it admits or refuses every manifest of KEDA's conformance corpus the way
// the corpus says (apiVersion rewritten to ebb's, namespace to this file's own).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { CRD_NAME, renderCrds } from '../../src/api/crd.ts';
import {
  API_VERSION,
  GROUP,
  KEDA_API_VERSION,
  MAX_FORMULA_LENGTH,
  PLURAL,
  VERSION,
} from '../../src/api/scaledobject.ts';
import { kubeConfig, useNamespace } from '../env/testing.ts';

// The corpus lives in shared/, beside the repository (as CI clones it).
const CORPUS = new URL('../../../shared/conformance/keda-scaledobjects', import.meta.url).pathname;
if (!existsSync(join(CORPUS, 'index.tsv')))
  throw new Error(`the KEDA conformance corpus is not found at ${CORPUS}`);

const kc = kubeConfig();
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const objects = kc.makeApiClient(CustomObjectsApi);
const ns = useNamespace('crd');

/** invalid/ files the API server must refuse: the field it names and what it says. */
const REFUSED: Record<string, [field: string, text: string]> = {
  'i01-min-greater-than-max': ['spec.minReplicaCount', 'must be <= maxReplicaCount'],
  'i02-missing-scaletargetref-name-v1-sample': ['spec.scaleTargetRef.name', 'Required value'],
  'i03-trigger-without-type': ['spec.triggers[0].type', 'Required value'],
  'i04-trigger-without-metadata': ['spec.triggers[0].metadata', 'Required value'],
  'i05-empty-triggers': ['spec.triggers', 'should have at least 1 items'],
  'i06-negative-polling-interval': ['spec.pollingInterval', 'should be greater than or equal to 1'],
  'i07-fallback-negative-values': ['spec.fallback.failureThreshold', 'should be greater than or equal to 0'],
  'i08-fallback-behavior-not-in-enum': ['spec.fallback.behavior', 'Unsupported value: "lastKnown"'],
  'i09-scalingmodifiers-metrictype-utilization': [
    'spec.advanced.scalingModifiers.metricType',
    'Unsupported value: "Utilization"',
  ],
  'i10-docs-scalingmodifiers-target-is-number': [
    'spec.advanced.scalingModifiers.target',
    'must be of type string',
  ],
  'i11-idle-equals-min': ['spec.idleReplicaCount', 'idleReplicaCount must be < minReplicaCount'],
  'i12-idle0-with-min-omitted': ['spec.idleReplicaCount', 'idleReplicaCount must be < minReplicaCount'],
  'i13-fallback-cpu-only': ['spec.fallback', 'needs at least one trigger that is not cpu or memory'],
  'i14-duplicate-trigger-names': ['spec.triggers', 'trigger names must be unique'],
  'i15-usecachedmetrics-on-cron': [
    'spec.triggers[0].useCachedMetrics',
    'is not supported for trigger type "cron"',
  ],
  'i16-scalingmodifiers-without-formula': [
    'spec.advanced.scalingModifiers.formula',
    'is required when scalingModifiers is set',
  ],
  'i17-scalingmodifiers-formula-without-target': [
    'spec.advanced.scalingModifiers.target',
    'is required when a formula is set',
  ],
  'i18-fallback-scalingmodifiers-without-formula': [
    'spec.fallback.behavior',
    'scalingModifiers needs spec.advanced.scalingModifiers.formula',
  ],
  'i19-docs-cpu-only-min-omitted': [
    'spec.minReplicaCount',
    'must be >= 1 when every trigger is cpu or memory',
  ],
  // KEDA admits this one and fails at scaler build; ebb's CEL rule (rules.ts: Utilization only
  // for cpu/memory) refuses it at admission, the earliest layer.
  'i25-kafka-metrictype-utilization': [
    'spec.triggers[0].metricType',
    'Utilization is only supported for cpu and memory triggers, not "kafka"',
  ],
};
/** invalid/ files whose fault is in trigger metadata: admitted here, refused by the controller. */
const ADMITTED_INVALID = new Set([
  'i21-kafka-lagthreshold-zero',
  'i22-kafka-allowidle-and-limittopartitionswithlag',
  'i23-rabbitmq-missing-host',
  'i24-realworld-cpu-memory-deprecated-type-value',
]);

interface CorpusRow {
  set: string;
  stem: string;
  layer: string;
}
const index: CorpusRow[] = readFileSync(join(CORPUS, 'index.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [set = '', file = '', , layer = ''] = line.split('\t');
    return { set, stem: file.replace(/\.yaml$/, ''), layer };
  });
const files = (set: 'valid' | 'invalid') =>
  readdirSync(join(CORPUS, set))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();

const ManifestSchema = z.looseObject({
  apiVersion: z.literal(KEDA_API_VERSION),
  kind: z.literal('ScaledObject'),
  metadata: z.looseObject({}),
  spec: z.record(z.string(), z.unknown()),
});

/** The file's one ScaledObject, as ebb's: named after the file, in this test's namespace. */
const manifest = (set: string, stem: string) => {
  const docs = parseAllDocuments(readFileSync(join(CORPUS, set, `${stem}.yaml`), 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
  expect(docs, `${set}/${stem}.yaml holds one object`).toHaveLength(1);
  const so = ManifestSchema.parse(docs[0]);
  return { ...so, apiVersion: API_VERSION, metadata: { ...so.metadata, name: stem, namespace: ns.name } };
};

const StatusSchema = z.object({
  kind: z.literal('Status'),
  code: z.number(),
  reason: z.string(),
  message: z.string(),
});

/** Creates the object; resolves to the stored object or to the API server's refusal. */
const create = async (body: object) => {
  try {
    const stored: unknown = await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: PLURAL,
      body,
    });
    return { admitted: z.looseObject({ spec: z.unknown() }).parse(stored) };
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { refused: StatusSchema.parse(body) };
  }
};

const until = async (what: string, probe: () => Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

beforeAll(async () => {
  // Cluster-scoped and shared by the run's test files: create it, or replace an older copy.
  // loadYaml maps the YAML onto the client's model (`enum` -> `_enum`, ...): a plain object
  // handed to ApiextensionsV1Api loses every key its serializer does not know, silently.
  const crd = (loadAllYaml(renderCrds()) as V1CustomResourceDefinition[]).find(
    (c) => c.metadata?.name === CRD_NAME,
  )!;
  const existing = await extensions.readCustomResourceDefinition({ name: CRD_NAME }).catch(() => undefined);
  if (existing === undefined) await extensions.createCustomResourceDefinition({ body: crd });
  else {
    const resourceVersion = existing.metadata?.resourceVersion;
    const body = { ...crd, metadata: { ...crd.metadata, ...(resourceVersion ? { resourceVersion } : {}) } };
    await extensions.replaceCustomResourceDefinition({ name: CRD_NAME, body });
  }
  await until('the CRD to be Established', async () => {
    const served = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    return served.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  // Established comes a moment before the REST endpoint answers.
  await until('scaledobjects to be served', async () => {
    await objects.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: PLURAL,
    });
    return true;
  });
});

describe('the corpus is covered', () => {
  it('every invalid/ file has an expectation here, in line with index.tsv', () => {
    const invalid = files('invalid');
    expect(invalid.filter((f) => !(f in REFUSED) && !ADMITTED_INVALID.has(f))).toEqual([]);
    for (const row of index.filter((r) => r.set === 'invalid')) {
      const admissionLayer = ['crd-schema', 'crd-cel', 'webhook'].includes(row.layer);
      if (admissionLayer) expect(REFUSED, `${row.stem} (${row.layer})`).toHaveProperty([row.stem]);
      else expect(row.layer, row.stem).toBe('scaler-build');
    }
    expect([...files('valid'), ...invalid].sort()).toEqual(index.map((r) => r.stem).sort());
  });
});

describe('valid/ manifests are admitted unchanged', () => {
  it.each(files('valid'))('%s', async (stem) => {
    const so = manifest('valid', stem);
    const result = await create(so);
    expect(result.refused?.message).toBeUndefined();
    // Nothing a KEDA user wrote is pruned: the stored spec is the spec sent.
    expect(result.admitted?.spec).toEqual(so.spec);
  });
});

describe('invalid/ manifests', () => {
  it.each(Object.entries(REFUSED))(
    '%s is refused with a 422 naming the field',
    async (stem, [field, text]) => {
      const result = await create(manifest('invalid', stem));
      expect(result.admitted, `${stem} was admitted`).toBeUndefined();
      expect(result.refused).toMatchObject({ code: 422, reason: 'Invalid' });
      expect(result.refused?.message).toContain(`${field}: `);
      expect(result.refused?.message).toContain(text);
    },
  );

  it.each([...ADMITTED_INVALID])('%s is admitted (refused later, when the scaler is built)', async (stem) => {
    const result = await create(manifest('invalid', stem));
    expect(result.refused?.message).toBeUndefined();
    expect(result.admitted).toBeDefined();
  });
});

describe('scalingModifiers.formula has a maxLength (refused before it is stored)', () => {
  const withFormula = (name: string, formula: string) => {
    const so = manifest('valid', 'v13-rabbitmq-docs-scalingmodifiers-quoted');
    const spec = so.spec as { advanced?: { scalingModifiers?: Record<string, unknown> } };
    const advanced = { ...spec.advanced, scalingModifiers: { ...spec.advanced?.scalingModifiers, formula } };
    return { ...so, metadata: { ...so.metadata, name }, spec: { ...so.spec, advanced } };
  };

  it(`admits ${MAX_FORMULA_LENGTH} characters and refuses one more with a 422 naming the field`, async () => {
    const formula = (length: number) => `max(p2d_ratio, qlen/1000)${' '.repeat(length - 25)}`;
    expect(await create(withFormula('formula-at-limit', formula(MAX_FORMULA_LENGTH)))).toHaveProperty(
      'admitted',
    );
    const result = await create(withFormula('formula-over-limit', formula(MAX_FORMULA_LENGTH + 1)));
    expect(result.refused).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(result.refused?.message).toContain('spec.advanced.scalingModifiers.formula: Too long');
  });
});

/** GET as kubectl does for `kubectl get`: the server-side Table with the printer columns. */
const getTable = async (path: string): Promise<unknown> => {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: Parameters<typeof request>[1] = {
    method: 'GET',
    headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
};

const TableSchema = z.object({
  columnDefinitions: z.array(z.object({ name: z.string(), priority: z.number().optional() })),
  rows: z.array(z.object({ cells: z.array(z.unknown()) })),
});

describe('printer columns', () => {
  it('the served CRD lists them, and `kubectl get` shows them', async () => {
    const served = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    const columns = served.spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name);
    const wanted = [
      'Kind',
      'Target',
      'Min',
      'Max',
      'Ready',
      'Active',
      'Fallback',
      'Paused',
      'Triggers',
      'Age',
    ];
    expect(columns).toEqual(expect.arrayContaining(wanted));

    const so = manifest('valid', 'v16-cron-docs-cron-plus-cpu');
    const { metadata: _m, ...rest } = so;
    await create({ ...rest, metadata: { name: 'printed', namespace: ns.name } });
    const table = TableSchema.parse(
      await getTable(`/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/${PLURAL}/printed`),
    );
    const names = table.columnDefinitions.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Name', ...wanted]));
    const cell = (name: string) => table.rows[0]?.cells[names.indexOf(name)];
    // The API server prints the first match of a `[*]` path only (as KEDA's column does).
    expect([cell('Name'), cell('Target'), cell('Min'), cell('Max'), cell('Triggers')]).toEqual([
      'printed',
      'my-deployment',
      0,
      4,
      'cron',
    ]);
  });
});
