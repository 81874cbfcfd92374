// The cluster install (deploy/): the Helm chart and the plain manifests, proven three ways.
//
// 1. Offline, with helm built from its Go module: `helm lint --strict` for every values set;
//    `helm template` renders what the issue asks for (controller with leader election and 2
//    replicas, activator Deployment + Service, the adapter's APIService with a certificate that
//    its caBundle verifies, probes, requests, PodDisruptionBudgets) and each value does what
//    values.yaml says; the schema refuses bad values naming them; every container runs an ebb
//    command with flags that command accepts; the RBAC is exactly the requests ebb makes. The
//    APIService names the adapter's own Service, which has no selector and a port `https`:
//    `--adapter-service` makes the leader keep its EndpointSlice, with RBAC limited by name.
// 2. On the real API server: the CRDs install and re-apply (the upgrade NOTES.txt prescribes);
//    every other object of every values set, and of deploy/manifests/ebb.yaml, passes a
//    server-side apply dry run with strict field validation (a misspelt field fails) and draws
//    no warning; helm installs, upgrades and uninstalls a release; the manifests are not stale.
// 3. The RBAC is enough: the chart's ServiceAccounts, Roles and bindings (one watched namespace,
//    so the run touches no other test file's objects; the ClusterRole of the default install
//    holds the same rules, part 1 shows) are created for real,
//    `ebb run` and `ebb activator` are started as the pods would run them (the rendered node flags,
//    args and env, the ServiceAccounts' tokens, the adapter certificate Secret as a mounted directory), and
//    they lead, scale, write status, Events and an HPA, read the Secrets TriggerAuthentications
//    point to, serve the adapter, keep the adapter Service's EndpointSlice on the leader (and
//    remove it on a graceful stop; the < 1.33 v1 Endpoints too, written by ebb's writer under the
//    same token), and route a cold-start request; SubjectAccessReviews show what they may not do.
//    Also: an upgrade keeps the chart-made adapter certificate only when its Secret says it was
//    made for the adapter Service's name (helm's lookup against the API server).
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SCALING_MODE } from '../../src/api/annotations.ts';
import { GROUP, VERSION } from '../../src/api/scaledobject.ts';
import { silentLogger } from '../../src/logging.ts';
import { kubernetesPlatform } from '../../src/platform/kubernetes/index.ts';
import { HOLDER_ANNOTATION } from '../../src/platform/kubernetes/leader-endpoints.ts';
import type { AdapterEndpoint } from '../../src/platform/ports.ts';
import {
  conditionOf,
  createDeployment,
  createScaledObject,
  deploymentReplicas,
  listEvents,
  openWindow,
  readScaledObject,
} from '../controller/cluster.ts';
import {
  allRules,
  apply,
  byKind,
  CHART,
  type Container,
  ensureHelm,
  helm,
  type K8sObject,
  MANIFESTS,
  one,
  Paths,
  parseObjects,
  permissionsOf,
  podOf,
  renderChart,
  rest,
  root,
} from '../deploy/chart.ts';
import {
  freePorts,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  startProcess,
  waitUntil,
} from '../env/proc.ts';
import { kubeConfig, kubeConnection, uniqueName, useNamespace } from '../env/testing.ts';

const kube = kubeConnection();
const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const objects = kc.makeApiClient(CustomObjectsApi);
const paths = new Paths(kube);
const wait = { timeout: 45_000, interval: 250 };

const chartYaml = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
const appVersion = /^appVersion:\s*"?([^"\n]+)"?/m.exec(chartYaml)?.[1];
const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
  .version;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerUid = Number(/^USER\s+(\d+)/m.exec(dockerfile)?.[1]);
/** The image's ENTRYPOINT (exec form): `node src/main.js`. */
const dockerEntrypoint = JSON.parse(/^ENTRYPOINT\s+(.*)$/m.exec(dockerfile)?.[1] ?? '[]') as string[];

// ---- values sets ----

interface Names {
  readonly release: string;
  readonly watch: string;
  readonly clusterObjects: string;
}

/** Every values set is linted, rendered, checked and dry-run applied. */
const VALUE_SETS: Record<string, (n: Names) => Record<string, unknown>> = {
  defaults: () => ({}),
  'no adapter, no activator, 3 controllers, no Secrets, no PDB': () => ({
    adapter: { enabled: false },
    activator: { enabled: false },
    controller: { replicas: 3, podDisruptionBudget: { enabled: false } },
    rbac: { readSecrets: false },
  }),
  'one namespace, cluster objects elsewhere, certificate from a Secret': (n) => ({
    watchNamespace: n.watch,
    clusterObjectNamespace: n.clusterObjects,
    adapter: {
      certificate: { source: 'secret', secretName: 'adapter-tls' },
      apiService: { caBundle: kube.caData },
    },
    activator: { replicas: 3, service: { type: 'NodePort' }, nodeFlags: [] },
    controller: { podAnnotations: { 'prometheus.io/scrape': 'true' }, logLevel: 'debug' },
    rbac: { extraWatchedScaleTargets: [{ apiGroups: ['argoproj.io'], resources: ['rollouts'] }] },
  }),
  'runtime certificate (as the plain manifests)': () => ({ adapter: { certificate: { source: 'runtime' } } }),
};

const OFFLINE: Names = { release: 'ebb-system', watch: 'team-a', clusterObjects: 'ebb-auth' };
const render = (set: string, n: Names = OFFLINE, release = 'ebb') =>
  renderChart({ release, namespace: n.release, values: VALUE_SETS[set]?.(n) ?? {} });

// ---- small readers of rendered objects ----

const deployment = (objs: readonly K8sObject[], component: string) => {
  const found = byKind(objs, 'Deployment').filter(
    (d) => podOf(d).template.metadata.labels['app.kubernetes.io/component'] === component,
  );
  expect(found, `one ${component} Deployment`).toHaveLength(1);
  return found[0] as K8sObject;
};
const container = (d: K8sObject): Container => {
  const c = podOf(d).template.spec.containers;
  expect(c).toHaveLength(1);
  return c[0] as Container;
};
/** `--name=value` → value; `--name` → ''; absent → undefined (the last one wins, as in commander). */
const flag = (c: Container, name: string): string | undefined => {
  let found: string | undefined;
  for (const a of c.args ?? []) {
    if (a === `--${name}`) found = '';
    else if (a.startsWith(`--${name}=`)) found = a.slice(name.length + 3);
  }
  return found;
};
const portNamed = (c: Container, name: string | number) =>
  typeof name === 'number' ? name : c.ports?.find((p) => p.name === name)?.containerPort;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// ---- what ebb's requests need (src/platform/kubernetes/*.ts), as permissionsOf strings ----

const verbs = (prefix: string, ...vs: string[]) => vs.map((v) => `${prefix} ${v}`);
const controllerNamespaced = (scope: string, adapter: boolean) => [
  ...verbs(`${scope} autoscaling.ebb.dev/scaledobjects`, 'list', 'watch', 'patch'),
  ...verbs(`${scope} autoscaling.ebb.dev/scaledobjects/status`, 'patch'),
  ...verbs(`${scope} autoscaling.ebb.dev/triggerauthentications`, 'list', 'watch'),
  ...verbs(`${scope} */*/scale`, 'get', 'update', 'patch'),
  ...['deployments', 'statefulsets', 'replicasets'].flatMap((r) =>
    verbs(`${scope} apps/${r}`, 'list', 'watch'),
  ),
  ...verbs(`${scope} /replicationcontrollers`, 'list', 'watch'),
  ...verbs(`${scope} events.k8s.io/events`, 'create', 'patch'),
  ...(adapter
    ? verbs(`${scope} autoscaling/horizontalpodautoscalers`, 'get', 'list', 'create', 'update', 'delete')
    : []),
];
const secretsIn = (scope: string) => verbs(`${scope} /secrets`, 'get', 'list', 'watch');
const activatorNamespaced = (scope: string) => [
  ...verbs(`${scope} autoscaling.ebb.dev/scaledobjects`, 'list', 'watch'),
  ...verbs(`${scope} /services`, 'list', 'watch'),
  ...verbs(`${scope} discovery.k8s.io/endpointslices`, 'list', 'watch'),
];
const leases = (ns: string, lease = 'ebb-controller') => [
  `ns/${ns} coordination.k8s.io/leases create`,
  ...verbs(`ns/${ns} coordination.k8s.io/leases[${lease}]`, 'get', 'update'),
];
/** The annotation on the chart-made certificate Secret naming the Service it was made for. */
const CERT_MADE_FOR = 'autoscaling.ebb.dev/adapter-service';
const AUTH_READER = 'binding ns/kube-system Role/extension-apiserver-authentication-reader';
/** The adapter Service of release `ebb` (fullname "ebb"). */
const ADAPTER_SERVICE = 'ebb-metrics-adapter';
/** The leader's EndpointSlice and (Kubernetes < 1.33) Endpoints: create, and the rest by name only. */
const adapterEndpoint = (ns: string, service = ADAPTER_SERVICE) => [
  `ns/${ns} discovery.k8s.io/endpointslices create`,
  ...verbs(`ns/${ns} discovery.k8s.io/endpointslices[${service}-leader]`, 'get', 'update', 'delete'),
  `ns/${ns} /endpoints create`,
  ...verbs(`ns/${ns} /endpoints[${service}]`, 'get', 'update', 'delete'),
];

/** The controller's and the activator's permissions each values set must render, exactly. */
const EXPECTED: Record<string, (n: Names) => { controller: string[]; activator: string[] }> = {
  defaults: (n) => ({
    controller: [
      ...verbs('cluster autoscaling.ebb.dev/clustertriggerauthentications', 'list', 'watch'),
      ...controllerNamespaced('cluster', true),
      ...secretsIn('cluster'),
      ...leases(n.release),
      ...adapterEndpoint(n.release),
      AUTH_READER,
    ],
    activator: activatorNamespaced('cluster'),
  }),
  'no adapter, no activator, 3 controllers, no Secrets, no PDB': (n) => ({
    controller: [
      ...verbs('cluster autoscaling.ebb.dev/clustertriggerauthentications', 'list', 'watch'),
      ...controllerNamespaced('cluster', false),
      ...leases(n.release),
    ],
    activator: [],
  }),
  'one namespace, cluster objects elsewhere, certificate from a Secret': (n) => ({
    controller: [
      ...verbs('cluster autoscaling.ebb.dev/clustertriggerauthentications', 'list', 'watch'),
      ...controllerNamespaced(`ns/${n.watch}`, true),
      ...verbs(`ns/${n.watch} argoproj.io/rollouts`, 'list', 'watch'),
      ...secretsIn(`ns/${n.watch}`),
      ...secretsIn(`ns/${n.clusterObjects}`),
      ...leases(n.release),
      ...adapterEndpoint(n.release),
      AUTH_READER,
    ],
    activator: activatorNamespaced(`ns/${n.watch}`),
  }),
  'runtime certificate (as the plain manifests)': (n) =>
    EXPECTED.defaults?.(n) ?? { controller: [], activator: [] },
};

// ---- flags the ebb commands accept, from their --help ----

const helpFlags = new Map<string, Map<string, boolean>>();
/** Flag → takes a value, for `ebb <command>`. */
const flagsOf = (command: string): Map<string, boolean> => {
  const cached = helpFlags.get(command);
  if (cached !== undefined) return cached;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/main.ts'), command, '--help'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  const flags = new Map<string, boolean>();
  // commander indents an option's own line by two spaces; wrapped descriptions that name a flag
  // are indented to the description column.
  for (const m of out.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)( [<[])?/gm))
    flags.set(m[1] ?? '', m[2] !== undefined);
  helpFlags.set(command, flags);
  return flags;
};

beforeAll(() => ensureHelm(), 900_000);

describe('the chart, rendered by helm', () => {
  it.each(Object.keys(VALUE_SETS))('helm lint --strict passes: %s', (set) => {
    const res = helm(['lint', '--strict', CHART], VALUE_SETS[set]?.(OFFLINE));
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    expect(res.stdout).toContain('0 chart(s) failed');
  });

  it('default values: a leader-elected controller with 2 replicas, an activator, the adapter, probes, requests, PDBs', () => {
    const objs = render('defaults');
    const ns = OFFLINE.release;
    for (const o of objs) {
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'APIService'].includes(o.kind);
      if (clusterScoped) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBeUndefined();
      else if (o.kind !== 'RoleBinding' || o.metadata.namespace !== 'kube-system')
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(ns);
    }

    const ctl = deployment(objs, 'controller');
    const act = deployment(objs, 'activator');
    const c = container(ctl);
    const a = container(act);
    expect(podOf(ctl).replicas).toBe(2);
    expect(c.args?.[0]).toBe('run');
    expect(flag(c, 'leader-elect')).toBe('');
    expect(flag(c, 'lease-namespace')).toBe(ns);
    expect(flag(c, 'cluster-object-namespace')).toBe(ns);
    expect(flag(c, 'namespace')).toBeUndefined(); // every namespace
    expect(a.args?.[0]).toBe('activator');
    expect(podOf(act).replicas).toBe(2);
    // The controller runs the image's entry point as is; the activator the same with its node
    // flags (activator.nodeFlags: V8's young generation fixed, see values.yaml).
    expect(c.command).toBeUndefined();
    expect(dockerEntrypoint).toEqual(['node', 'src/main.js']);
    expect(a.command).toEqual(['node', '--min-semi-space-size=16', 'src/main.js']);

    // The image is the one the Dockerfile builds, at the version package.json names.
    expect(appVersion).toBe(packageVersion);
    for (const x of [c, a]) expect(x.image).toBe(`ebb:${packageVersion}`);

    for (const [d, x, healthFlag] of [
      [ctl, c, 'health-port'],
      [act, a, 'health-port'],
    ] as const) {
      const health = Number(flag(x, healthFlag));
      expect(health).toBeGreaterThan(0);
      expect(x.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(x.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(portNamed(x, x.livenessProbe?.httpGet?.port ?? '')).toBe(health);
      expect(portNamed(x, x.readinessProbe?.httpGet?.port ?? '')).toBe(health);
      expect(x.resources?.requests?.cpu).toBeDefined();
      expect(x.resources?.requests?.memory).toBeDefined();
      expect(x.resources?.limits?.cpu).toBeUndefined(); // throttling delays polls and lease renewals
      // Non-root as the image: the uid the Dockerfile's USER names.
      expect(podOf(d).template.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: dockerUid,
      });
      expect(x.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(x.volumeMounts?.some((m) => m.mountPath === '/tmp')).toBe(true);
      // Every port a flag opens is a named container port.
      for (const f of ['health-port', 'metrics-port', 'report-port', 'adapter-port', 'port']) {
        const v = flag(x, f);
        if (v !== undefined && v !== '0') expect(x.ports?.map((p) => p.containerPort)).toContain(Number(v));
      }
      // A PodDisruptionBudget per Deployment that leaves one of two pods evictable.
      const pdbs = byKind(objs, 'PodDisruptionBudget').filter((p) =>
        selects(
          (p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          podOf(d).template.metadata.labels,
        ),
      );
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0]?.spec).toMatchObject({ maxUnavailable: 1 });
      expect(podOf(d).selector.matchLabels).toEqual(
        Object.fromEntries(
          Object.entries(podOf(d).template.metadata.labels).filter(
            ([k]) => k in podOf(d).selector.matchLabels,
          ),
        ),
      );
    }

    // Services select pods of a Deployment and target ports those pods name; the one exception
    // is the adapter's (below), whose endpoint the leader writes.
    const [selectorLess, ...moreSelectorLess] = byKind(objs, 'Service').filter(
      (s) => (s.spec as { selector?: unknown }).selector === undefined,
    );
    expect(selectorLess?.metadata.name).toBe(ADAPTER_SERVICE);
    expect(moreSelectorLess).toEqual([]);
    for (const s of byKind(objs, 'Service')) {
      if (s === selectorLess) continue;
      const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const targets = [ctl, act].filter((d) => selects(spec.selector, podOf(d).template.metadata.labels));
      expect(targets, `Service ${s.metadata.name} selects one Deployment's pods`).toHaveLength(1);
      const x = container(targets[0] as K8sObject);
      for (const p of spec.ports)
        expect(portNamed(x, p.targetPort), `${s.metadata.name} ${p.targetPort}`).toBeDefined();
    }
    const activatorService = one(objs, 'Service', act.metadata.name);
    expect((activatorService.spec as { ports: { targetPort: string }[] }).ports[0]?.targetPort).toBe('http');

    // The activator reports to the controllers' report port through the headless Service.
    const reports = byKind(objs, 'Service').find(
      (s) => (s.spec as { clusterIP?: string }).clusterIP === 'None',
    ) as K8sObject;
    expect(flag(a, 'controller-url')).toBe(
      `http://${reports.metadata.name}.${ns}.svc:${flag(c, 'report-port') ?? ''}`,
    );

    // The APIService points at the adapter's own Service: no selector, one port named `https`
    // (the name the leader's EndpointSlice port carries, src/platform/kubernetes/leader-endpoints.ts),
    // the Service the controller keeps the endpoint of (--adapter-service, with the pod's IP, name
    // and namespace from the downward API). The selector Service of the controller keeps
    // /metrics only: a standby is never behind the APIService.
    const apiService = one(objs, 'APIService', 'v1beta1.external.metrics.k8s.io');
    const svcRef = (apiService.spec as { service: { name: string; namespace: string; port: number } })
      .service;
    expect(svcRef.namespace).toBe(ns);
    expect(svcRef.name).toBe(ADAPTER_SERVICE);
    expect(flag(c, 'adapter-service')).toBe(svcRef.name);
    const svc = one(objs, 'Service', svcRef.name);
    expect(svc.metadata.namespace).toBe(ns);
    const svcSpec = svc.spec as {
      type: string;
      selector?: unknown;
      ports: { name: string; port: number; targetPort: number | string; protocol: string }[];
    };
    expect(svcSpec.selector).toBeUndefined();
    expect(svcSpec.type).toBe('ClusterIP');
    expect(svcSpec.ports).toEqual([
      { name: 'https', port: svcRef.port, targetPort: Number(flag(c, 'adapter-port')), protocol: 'TCP' },
    ]);
    const controllerSvc = one(objs, 'Service', ctl.metadata.name);
    expect((controllerSvc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual([
      'metrics',
    ]);
    const fieldOf = (name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf('POD_IP')).toBe('status.podIP');
    expect(fieldOf('POD_NAME')).toBe('metadata.name');
    expect(fieldOf('POD_NAMESPACE')).toBe('metadata.namespace');
    const certDir = flag(c, 'adapter-cert-dir') ?? '';
    const mount = c.volumeMounts?.find((m) => m.mountPath === certDir);
    const volume = podOf(ctl).template.spec.volumes?.find((v) => v.name === mount?.name);
    const secret = one(objs, 'Secret', volume?.secret?.secretName ?? '');
    const data = secret.data as Record<string, string>;
    const ca = new X509Certificate(
      Buffer.from((apiService.spec as { caBundle: string }).caBundle, 'base64').toString('utf8'),
    );
    const cert = new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8'));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost(`${svc.metadata.name}.${ns}.svc`)).toBe(`${svc.metadata.name}.${ns}.svc`);
    // The Secret records the Service its certificate was made for (an upgrade reuses it only then).
    expect(secret.metadata.annotations?.[CERT_MADE_FOR]).toBe(svc.metadata.name);
    expect(Buffer.from(data['tls.key'] ?? '', 'base64').toString('utf8')).toContain('PRIVATE KEY');
    expect((apiService.spec as { insecureSkipTLSVerify?: boolean }).insecureSkipTLSVerify).toBeUndefined();
  });

  it('every container runs an ebb command with flags that command accepts', () => {
    for (const set of Object.keys(VALUE_SETS)) {
      for (const d of byKind(render(set), 'Deployment')) {
        const c = container(d);
        const [command, ...args] = c.args ?? [];
        const accepted = flagsOf(command ?? '');
        for (const arg of args) {
          const m = /^(--[\w-]+)(=.*)?$/.exec(arg);
          expect(m, `${set}: ${d.metadata.name}: "${arg}" is --flag or --flag=value`).not.toBeNull();
          const name = m?.[1] ?? '';
          expect(accepted.has(name), `${set}: ebb ${command} accepts ${name}`).toBe(true);
          expect(
            m?.[2] !== undefined,
            `${set}: ${name} ${accepted.get(name) ? 'takes' : 'takes no'} value`,
          ).toBe(accepted.get(name));
        }
      }
    }
  });

  it('values: adapter, activator, replicas, Secrets, PDBs, one namespace, certificate sources', () => {
    const off = render('no adapter, no activator, 3 controllers, no Secrets, no PDB');
    const ctl = deployment(off, 'controller');
    expect(podOf(ctl).replicas).toBe(3);
    expect(flag(container(ctl), 'adapter-port')).toBe('0');
    expect(flag(container(ctl), 'adapter-cert-dir')).toBeUndefined();
    expect(flag(container(ctl), 'adapter-service')).toBeUndefined();
    expect(container(ctl).env?.map((e) => e.name)).not.toContain('POD_IP');
    expect(byKind(off, 'Service').map((s) => s.metadata.name)).not.toContain(ADAPTER_SERVICE);
    for (const kind of ['APIService', 'Secret', 'PodDisruptionBudget'])
      expect(byKind(off, kind), kind).toHaveLength(0);
    expect(byKind(off, 'Deployment')).toHaveLength(1);
    expect(off.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'activator')).toEqual([]);
    expect(off.filter((o) => o.metadata.namespace === 'kube-system')).toEqual([]);
    const ctlSvc = one(off, 'Service', ctl.metadata.name);
    expect((ctlSvc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual(['metrics']);

    const n = OFFLINE;
    const scoped = render('one namespace, cluster objects elsewhere, certificate from a Secret');
    const sc = container(deployment(scoped, 'controller'));
    const sa = container(deployment(scoped, 'activator'));
    expect(flag(sc, 'namespace')).toBe(n.watch);
    expect(flag(sa, 'namespace')).toBe(n.watch);
    expect(sa.command).toBeUndefined(); // nodeFlags [] : the image's entry point, node's defaults
    expect(flag(sc, 'cluster-object-namespace')).toBe(n.clusterObjects);
    expect(podOf(deployment(scoped, 'activator')).replicas).toBe(3);
    expect(byKind(scoped, 'Secret')).toHaveLength(0); // the certificate comes from the user's Secret
    const vol = podOf(deployment(scoped, 'controller')).template.spec.volumes?.find(
      (v) => v.secret !== undefined,
    );
    expect(vol?.secret?.secretName).toBe('adapter-tls');
    const api = one(scoped, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as { caBundle: string };
    expect(Buffer.from(api.caBundle, 'base64').toString('utf8')).toBe(kube.caData);
    expect(podOf(deployment(scoped, 'controller')).template.metadata).toMatchObject({
      annotations: { 'prometheus.io/scrape': 'true' },
    });
    const svcType = (
      one(scoped, 'Service', deployment(scoped, 'activator').metadata.name).spec as { type: string }
    ).type;
    expect(svcType).toBe('NodePort');
    // With one namespace watched, no ClusterRole grants anything namespaced.
    for (const r of byKind(scoped, 'ClusterRole'))
      for (const rule of (r.rules as { resources: string[] }[]) ?? [])
        expect(rule.resources, `ClusterRole ${r.metadata.name}`).toEqual(['clustertriggerauthentications']);

    // A long fullname still makes a valid Service name (a DNS label: at most 63 characters), and
    // the flag and the RBAC follow it.
    const long = renderChart({
      release: 'ebb',
      namespace: n.release,
      values: { fullnameOverride: `ebb-${'x'.repeat(46)}` },
    });
    const longName = flag(container(deployment(long, 'controller')), 'adapter-service') ?? '';
    expect(longName).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(longName.length).toBeLessThanOrEqual(63);
    expect(longName.endsWith('-metrics-adapter')).toBe(true);
    expect(one(long, 'APIService', 'v1beta1.external.metrics.k8s.io').spec).toMatchObject({
      service: { name: longName },
    });
    expect(permissionsOf(long, n.release, `ebb-${'x'.repeat(46)}-controller`)).toEqual(
      expect.arrayContaining(adapterEndpoint(n.release, longName)),
    );

    const runtime = render('runtime certificate (as the plain manifests)');
    expect(byKind(runtime, 'Secret')).toHaveLength(0);
    expect(flag(container(deployment(runtime, 'controller')), 'adapter-cert-dir')).toBeUndefined();
    expect(one(runtime, 'APIService', 'v1beta1.external.metrics.k8s.io').spec).toMatchObject({
      insecureSkipTLSVerify: true,
    });
  });

  it('values.schema.json and the templates refuse bad values, naming them', () => {
    const refused: [values: Record<string, unknown>, names: string][] = [
      [{ controler: { replicas: 2 } }, 'controler'],
      [{ controller: { replicas: 0 } }, 'replicas'],
      [{ controller: { replicas: '2' } }, 'replicas'],
      [{ adapter: { certificate: { source: 'cert-manager' } } }, 'source'],
      [{ adapter: { certificate: { source: 'secret' } } }, 'secretName'],
      [{ watchNamespace: 'Team_A' }, 'watchNamespace'],
      [{ image: { pullPolicy: 'Sometimes' } }, 'pullPolicy'],
    ];
    for (const [values, name] of refused) {
      const res = helm(['template', 'ebb', CHART, '--namespace', 'ebb-system'], values);
      expect(res.status, JSON.stringify(values)).not.toBe(0);
      expect(res.stderr, JSON.stringify(values)).toContain(name);
    }
  });

  it('RBAC: exactly the requests ebb makes; no wildcard but */scale; Secrets read-only', () => {
    for (const set of Object.keys(VALUE_SETS)) {
      const objs = render(set);
      const expected = EXPECTED[set]?.(OFFLINE);
      const ns = OFFLINE.release;
      expect(permissionsOf(objs, ns, 'ebb-controller'), set).toEqual(
        [...new Set(expected?.controller)].sort(),
      );
      expect(permissionsOf(objs, ns, 'ebb-activator'), set).toEqual([...new Set(expected?.activator)].sort());
      for (const { role, rule } of allRules(objs)) {
        const where = `${set}: ${role}`;
        expect(rule.nonResourceURLs, where).toBeUndefined();
        expect(rule.verbs, where).not.toContain('*');
        for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection'])
          expect(rule.verbs, where).not.toContain(v);
        for (const r of rule.resources ?? []) {
          if (r.includes('*')) expect(r, where).toBe('*/scale');
          if (r === 'secrets')
            expect(
              rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v)),
              where,
            ).toBe(true);
          // Endpoints and slices: read (the activator), create, or get/update/delete of ebb's own one.
          if (r === 'endpoints' || r === 'endpointslices') {
            const read = rule.verbs.every((v) => ['list', 'watch'].includes(v));
            const create = rule.verbs.length === 1 && rule.verbs[0] === 'create';
            const own =
              rule.resourceNames?.length === 1 &&
              rule.verbs.every((v) => ['get', 'update', 'delete'].includes(v));
            expect(read || create || own, `${where} ${r} ${rule.verbs.join(',')}`).toBe(true);
            if (create || own) expect(rule.resources, where).toEqual([r]);
          }
        }
        if (rule.apiGroups?.includes('*')) expect(rule.resources, where).toEqual(['*/scale']);
        if (rule.resources?.includes('*/scale'))
          expect([...rule.verbs].sort(), where).toEqual(['get', 'patch', 'update']);
      }
      for (const b of [...byKind(objs, 'RoleBinding'), ...byKind(objs, 'ClusterRoleBinding')]) {
        const { roleRef, subjects } = b as unknown as {
          roleRef: { kind: string; name: string };
          subjects: { kind: string; namespace: string }[];
        };
        expect(['cluster-admin', 'admin', 'edit', 'system:auth-delegator']).not.toContain(roleRef.name);
        for (const s of subjects) expect(s).toMatchObject({ kind: 'ServiceAccount', namespace: ns });
      }
    }
  });
});

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

describe("the chart's RBAC runs ebb (created for real; ebb started as the pods run it)", () => {
  const release = useNamespace('ebb-run');
  const watch = useNamespace('ebb-run-watch');
  const clusterObjects = useNamespace('ebb-run-auth');
  const other = useNamespace('ebb-run-other');
  const releaseName = uniqueName('rr');
  const ctaName = uniqueName('cta');
  let dir = '';
  let objs: K8sObject[] = [];
  let created: K8sObject[] = [];
  const processes: ManagedProcess[] = [];
  let ports = { health: 0, metrics: 0, report: 0, adapter: 0, proxy: 0, actHealth: 0, actMetrics: 0 };
  let controllerSA = '';
  let activatorSA = '';
  // The pod IP the downward API would give (status.podIP): a private address, since the API
  // server refuses loopback addresses in EndpointSlices; nothing connects to it here.
  const POD_IP = '10.213.0.7';
  /** The selector-less Service the APIService names and `--adapter-service` keeps. */
  const adapterService = () =>
    (one(objs, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as { service: { name: string } }).service
      .name;
  const sliceOf = (name: string) =>
    rest(kube, 'GET', `/apis/discovery.k8s.io/v1/namespaces/${release.name}/endpointslices/${name}`);
  const endpointsOf = (name: string) =>
    rest(kube, 'GET', `/api/v1/namespaces/${release.name}/endpoints/${name}`);

  const sa = (component: string) =>
    one(
      objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === component),
      'ServiceAccount',
      podOf(deployment(objs, component)).template.spec.serviceAccountName,
    ).metadata.name;

  /** A kubeconfig holding a token the API server issued for the ServiceAccount. */
  const kubeconfigFor = async (account: string): Promise<string> => {
    const res = await rest(
      kube,
      'POST',
      `/api/v1/namespaces/${release.name}/serviceaccounts/${account}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const token = (res.body as { status: { token: string } }).status.token;
    const path = join(dir, `${account}.kubeconfig`);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${kube.server}`,
        `    certificate-authority-data: ${Buffer.from(kube.caData).toString('base64')}`,
        'users:',
        `- name: ${account}`,
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: test',
        '  context:',
        '    cluster: test',
        `    user: ${account}`,
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return path;
  };

  /**
   * Runs a Deployment's container here as its pod would: its args and env (fieldRefs resolved),
   * Secret volumes written to a directory that stands in for their mount path, the
   * ServiceAccount's token as the identity.
   */
  const startPod = async (component: string, kubeconfig: string): Promise<ManagedProcess> => {
    const d = deployment(objs, component);
    const pod = podOf(d).template.spec;
    const c = container(d);
    let args = [...(c.args ?? [])];
    for (const m of c.volumeMounts ?? []) {
      const secret = pod.volumes?.find((v) => v.name === m.name)?.secret;
      if (secret === undefined) continue;
      const data = one(objs, 'Secret', secret.secretName).data as Record<string, string>;
      const local = join(dir, component, m.name);
      mkdirSync(local, { recursive: true });
      for (const item of secret.items ?? [])
        writeFileSync(join(local, item.path), Buffer.from(data[item.key] ?? '', 'base64'));
      args = args.map((a) => a.replace(m.mountPath, local));
    }
    const podName = `${d.metadata.name}-0`;
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
    const fields: Record<string, string> = {
      'metadata.namespace': release.name,
      'metadata.name': podName,
      'status.podIP': POD_IP,
    };
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (field !== undefined)
        expect(fields[field], `${component} env ${e.name}: fieldRef ${field}`).toBeDefined();
      env[e.name] = field === undefined ? (e.value ?? '') : (fields[field] ?? '');
    }
    const proc = startProcess({
      name: `ebb ${component}`,
      command: process.execPath,
      // The node flags of the container's command (between `node` and the entry point), if any.
      args: [...(c.command?.slice(1, -1) ?? []), '--import', 'tsx', join(root, 'src/main.ts'), ...args],
      logFile: join(dir, `${component}.log`),
      env,
      cwd: root,
    });
    processes.push(proc);
    const health = Number(flag(c, 'health-port'));
    await waitUntil(async () => (await httpGet(`http://127.0.0.1:${health}/readyz`)).status === 200, {
      what: `${component} /readyz`,
      timeoutMs: 60_000,
      intervalMs: 200,
      process: proc,
    });
    return proc;
  };

  /** May the ServiceAccount do this? (SubjectAccessReview, as the authorizer answers.) */
  const allowed = async (account: string, attrs: Record<string, string>): Promise<boolean> => {
    const res = await rest(kube, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${release.name}:${account}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${release.name}`, 'system:authenticated'],
        resourceAttributes: attrs,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return (res.body as { status: { allowed: boolean } }).status.allowed;
  };

  beforeAll(async () => {
    dir = await makeTempDir('deploy');
    const [health, metrics, report, adapter, proxy, actHealth, actMetrics] = await freePorts(7);
    ports = {
      health: health ?? 0,
      metrics: metrics ?? 0,
      report: report ?? 0,
      adapter: adapter ?? 0,
      proxy: proxy ?? 0,
      actHealth: actHealth ?? 0,
      actMetrics: actMetrics ?? 0,
    };
    objs = renderChart({
      release: releaseName,
      namespace: release.name,
      includeCrds: true,
      values: {
        watchNamespace: watch.name,
        clusterObjectNamespace: clusterObjects.name,
        controller: {
          replicas: 1,
          ports: { health: ports.health, metrics: ports.metrics, report: ports.report },
        },
        adapter: { port: ports.adapter },
        activator: {
          ports: { proxy: ports.proxy, health: ports.actHealth, metrics: ports.actMetrics },
          // The headless Service's name does not resolve here; its one pod does.
          controllerURLs: [`http://127.0.0.1:${ports.report}`],
        },
      },
    });
    const crds = byKind(objs, 'CustomResourceDefinition');
    for (const crd of crds)
      expect((await apply(kube, paths, crd, { dryRun: false })).status).toBeLessThan(300);
    await vi.waitFor(
      () =>
        objects.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: 'scaledobjects',
          limit: 1,
        }),
      wait,
    );
    paths.forget(`${GROUP}/${VERSION}`);
    // Only identities and permissions are created; the workloads run here.
    created = objs.filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind),
    );
    for (const o of created) {
      const res = await apply(kube, paths, o, { dryRun: false });
      expect(res.status, `${o.kind} ${o.metadata.name}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    }
    controllerSA = sa('controller');
    // The adapter's Service too (no selector: nothing else writes its endpoints).
    const svc = one(objs, 'Service', adapterService());
    const made = await apply(kube, paths, svc, { dryRun: false });
    expect(made.status, JSON.stringify(made.body)).toBeLessThan(300);
    activatorSA = sa('activator');
  }, 120_000);

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop(20_000);
    await objects
      .deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'clustertriggerauthentications',
        name: ctaName,
      })
      .catch(() => {});
    // Namespaced objects go with their namespaces; these would outlive them.
    for (const o of created) {
      if (o.metadata.namespace === undefined || o.metadata.namespace === 'kube-system')
        await rest(kube, 'DELETE', await paths.of(o)).catch(() => {});
    }
    if (dir !== '') await removeDir(dir);
  });

  it('ebb run: leads, scales a Deployment, writes status and Events', async () => {
    const kubeconfig = await kubeconfigFor(controllerSA);
    await startPod('controller', kubeconfig);
    // Ready is not leading: a standby is ready too, so wait for the Lease to name a holder.
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${release.name}/leases/${flag(container(deployment(objs, 'controller')), 'lease-name')}`;
    await waitUntil(
      async () => {
        const lease = (await rest(kube, 'GET', leasePath)) as {
          status: number;
          body: { spec?: { holderIdentity?: string } };
        };
        return lease.status === 200 && (lease.body.spec?.holderIdentity ?? '') !== '';
      },
      { what: 'the Lease held by ebb run', timeoutMs: 30_000 },
    );

    await createDeployment(kc, watch.name, 'web', 0);
    // restoreToOriginalReplicaCount: ebb keeps a finalizer on it (a patch of the object).
    await createScaledObject(kc, watch.name, 'web', {
      triggers: [{ type: 'cron', metadata: openWindow(3) }],
      spec: { advanced: { restoreToOriginalReplicaCount: true } },
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, watch.name, 'web')).toBe(3), wait);
    await vi.waitFor(async () => {
      const so = await readScaledObject(kc, watch.name, 'web');
      expect(conditionOf(so, 'Ready')?.status).toBe('True');
      expect(so.finalizers.length).toBeGreaterThan(0);
      expect(
        (await listEvents(kc, watch.name)).filter((e) => e.regarding === 'ScaledObject/web'),
      ).not.toEqual([]);
    }, wait);
  });

  it("ebb run: the leader keeps the adapter Service's EndpointSlice `<name>-leader`, naming its pod", async () => {
    const ctl = deployment(objs, 'controller');
    const service = flag(container(ctl), 'adapter-service') ?? '';
    expect(service).toBe(adapterService());
    const lease = await rest(
      kube,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${release.name}/leases/${flag(container(ctl), 'lease-name')}`,
    );
    const holder = (lease.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
    expect(holder).toBeTruthy();
    await vi.waitFor(async () => {
      const res = await sliceOf(`${service}-leader`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        metadata: {
          labels: { 'kubernetes.io/service-name': service },
          annotations: { [HOLDER_ANNOTATION]: holder },
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: [POD_IP],
            conditions: { ready: true },
            targetRef: { kind: 'Pod', name: `${ctl.metadata.name}-0`, namespace: release.name },
          },
        ],
        // The Service's port name: how the aggregator and kube-proxy match the two.
        ports: [{ name: 'https', port: ports.adapter, protocol: 'TCP' }],
      });
    }, wait);
    // Found by the Service's label, as the aggregator and kube-proxy find it: the leader's only.
    const list = await rest(
      kube,
      'GET',
      `/apis/discovery.k8s.io/v1/namespaces/${release.name}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
    );
    expect((list.body as { items: K8sObject[] }).items.map((i) => i.metadata.name)).toEqual([
      `${service}-leader`,
    ]);
    // Kubernetes 1.33 and later (this server): the aggregator reads slices, so no v1 Endpoints.
    expect((await endpointsOf(service)).status).toBe(404);
  });

  it('ebb run: HPA mode creates its HorizontalPodAutoscaler', async () => {
    await createDeployment(kc, watch.name, 'api', 1);
    await createScaledObject(kc, watch.name, 'api', {
      annotations: { [SCALING_MODE]: 'hpa' },
      triggers: [{ type: 'cron', metadata: openWindow(3) }],
    });
    await vi.waitFor(async () => {
      const res = await rest(
        kube,
        'GET',
        `/apis/autoscaling/v2/namespaces/${watch.name}/horizontalpodautoscalers/ebb-hpa-api`,
      );
      expect(res.status).toBe(200);
    }, wait);
  });

  it('ebb run: reads the Secrets a TriggerAuthentication and a ClusterTriggerAuthentication point to', async () => {
    // The host points at a closed port: reading the Secret succeeds, the broker read fails, so
    // the ScaledObject says TriggerError. Without the RBAC it would say AuthenticationError.
    const host = Buffer.from('amqp://user:pass@127.0.0.1:1/vhost').toString('base64');
    await core.createNamespacedSecret({
      namespace: watch.name,
      body: { metadata: { name: 'rabbit' }, data: { host } },
    });
    await core.createNamespacedSecret({
      namespace: clusterObjects.name,
      body: { metadata: { name: 'rabbit' }, data: { host } },
    });
    const spec = { secretTargetRef: [{ parameter: 'host', name: 'rabbit', key: 'host' }] };
    await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: watch.name,
      plural: 'triggerauthentications',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'TriggerAuthentication',
        metadata: { name: 'rabbit' },
        spec,
      },
    });
    await objects.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'clustertriggerauthentications',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ClusterTriggerAuthentication',
        metadata: { name: ctaName },
        spec,
      },
    });
    const rabbit = (authenticationRef: Record<string, string>) => [
      {
        type: 'rabbitmq',
        metadata: { protocol: 'amqp', queueName: 'orders', mode: 'QueueLength', value: '10' },
        authenticationRef,
      },
    ];
    await createDeployment(kc, watch.name, 'orders', 0);
    await createScaledObject(kc, watch.name, 'orders', { triggers: rabbit({ name: 'rabbit' }) });
    await createDeployment(kc, watch.name, 'billing', 0);
    await createScaledObject(kc, watch.name, 'billing', {
      triggers: rabbit({ name: ctaName, kind: 'ClusterTriggerAuthentication' }),
    });
    for (const name of ['orders', 'billing']) {
      await vi.waitFor(async () => {
        const ready = conditionOf(await readScaledObject(kc, watch.name, name), 'Ready');
        expect(ready, name).toMatchObject({ status: 'False', reason: 'TriggerError' });
      }, wait);
    }
  });

  it("ebb run: serves the adapter with the chart's certificate, which the APIService's caBundle verifies", async () => {
    const api = one(objs, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as {
      caBundle: string;
      service: { name: string; namespace: string };
    };
    const reply = await httpsGet(`https://127.0.0.1:${ports.adapter}/readyz`, {
      ca: Buffer.from(api.caBundle, 'base64').toString('utf8'),
      servername: `${api.service.name}.${api.service.namespace}.svc`,
    });
    expect(reply).toEqual({ status: 200, body: 'ok' });
  });

  it('ebb activator: routes a request for a Deployment at zero and wakes it through the controller', async () => {
    const kubeconfig = await kubeconfigFor(activatorSA);
    await startPod('activator', kubeconfig);
    await core.createNamespacedService({
      namespace: watch.name,
      body: {
        metadata: { name: 'shop' },
        spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await createDeployment(kc, watch.name, 'shop', 0);
    await createScaledObject(kc, watch.name, 'shop', {
      spec: { pollingInterval: 30, cooldownPeriod: 300 },
      triggers: [{ type: 'http', metadata: { hosts: 'shop.example.test', service: 'shop', port: '80' } }],
    });
    // 404 until the activator has the route; then the request is held and the poke scales 0 -> 1.
    const held: { abort(): void }[] = [];
    try {
      await vi.waitFor(async () => {
        const status = await new Promise<number | 'held'>((resolve) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: ports.proxy, path: '/', headers: { host: 'shop.example.test' } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', () => resolve(0));
          held.push({ abort: () => req.destroy() });
          setTimeout(() => resolve('held'), 1_000);
          req.end();
        });
        expect(status).toBe('held');
        expect(await deploymentReplicas(kc, watch.name, 'shop')).toBe(1);
      }, wait);
    } finally {
      for (const h of held) h.abort();
    }
  });

  it('and no more: SubjectAccessReviews deny what ebb does not need', async () => {
    const denied: [string, Record<string, string>][] = [
      [controllerSA, { verb: 'get', resource: 'secrets', namespace: other.name }],
      [controllerSA, { verb: 'list', resource: 'secrets' }],
      [controllerSA, { verb: 'create', resource: 'secrets', namespace: watch.name }],
      [controllerSA, { verb: 'list', resource: 'scaledobjects', group: GROUP, namespace: other.name }],
      [controllerSA, { verb: 'patch', resource: 'deployments', group: 'apps', namespace: watch.name }],
      [controllerSA, { verb: 'delete', resource: 'deployments', group: 'apps', namespace: watch.name }],
      [controllerSA, { verb: 'list', resource: 'pods', namespace: watch.name }],
      [controllerSA, { verb: 'create', resource: 'pods', subresource: 'exec', namespace: watch.name }],
      [
        controllerSA,
        {
          verb: 'update',
          resource: 'leases',
          group: 'coordination.k8s.io',
          namespace: release.name,
          name: 'other',
        },
      ],
      [
        controllerSA,
        { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'kube-root-ca.crt' },
      ],
      // The adapter endpoint: by name only, in the release namespace only, no list.
      ...(['get', 'update', 'delete'] as const).flatMap((verb): [string, Record<string, string>][] => [
        [
          controllerSA,
          {
            verb,
            resource: 'endpointslices',
            group: 'discovery.k8s.io',
            namespace: release.name,
            name: 'other',
          },
        ],
        [controllerSA, { verb, resource: 'endpoints', namespace: release.name, name: 'other' }],
      ]),
      [
        controllerSA,
        { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: release.name },
      ],
      [controllerSA, { verb: 'list', resource: 'endpoints', namespace: release.name }],
      [
        controllerSA,
        { verb: 'create', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: watch.name },
      ],
      [controllerSA, { verb: 'create', resource: 'endpoints', namespace: watch.name }],
      [
        activatorSA,
        { verb: 'create', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: release.name },
      ],
      [activatorSA, { verb: 'get', resource: 'secrets', namespace: watch.name }],
      [
        activatorSA,
        {
          verb: 'patch',
          resource: 'deployments',
          subresource: 'scale',
          group: 'apps',
          namespace: watch.name,
        },
      ],
    ];
    for (const [account, attrs] of denied)
      expect(await allowed(account, attrs), `${account} ${JSON.stringify(attrs)}`).toBe(false);
    // ... while the ones it needs are granted (a control for the denials above).
    const granted: [string, Record<string, string>][] = [
      [controllerSA, { verb: 'get', resource: 'secrets', namespace: watch.name }],
      [controllerSA, { verb: 'watch', resource: 'secrets', namespace: clusterObjects.name }],
      [
        controllerSA,
        {
          verb: 'patch',
          resource: 'deployments',
          subresource: 'scale',
          group: 'apps',
          namespace: watch.name,
        },
      ],
      [
        controllerSA,
        {
          verb: 'get',
          resource: 'configmaps',
          namespace: 'kube-system',
          name: 'extension-apiserver-authentication',
        },
      ],
      [
        activatorSA,
        { verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: watch.name },
      ],
      ...(['get', 'update', 'delete'] as const).flatMap((verb): [string, Record<string, string>][] => [
        [
          controllerSA,
          {
            verb,
            resource: 'endpointslices',
            group: 'discovery.k8s.io',
            namespace: release.name,
            name: `${adapterService()}-leader`,
          },
        ],
        [controllerSA, { verb, resource: 'endpoints', namespace: release.name, name: adapterService() }],
      ]),
      [
        controllerSA,
        { verb: 'create', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: release.name },
      ],
      [controllerSA, { verb: 'create', resource: 'endpoints', namespace: release.name }],
    ];
    for (const [account, attrs] of granted)
      expect(await allowed(account, attrs), `${account} ${JSON.stringify(attrs)}`).toBe(true);
  });

  it('ebb run: a graceful stop removes its EndpointSlice; the < 1.33 v1 Endpoints fit the same RBAC', async () => {
    const service = adapterService();
    const controller = processes.find((p) => p.name === 'ebb controller');
    expect(controller).toBeDefined();
    await controller?.stop(20_000);
    expect((await sliceOf(`${service}-leader`)).status).toBe(404);

    // This server reads slices, so ebb run wrote no Endpoints. ebb's writer, forced to keep them
    // as it does on Kubernetes < 1.33, under the controller's token: create, update, delete of
    // the slice and the Endpoints with exactly the chart's Role.
    const platform = kubernetesPlatform({
      kubeconfig: await kubeconfigFor(controllerSA),
      identity: 'legacy-check',
      log: silentLogger,
    });
    const endpoint = (address: string): AdapterEndpoint => ({
      namespace: release.name,
      service,
      holder: 'legacy-check',
      address,
      port: ports.adapter,
      podName: 'legacy-check',
    });
    try {
      const first = platform.adapterEndpoint(endpoint('10.213.0.8'), { legacyEndpoints: true });
      expect(await first.publish()).toEqual({ ok: true, value: 'created' });
      const eps = await endpointsOf(service);
      expect(eps.status).toBe(200);
      expect(eps.body).toMatchObject({
        metadata: { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
        subsets: [{ addresses: [{ ip: '10.213.0.8' }], ports: [{ name: 'https', port: ports.adapter }] }],
      });
      const moved = platform.adapterEndpoint(endpoint('10.213.0.9'), { legacyEndpoints: true });
      expect(await moved.publish()).toEqual({ ok: true, value: 'updated' });
      expect(await moved.withdraw()).toEqual({ ok: true, value: true });
      expect((await endpointsOf(service)).status).toBe(404);
      expect((await sliceOf(`${service}-leader`)).status).toBe(404);
    } finally {
      await platform.close();
    }
  });
});

// ---- plain HTTP(S) reads ----

const httpGet = (url: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });

const httpsGet = (
  url: string,
  tls: { ca: string; servername: string },
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
