// The generated CRD against a real kube-apiserver: it is accepted (structural, within the CEL
// cost budget), and it admits or refuses every ScaledObject fixture (test/fixtures/scaledobjects/)
// the way its index says: valid/ and `ebb`-refused files are created, `schema`- and `cel`-refused
// files get a 422 naming the field (apiVersion set to ebb's, namespace to this file's own).
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
import { API_VERSION, GROUP, MAX_FORMULA_LENGTH, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { getTable } from '../controller/cluster.ts';
import { kubeConfig, useNamespace } from '../env/testing.ts';
import { fixtureText, invalidFixtures, validFixtures } from '../fixtures/scaledobjects.ts';

const kc = kubeConfig();
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const objects = kc.makeApiClient(CustomObjectsApi);
const ns = useNamespace('crd');

const ManifestSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('ScaledObject'),
  metadata: z.looseObject({}),
  spec: z.record(z.string(), z.unknown()),
});

/** The file's one ScaledObject, as ebb's: named after the file, in this test's namespace. */
const manifest = (set: 'valid' | 'invalid', file: string) => {
  const stem = file.replace(/\.yaml$/, '');
  const docs = parseAllDocuments(fixtureText(set, file))
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

/**
 * Creates the object (with `fieldValidation: 'Strict'`, as kubectl sends by default, when asked);
 * resolves to the stored object or to the API server's refusal.
 */
const create = async (body: object, fieldValidation?: 'Strict') => {
  try {
    const stored: unknown = await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: PLURAL,
      body,
      ...(fieldValidation === undefined ? {} : { fieldValidation }),
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

describe('valid/ fixtures are admitted unchanged', () => {
  it.each(validFixtures.map((f) => f.file))('%s', async (file) => {
    const so = manifest('valid', file);
    const result = await create(so);
    expect(result.refused?.message).toBeUndefined();
    // Nothing a user wrote is pruned: the stored spec is the spec sent.
    expect(result.admitted?.spec).toEqual(so.spec);
  });
});

describe('invalid/ fixtures', () => {
  const refused = invalidFixtures.flatMap((f) =>
    f.api === undefined || f.refusedBy === 'strict' ? [] : [[f.file, f.api] as const],
  );
  const admitted = invalidFixtures.flatMap((f) => (f.api === undefined ? [f.file] : []));
  const strict = invalidFixtures.flatMap((f) =>
    f.refusedBy === 'strict' && f.api !== undefined ? [[f.file, f.api, f.field] as const] : [],
  );

  it('are refused by the API server or by ebb, some of each', () => {
    expect(refused.length).toBeGreaterThan(30);
    expect(admitted.length).toBeGreaterThan(10);
  });

  it.each(refused)('%s is refused with a 422 naming the field', async (file, api) => {
    const result = await create(manifest('invalid', file));
    expect(result.admitted, `${file} was admitted`).toBeUndefined();
    expect(result.refused).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(result.refused?.message).toContain(`${api.field}: `);
    expect(result.refused?.message).toContain(api.text);
  });

  it.each(strict)(
    '%s is refused under strict field validation with a 400 naming the field ebb validate names',
    async (file, api, field) => {
      const so = manifest('invalid', file);
      const result = await create(so, 'Strict');
      expect(result.admitted, `${file} was admitted`).toBeUndefined();
      expect(result.refused).toMatchObject({ code: 400, reason: 'BadRequest' });
      expect(result.refused?.message).toContain(api.text);
      expect(api.field).toBe(field); // the one field ebb validate names (test/cli/validate.test.ts)
      // Without strict validation the API server drops the field silently: why ebb validate says it.
      const lax = await create({ ...so, metadata: { ...so.metadata, name: `${so.metadata.name}-lax` } });
      expect(lax.refused?.message).toBeUndefined();
      expect(JSON.stringify(lax.admitted?.spec)).not.toContain(field.split('.').at(-1) ?? '');
    },
  );

  it.each(admitted)('%s is admitted (ebb refuses it: metadata, annotations, or beyond CEL)', async (file) => {
    const result = await create(manifest('invalid', file));
    expect(result.refused?.message).toBeUndefined();
    expect(result.admitted).toBeDefined();
  });
});

describe('scalingModifiers.formula has a maxLength (refused before it is stored)', () => {
  const withFormula = (name: string, formula: string) => {
    const so = manifest('valid', 'scalingmodifiers-formula.yaml');
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

describe('printer columns', () => {
  it('the served CRD lists them, and `kubectl get` shows them', async () => {
    const served = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    const columns = served.spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name);
    const wanted = [
      'Kind',
      'Target',
      'Min',
      'Max',
      'Replicas',
      'Desired',
      'Ready',
      'Active',
      'ActiveTriggers',
      'Fallback',
      'Paused',
      'Triggers',
      'Age',
    ];
    expect(columns).toEqual(expect.arrayContaining(wanted));

    const so = manifest('valid', 'cron-weekday-window.yaml');
    const { metadata: _m, ...rest } = so;
    await create({ ...rest, metadata: { name: 'printed', namespace: ns.name } });
    const table = await getTable(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/${PLURAL}/printed`);
    const names = table.columnDefinitions.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Name', ...wanted]));
    const cell = (name: string) => table.rows[0]?.cells[names.indexOf(name)];
    // The API server prints the first match of a `[*]` path only (as KEDA's column does).
    expect([cell('Name'), cell('Target'), cell('Min'), cell('Max'), cell('Triggers')]).toEqual([
      'printed',
      'worker',
      0,
      4,
      'cron',
    ]);
  });
});
