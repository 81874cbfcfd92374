// What the deploy tests share (deploy-chart, deploy-apply and deploy-run.test.ts): the API
// server connection, the chart's values sets and the RBAC each one must render, the flags every
// ebb command accepts, and plain HTTP(S) reads.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'vitest';
import {
  byKind,
  CHART,
  type Container,
  type K8sObject,
  Paths,
  podOf,
  renderChart,
  root,
} from '../deploy/chart.ts';
import { kubeConfig, kubeConnection } from '../env/testing.ts';

export const kube = kubeConnection();
export const kc = kubeConfig();
export const core = kc.makeApiClient(CoreV1Api);
export const objects = kc.makeApiClient(CustomObjectsApi);
export const paths = new Paths(kube);
export const wait = { timeout: 45_000, interval: 250 };

export const chartYaml = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
export const appVersion = /^appVersion:\s*"?([^"\n]+)"?/m.exec(chartYaml)?.[1];
export const packageVersion = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
).version;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
export const dockerUid = Number(/^USER\s+(\d+)/m.exec(dockerfile)?.[1]);
/** The image's ENTRYPOINT (exec form): `node src/main.js`. */
export const dockerEntrypoint = JSON.parse(/^ENTRYPOINT\s+(.*)$/m.exec(dockerfile)?.[1] ?? '[]') as string[];

// ---- values sets ----

export interface Names {
  readonly release: string;
  readonly watch: string;
  readonly clusterObjects: string;
}

/** Every values set is linted, rendered, checked and dry-run applied. */
export const VALUE_SETS: Record<string, (n: Names) => Record<string, unknown>> = {
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
    activator: {
      replicas: 3,
      service: { type: 'NodePort' },
      trustedProxies: ['10.244.0.0/16', 'fd00::/8'],
      nodeFlags: [],
    },
    controller: { podAnnotations: { 'prometheus.io/scrape': 'true' }, logLevel: 'debug', nodeFlags: [] },
    rbac: { extraWatchedScaleTargets: [{ apiGroups: ['argoproj.io'], resources: ['rollouts'] }] },
  }),
  'runtime certificate (as the plain manifests)': () => ({ adapter: { certificate: { source: 'runtime' } } }),
  'reports unauthenticated, no NetworkPolicy': () => ({
    reports: { auth: 'none' },
    networkPolicy: { enabled: false },
  }),
  'activator TLS from Secrets in two namespaces': (n) => ({
    activator: {
      tls: {
        enabled: true,
        secrets: ['shop-tls', `${n.watch}/a-tls`, `${n.watch}/b-tls`],
        minVersion: 'TLSv1.3',
        ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
      },
    },
  }),
  'activator backend CA, tracing': () => ({
    activator: {
      backendTls: { caConfigMap: { name: 'service-ca', key: 'service-ca.crt' } },
      otlpEndpoint: 'http://otel-collector.observability:4318',
      otelEnv: { OTEL_SERVICE_NAME: 'edge-activator', OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=a' },
    },
  }),
  'activator backend TLS insecure': () => ({ activator: { backendTls: { insecure: true } } }),
};

export const OFFLINE: Names = { release: 'ebb-system', watch: 'team-a', clusterObjects: 'ebb-auth' };
export const render = (set: string, n: Names = OFFLINE, release = 'ebb') =>
  renderChart({ release, namespace: n.release, values: VALUE_SETS[set]?.(n) ?? {} });

// ---- small readers of rendered objects ----

export const deployment = (objs: readonly K8sObject[], component: string) => {
  const found = byKind(objs, 'Deployment').filter(
    (d) => podOf(d).template.metadata.labels['app.kubernetes.io/component'] === component,
  );
  expect(found, `one ${component} Deployment`).toHaveLength(1);
  return found[0] as K8sObject;
};
export const container = (d: K8sObject): Container => {
  const c = podOf(d).template.spec.containers;
  expect(c).toHaveLength(1);
  return c[0] as Container;
};
/** `--name=value` → value; `--name` → ''; absent → undefined (the last one wins, as in commander). */
export const flag = (c: Container, name: string): string | undefined => {
  let found: string | undefined;
  for (const a of c.args ?? []) {
    if (a === `--${name}`) found = '';
    else if (a.startsWith(`--${name}=`)) found = a.slice(name.length + 3);
  }
  return found;
};
export const portNamed = (c: Container, name: string | number) =>
  typeof name === 'number' ? name : c.ports?.find((p) => p.name === name)?.containerPort;
export const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// ---- what ebb's requests need (src/platform/kubernetes/*.ts), as permissionsOf strings ----

export const verbs = (prefix: string, ...vs: string[]) => vs.map((v) => `${prefix} ${v}`);
export const controllerNamespaced = (scope: string, adapter: boolean) => [
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
export const secretsIn = (scope: string) => verbs(`${scope} /secrets`, 'get', 'list', 'watch');
export const activatorNamespaced = (scope: string) => [
  ...verbs(`${scope} autoscaling.ebb.dev/scaledobjects`, 'list', 'watch'),
  ...verbs(`${scope} /services`, 'list', 'watch'),
  ...verbs(`${scope} discovery.k8s.io/endpointslices`, 'list', 'watch'),
];
export const leases = (ns: string, lease = 'ebb-controller') => [
  `ns/${ns} coordination.k8s.io/leases create`,
  ...verbs(`ns/${ns} coordination.k8s.io/leases[${lease}]`, 'get', 'update'),
];
/** The annotation on the chart-made certificate Secret naming the Service it was made for. */
export const CERT_MADE_FOR = 'autoscaling.ebb.dev/adapter-service';
export const AUTH_READER = 'binding ns/kube-system Role/extension-apiserver-authentication-reader';
/** The adapter Service of release `ebb` (fullname "ebb"). */
export const ADAPTER_SERVICE = 'ebb-metrics-adapter';
/** The leader's EndpointSlice and (Kubernetes < 1.33) Endpoints: create, and the rest by name only. */
export const adapterEndpoint = (ns: string, service = ADAPTER_SERVICE) => [
  `ns/${ns} discovery.k8s.io/endpointslices create`,
  ...verbs(`ns/${ns} discovery.k8s.io/endpointslices[${service}-leader]`, 'get', 'update', 'delete'),
  `ns/${ns} /endpoints create`,
  ...verbs(`ns/${ns} /endpoints[${service}]`, 'get', 'update', 'delete'),
];

/** The activators' report tokens are checked with TokenReviews (src/platform/kubernetes/token-review.ts). */
export const TOKEN_REVIEWS = 'cluster authentication.k8s.io/tokenreviews create';

/** The controller's and the activator's permissions each values set must render, exactly. */
export const EXPECTED: Record<string, (n: Names) => { controller: string[]; activator: string[] }> = {
  defaults: (n) => ({
    controller: [
      TOKEN_REVIEWS,
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
      TOKEN_REVIEWS,
      ...verbs('cluster autoscaling.ebb.dev/clustertriggerauthentications', 'list', 'watch'),
      ...controllerNamespaced('cluster', false),
      ...leases(n.release),
    ],
    activator: [],
  }),
  'one namespace, cluster objects elsewhere, certificate from a Secret': (n) => ({
    controller: [
      TOKEN_REVIEWS,
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
  'reports unauthenticated, no NetworkPolicy': (n) => {
    const defaults = EXPECTED.defaults?.(n) ?? { controller: [], activator: [] };
    return { ...defaults, controller: defaults.controller.filter((p) => p !== TOKEN_REVIEWS) };
  },
  // The TLS Secrets by name, in their own namespaces, and no other Secret.
  'activator TLS from Secrets in two namespaces': (n) => {
    const defaults = EXPECTED.defaults?.(n) ?? { controller: [], activator: [] };
    return {
      ...defaults,
      activator: [
        ...defaults.activator,
        ...verbs(`ns/${n.release} /secrets[shop-tls]`, 'get', 'list', 'watch'),
        ...verbs(`ns/${n.watch} /secrets[a-tls,b-tls]`, 'get', 'list', 'watch'),
      ],
    };
  },
  // A ConfigMap mounted by the kubelet: no API access for it.
  'activator backend CA, tracing': (n) => EXPECTED.defaults?.(n) ?? { controller: [], activator: [] },
  'activator backend TLS insecure': (n) => EXPECTED.defaults?.(n) ?? { controller: [], activator: [] },
};

// ---- flags the ebb commands accept, from their --help ----

export const helpFlags = new Map<string, Map<string, boolean>>();
/** Flag → takes a value, for `ebb <command>`. */
export const flagsOf = (command: string): Map<string, boolean> => {
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

// ---- plain HTTP(S) reads ----

export const httpGet = (url: string): Promise<{ status: number; body: string }> =>
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

export const httpsGet = (
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
