// The cluster install (deploy/) on the real API server: the CRDs install and re-apply (the
// upgrade NOTES.txt prescribes); every other object of every values set, and of
// deploy/manifests/ebb.yaml, passes a server-side apply dry run with strict field validation (a
// misspelt field fails) and draws no warning; helm installs, upgrades and uninstalls a release;
// the manifests are not stale. Also: an upgrade keeps the chart-made adapter certificate only
// when its Secret says it was made for the adapter Service's name (helm's lookup against the API
// server).
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GROUP, VERSION } from '../../src/api/scaledobject.ts';
import { createDeployment, createScaledObject } from '../controller/cluster.ts';
import {
  apply,
  byKind,
  CHART,
  ensureHelm,
  helm,
  type K8sObject,
  MANIFESTS,
  one,
  parseObjects,
  renderChart,
  rest,
  root,
} from '../deploy/chart.ts';
import { uniqueName, useNamespace } from '../env/testing.ts';
import {
  CERT_MADE_FOR,
  core,
  kc,
  kube,
  type Names,
  objects,
  paths,
  VALUE_SETS,
  wait,
} from './deploy-setup.ts';

beforeAll(() => ensureHelm(), 900_000);

describe('on the API server', () => {
  const release = useNamespace('ebb-release');
  const watch = useNamespace('ebb-watch');
  const clusterObjects = useNamespace('ebb-cluster-objects');
  const names = (): Names => ({
    release: release.name,
    watch: watch.name,
    clusterObjects: clusterObjects.name,
  });
  const manifestNamespaces: string[] = [];

  afterAll(async () => {
    for (const name of manifestNamespaces)
      await core.deleteNamespace({ name, propagationPolicy: 'Background' }).catch(() => {});
  });

  /** Server-side apply for real; waits until every CRD is Established and served. */
  const installCrds = async (crds: readonly K8sObject[], fieldManager: string) => {
    // ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication: none may go missing.
    expect(crds.map((c) => c.metadata.name)).toHaveLength(3);
    for (const crd of crds) {
      const res = await apply(kube, paths, crd, { dryRun: false, fieldManager });
      expect(res.status, `${crd.metadata.name}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      expect(res.warnings, crd.metadata.name).toEqual([]);
    }
    for (const crd of crds) {
      await vi.waitFor(async () => {
        const res = await rest(
          kube,
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        );
        const conditions = (res.body as { status?: { conditions?: { type: string; status: string }[] } })
          .status?.conditions;
        expect(conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
      }, wait);
    }
    paths.forget(`${GROUP}/${VERSION}`);
  };

  /** Dry-runs every object; collects every refusal and warning, so one run names them all. */
  const dryRunAll = async (objs: readonly K8sObject[]) => {
    const problems: string[] = [];
    expect(objs.length).toBeGreaterThan(0);
    for (const o of objs) {
      const res = await apply(kube, paths, o, { dryRun: true });
      const what = `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (res.status >= 300) problems.push(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      for (const w of res.warnings) problems.push(`${what}: warning ${w}`);
    }
    expect(problems).toEqual([]);
  };

  it("the chart's CRDs install, and re-apply over themselves as the upgrade in NOTES.txt does", async () => {
    const crds = byKind(
      renderChart({ release: 'ebb', namespace: release.name, values: {}, includeCrds: true }),
      'CustomResourceDefinition',
    );
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      `clustertriggerauthentications.${GROUP}`,
      `scaledobjects.${GROUP}`,
      `triggerauthentications.${GROUP}`,
    ]);
    await installCrds(crds, 'helm');
    await createDeployment(kc, release.name, 'upgrade-target', 0);
    await createScaledObject(kc, release.name, 'survives-upgrade', { target: 'upgrade-target' });
    // `helm show crds <chart> | kubectl apply --server-side --force-conflicts -f -`
    await installCrds(crds, 'kubectl');
    const so = (await objects.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: release.name,
      plural: 'scaledobjects',
      name: 'survives-upgrade',
    })) as { spec: { scaleTargetRef: { name: string } } };
    expect(so.spec.scaleTargetRef.name).toBe('upgrade-target');
    for (const crd of crds) {
      const res = await rest(
        kube,
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      const live = res.body as {
        spec: { versions: { name: string; storage: boolean; served: boolean }[] };
        status: { storedVersions: string[] };
      };
      const storage = live.spec.versions.filter((v) => v.storage);
      expect(storage).toHaveLength(1);
      expect(live.status.storedVersions.length, crd.metadata.name).toBeGreaterThan(0);
      for (const stored of live.status.storedVersions)
        expect(
          live.spec.versions.find((v) => v.name === stored)?.served,
          `${crd.metadata.name} ${stored}`,
        ).toBe(true);
    }
  });

  it.each(Object.keys(VALUE_SETS))(
    'every object of the chart passes a server-side dry run (strict fields, no warnings): %s',
    async (set) => {
      const objs = renderChart({
        release: uniqueName('dry'),
        namespace: release.name,
        values: VALUE_SETS[set]?.(names()) ?? {},
        includeCrds: true,
      });
      await installCrds(byKind(objs, 'CustomResourceDefinition'), 'helm');
      const rest_ = objs.filter((o) => o.kind !== 'CustomResourceDefinition');
      expect(rest_.length).toBeGreaterThan(5);
      await dryRunAll(rest_);
    },
  );

  it('deploy/manifests/ebb.yaml: CRDs, then its Namespace, then a dry run of everything else', async () => {
    const objs = parseObjects(readFileSync(MANIFESTS, 'utf8'));
    const crds = byKind(objs, 'CustomResourceDefinition');
    const namespaces = byKind(objs, 'Namespace');
    expect(crds).toHaveLength(3);
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['ebb-system']);
    // No private key in git: the manifests let ebb make its adapter certificate at start.
    expect(byKind(objs, 'Secret')).toEqual([]);
    await installCrds(crds, 'kubectl');
    for (const n of namespaces) {
      const res = await apply(kube, paths, n, { dryRun: false });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      manifestNamespaces.push(n.metadata.name);
    }
    const others = objs.filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
    expect(others.length).toBeGreaterThan(10);
    await dryRunAll(others);
  });

  it('helm install, upgrade and uninstall against the API server; NOTES say how to upgrade the CRDs', async () => {
    const kubeArgs = ['--kubeconfig', kube.kubeconfigPath, '--namespace', release.name];
    const name = uniqueName('life');
    // Defaults, server-side dry run: helm's own checks against the server, and the NOTES. helm
    // refuses to adopt an object it does not own, so when another test file left its
    // external.metrics APIService behind, this dry run leaves the adapter out.
    const taken =
      (await rest(kube, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.external.metrics.k8s.io'))
        .status === 200;
    const dry = helm(
      ['install', name, CHART, ...kubeArgs, '--dry-run=server'],
      taken ? { adapter: { enabled: false } } : {},
    );
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Helm does not upgrade CRDs');
    expect(dry.stdout).toContain('helm show crds <chart> | kubectl apply --server-side');
    // For real, without the adapter: the cluster's one external.metrics APIService stays as it is.
    const install = helm(['install', name, CHART, ...kubeArgs], { adapter: { enabled: false } });
    expect(install.status, install.stderr).toBe(0);
    const upgrade = helm(['upgrade', name, CHART, ...kubeArgs], {
      adapter: { enabled: false },
      controller: { replicas: 3 },
      activator: { enabled: false },
    });
    expect(upgrade.status, upgrade.stderr).toBe(0);
    const status = helm(['status', name, ...kubeArgs, '--output', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ info: { status: 'deployed' }, version: 2 });
    const uninstall = helm(['uninstall', name, ...kubeArgs, '--wait']);
    expect(uninstall.status, uninstall.stderr).toBe(0);
  });

  it("an upgrade keeps the chart-made adapter certificate only when it was made for the adapter Service's name", async () => {
    // helm's lookup against the API server, as `helm upgrade` renders: the chart's Secret is
    // reused when its annotation names the adapter Service, made anew otherwise (the previous
    // chart's Secret, made for the controller Service and not annotated, or another name).
    const name = uniqueName('cert');
    const fullname = `${name}-ebb`;
    const service = `${fullname}-metrics-adapter`;
    const secretName = `${fullname}-adapter-cert`;
    const rendered = () => {
      const res = helm([
        'template',
        name,
        CHART,
        '--kubeconfig',
        kube.kubeconfigPath,
        '--namespace',
        release.name,
        '--dry-run=server',
      ]);
      expect(res.status, res.stderr).toBe(0);
      const objs = parseObjects(res.stdout);
      const secret = one(objs, 'Secret', secretName);
      const api = one(objs, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as {
        caBundle: string;
        service: { name: string };
      };
      expect(api.service.name).toBe(service);
      expect(secret.metadata.annotations?.[CERT_MADE_FOR]).toBe(service);
      const data = secret.data as Record<string, string>;
      expect(api.caBundle).toBe(data['ca.crt']);
      const cert = new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8'));
      expect(cert.checkHost(`${service}.${release.name}.svc`)).toBe(`${service}.${release.name}.svc`);
      return secret;
    };
    const store = async (secret: K8sObject, madeFor: string | undefined) => {
      await rest(kube, 'DELETE', await paths.of(secret));
      const { annotations: _, ...metadata } = secret.metadata;
      const stored: K8sObject = {
        ...secret,
        metadata:
          madeFor === undefined ? metadata : { ...metadata, annotations: { [CERT_MADE_FOR]: madeFor } },
      };
      const res = await apply(kube, paths, stored, { dryRun: false });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    };
    const tlsCrt = (secret: K8sObject) => (secret.data as Record<string, string>)['tls.crt'];

    const first = rendered();
    expect(tlsCrt(rendered())).not.toBe(tlsCrt(first)); // nothing stored yet: a new one each time
    await store(first, service);
    expect(rendered().data).toEqual(first.data); // made for this Service: kept
    await store(first, undefined);
    expect(tlsCrt(rendered())).not.toBe(tlsCrt(first)); // the previous chart's: made anew
    await store(first, `${fullname}-controller`);
    expect(tlsCrt(rendered())).not.toBe(tlsCrt(first)); // made for another name: made anew
    await rest(kube, 'DELETE', await paths.of(first));
  });

  it('scripts/render-manifests.mjs --check: the plain manifests and the chart CRDs are not stale', () => {
    const res = spawnSync(process.execPath, [join(root, 'scripts/render-manifests.mjs'), '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  });
});
