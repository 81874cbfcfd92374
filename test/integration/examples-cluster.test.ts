// examples/cluster/ as a user applies it: every file passes ebb's admission (`ebb validate`) and
// every object in it is created for real on the API server (not a dry run: ebb's CRDs' CEL rules
// and the Gateway API CRDs' rules run on create), each file in a fresh namespace standing for
// `shop`, and another for `ebb-system` (where the ReferenceGrant lives). The Gateway API CRDs
// come from sigs.k8s.io/gateway-api on the Go module proxy (test/env/build-binaries.sh gateway-api).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateText } from '../../src/cli/validate.ts';
import { createNamespace, kubeConfig } from '../env/testing.ts';

const root = new URL('../../', import.meta.url).pathname;
const EXAMPLES = join(root, 'examples', 'cluster');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
const GATEWAY_API_VERSION = process.env.EBB_GATEWAY_API_VERSION ?? 'v1.4.1';
const gatewayCrds = join(
  process.env.EBB_CACHE ?? join(homedir(), '.cache', 'ebb'),
  'crds',
  `gateway-api-${GATEWAY_API_VERSION}`,
);

const kc = kubeConfig();
const objects = KubernetesObjectApi.makeApiClient(kc);
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const wait = { timeout: 30_000, interval: 200 };

const docsOf = (text: string): KubernetesObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);

/** Creates each CRD (or leaves the one already there) and waits until all are Established. */
const installCrds = async (crds: readonly KubernetesObject[]): Promise<void> => {
  for (const crd of crds) {
    try {
      await objects.create(crd);
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
    }
  }
  await vi.waitFor(async () => {
    for (const crd of crds) {
      const served = await extensions.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
      expect(served.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')).toBe(
        true,
      );
    }
  }, wait);
};

beforeAll(async () => {
  const fetched = spawnSync('bash', [join(root, 'test', 'env', 'build-binaries.sh'), 'gateway-api'], {
    encoding: 'utf8',
  });
  if (fetched.status !== 0) throw new Error(`fetching the Gateway API CRDs failed: ${fetched.stderr}`);
  const ebb = docsOf(readFileSync(join(root, 'crds', 'autoscaling.ebb.dev.yaml'), 'utf8'));
  const gateway = readdirSync(gatewayCrds)
    .filter((f) => /httproutes|referencegrants/.test(f))
    .flatMap((f) => docsOf(readFileSync(join(gatewayCrds, f), 'utf8')));
  expect(gateway.map((c) => c.metadata?.name).sort()).toEqual([
    'httproutes.gateway.networking.k8s.io',
    'referencegrants.gateway.networking.k8s.io',
  ]);
  await installCrds([...ebb, ...gateway]);
}, 300_000);

describe('examples/cluster', () => {
  it('has one file per trigger type, HPA mode, scalingModifiers, fallback, Ingress, HTTPRoute and gRPC, each in its README', () => {
    const all = files.map((f) => readFileSync(join(EXAMPLES, f), 'utf8')).join('\n');
    for (const type of ['kafka', 'rabbitmq', 'cron', 'http']) expect(all).toContain(`- type: ${type}`);
    for (const feature of [
      'scaling-mode: hpa',
      'scalingModifiers:',
      'fallback:',
      'kind: Ingress',
      'kind: HTTPRoute',
      'appProtocol: kubernetes.io/h2c',
    ])
      expect(all).toContain(feature);
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const f of files) expect(readme, f).toContain(`\`${f}\``);
  });

  it('ebb validate examples/cluster (the command, the whole directory): exit 0, no problem and no warning', () => {
    // The real CLI over the directory: TriggerAuthentications and cross-document checks included
    // (an authenticationRef to nothing, two ScaledObjects on one target across files).
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'validate', 'examples/cluster'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^ebb validate: 11 ScaledObjects and 4 TriggerAuthentications checked, 0 with problems; skipped \d+ documents of other kinds \([^)]*\)\n$/,
    );
    expect(run.status).toBe(0);
  });

  it.each(files)('%s passes ebb validate', (file) => {
    const result = validateText(file, readFileSync(join(EXAMPLES, file), 'utf8'));
    const checked = result.documents.filter((d) => 'problems' in d);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(result.documents).toEqual(checked.map((d) => ({ ...d, problems: [] })));
  });

  it.each(files)('%s is created on the API server', async (file) => {
    const shop = await createNamespace('example-shop');
    const system = await createNamespace('example-ebb-system');
    try {
      const text = readFileSync(join(EXAMPLES, file), 'utf8')
        .replaceAll('namespace: shop', `namespace: ${shop.name}`)
        .replaceAll('namespace: ebb-system', `namespace: ${system.name}`);
      const docs = docsOf(text).filter((d) => d.kind !== 'Namespace');
      for (const doc of docs) {
        doc.metadata = { ...doc.metadata, namespace: doc.metadata?.namespace ?? shop.name };
        // A CRD established a moment ago may not be served yet: retried (a refusal still fails, after the wait).
        await vi.waitFor(async () => {
          await objects.create(doc);
        }, wait);
      }
      for (const doc of docs) {
        const read = await objects.read({
          apiVersion: doc.apiVersion ?? '',
          kind: doc.kind ?? '',
          metadata: { name: doc.metadata?.name ?? '', namespace: doc.metadata?.namespace ?? '' },
        });
        expect(read.metadata?.uid, `${doc.kind}/${doc.metadata?.name}`).toBeDefined();
      }
    } finally {
      await shop.delete();
      await system.delete();
    }
  });
});
