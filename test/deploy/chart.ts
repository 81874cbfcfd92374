// Helpers for test/integration/deploy-*.test.ts (not a test file itself): helm (built from its Go
// module by test/env/build-binaries.sh, cached under ~/.cache/ebb/bin), rendering the chart into
// objects, a small REST client for the test API server (server-side apply, dry run, warnings),
// and RBAC rules flattened into comparable permission strings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const root = new URL('../../', import.meta.url).pathname;
export const CHART = join(root, 'deploy', 'helm', 'ebb');
export const MANIFESTS = join(root, 'deploy', 'manifests', 'ebb.yaml');
export const HELM_VERSION = process.env.EBB_HELM_VERSION ?? 'v3.22.0';
const cache = process.env.EBB_CACHE ?? join(homedir(), '.cache', 'ebb');
export const HELM = join(cache, 'bin', `helm-${HELM_VERSION}`, 'helm');

/** Builds helm when it is not cached yet (idempotent; minutes on a cold Go cache). */
export const ensureHelm = (): void => {
  if (existsSync(HELM)) return;
  const build = spawnSync('bash', [join(root, 'test', 'env', 'build-binaries.sh'), 'helm'], {
    encoding: 'utf8',
  });
  if (build.status !== 0 || !existsSync(HELM))
    throw new Error(`building helm ${HELM_VERSION} failed:\n${build.stdout}${build.stderr}`);
};

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with a values file written from `values` (JSON is YAML). */
export const helm = (args: readonly string[], values?: unknown): HelmResult => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-helm-'));
  try {
    const extra: string[] = [];
    if (values !== undefined) {
      const file = join(dir, 'values.json');
      writeFileSync(file, JSON.stringify(values));
      extra.push('--values', file);
    }
    // A private HOME: no user repositories, plugins or caches take part.
    const env = {
      ...process.env,
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_DATA_HOME: join(dir, 'data'),
    };
    const res = spawnSync(HELM, [...args, ...extra], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** Every non-empty document of a multi-document YAML text. */
export const parseObjects = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');

export interface Render {
  readonly release: string;
  readonly namespace: string;
  readonly values: unknown;
  readonly includeCrds?: boolean;
}

/** `helm template` of the chart; throws with helm's message when it fails. */
export const renderChart = (r: Render): K8sObject[] => {
  const res = helm(
    ['template', r.release, CHART, '--namespace', r.namespace, ...(r.includeCrds ? ['--include-crds'] : [])],
    r.values,
  );
  if (res.status !== 0) throw new Error(`helm template failed (${res.status}): ${res.stderr}`);
  return parseObjects(res.stdout);
};

export const byKind = (objects: readonly K8sObject[], kind: string): K8sObject[] =>
  objects.filter((o) => o.kind === kind);

export const one = (objects: readonly K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name}, found ${found.length} in ${describe(objects)}`);
  return found[0] as K8sObject;
};

export const describe = (objects: readonly K8sObject[]): string =>
  objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ');

// ---- the pod template of a Deployment ----

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
  securityContext?: Record<string, unknown>;
  volumes?: {
    name: string;
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    configMap?: { name: string; items?: { key: string; path: string }[] };
    projected?: {
      sources: { serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string } }[];
    };
  }[];
}

export interface DeploymentLike {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export const podOf = (o: K8sObject): DeploymentLike['spec'] => (o as unknown as DeploymentLike).spec;

// ---- RBAC ----

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface Binding {
  roleRef: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/**
 * What a ServiceAccount may do through the rendered bindings, one string per (scope, group,
 * resource, names, verb): `cluster autoscaling.ebb.dev/scaledobjects list`,
 * `ns/rel coordination.k8s.io/leases[ebb-controller] get`. Bindings to roles the render does not
 * hold (bootstrap roles) appear as `binding <scope> <Kind>/<name>`.
 */
export const permissionsOf = (objects: readonly K8sObject[], namespace: string, sa: string): string[] => {
  const out = new Set<string>();
  const rolesByKey = new Map<string, Rule[]>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole' || o.kind === 'Role') {
      rolesByKey.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, (o.rules as Rule[]) ?? []);
    }
  }
  for (const o of objects) {
    if (o.kind !== 'ClusterRoleBinding' && o.kind !== 'RoleBinding') continue;
    const b = o as unknown as Binding;
    const bound = (b.subjects ?? []).some(
      (s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === namespace,
    );
    if (!bound) continue;
    const scope = o.kind === 'ClusterRoleBinding' ? 'cluster' : `ns/${o.metadata.namespace ?? ''}`;
    const roleKey =
      b.roleRef.kind === 'ClusterRole'
        ? `ClusterRole//${b.roleRef.name}`
        : `Role/${o.metadata.namespace ?? ''}/${b.roleRef.name}`;
    const rules = rolesByKey.get(roleKey);
    if (rules === undefined) {
      out.add(`binding ${scope} ${b.roleRef.kind}/${b.roleRef.name}`);
      continue;
    }
    for (const r of rules) {
      if (r.nonResourceURLs !== undefined) out.add(`${scope} nonResourceURLs ${r.nonResourceURLs.join(',')}`);
      for (const g of r.apiGroups ?? [])
        for (const res of r.resources ?? [])
          for (const v of r.verbs) {
            const names = r.resourceNames === undefined ? '' : `[${[...r.resourceNames].sort().join(',')}]`;
            out.add(`${scope} ${g}/${res}${names} ${v}`);
          }
    }
  }
  return [...out].sort();
};

/** Every rule of every (Cluster)Role in the render. */
export const allRules = (objects: readonly K8sObject[]): { role: string; rule: Rule }[] =>
  objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((o) =>
      ((o.rules as Rule[]) ?? []).map((rule) => ({ role: `${o.kind}/${o.metadata.name}`, rule })),
    );

// ---- the test API server over HTTPS ----

export interface KubeTarget {
  readonly server: string;
  readonly token: string;
  readonly caData: string;
}

export interface RestReply {
  readonly status: number;
  readonly body: unknown;
  readonly warnings: string[];
}

export const rest = (
  kube: KubeTarget,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RestReply> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, kube.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: kube.caData,
        headers: {
          authorization: `Bearer ${kube.token}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const w = res.headers.warning;
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            warnings: w === undefined ? [] : Array.isArray(w) ? w : [w],
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Maps apiVersion + kind to a REST path by discovery (cached per group/version). */
export class Paths {
  private readonly lists = new Map<string, ApiResource[]>();
  constructor(private readonly kube: KubeTarget) {}

  private async resources(apiVersion: string): Promise<ApiResource[]> {
    const cached = this.lists.get(apiVersion);
    if (cached !== undefined) return cached;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await rest(this.kube, 'GET', base);
    if (res.status !== 200) throw new Error(`discovery of ${apiVersion}: HTTP ${res.status}`);
    const list = (res.body as { resources: ApiResource[] }).resources.filter((r) => !r.name.includes('/'));
    this.lists.set(apiVersion, list);
    return list;
  }

  async of(o: K8sObject): Promise<string> {
    const r = (await this.resources(o.apiVersion)).find((x) => x.kind === o.kind);
    if (r === undefined) throw new Error(`the API server does not serve ${o.apiVersion} ${o.kind}`);
    const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    if (!r.namespaced) {
      if (o.metadata.namespace !== undefined)
        throw new Error(`${o.kind} ${o.metadata.name} is cluster-scoped but names a namespace`);
      return `${base}/${r.name}/${encodeURIComponent(o.metadata.name)}`;
    }
    if (o.metadata.namespace === undefined)
      throw new Error(`${o.kind} ${o.metadata.name} is namespaced but names no namespace`);
    return `${base}/namespaces/${o.metadata.namespace}/${r.name}/${encodeURIComponent(o.metadata.name)}`;
  }

  forget(apiVersion: string): void {
    this.lists.delete(apiVersion);
  }
}

export const FIELD_MANAGER = 'ebb-deploy-test';

/**
 * Server-side apply with strict field validation (an unknown or misspelt field is an error, not
 * a silently dropped value); `dryRun` runs admission and validation without persisting.
 */
export const apply = async (
  kube: KubeTarget,
  paths: Paths,
  o: K8sObject,
  opts: { dryRun: boolean; fieldManager?: string },
): Promise<RestReply> => {
  const query = new URLSearchParams({
    fieldManager: opts.fieldManager ?? FIELD_MANAGER,
    force: 'true',
    fieldValidation: 'Strict',
    ...(opts.dryRun ? { dryRun: 'All' } : {}),
  });
  return rest(kube, 'PATCH', `${await paths.of(o)}?${query}`, o, 'application/apply-patch+yaml');
};
