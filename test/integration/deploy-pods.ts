// The stage of deploy-run.test.ts: the chart rendered for one release with one watched
// namespace, its CRDs, ServiceAccounts, Roles and bindings and the adapter's Service created for
// real, and `startPod`, which runs a Deployment's container here as its pod would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { GROUP, VERSION } from '../../src/api/scaledobject.ts';
import { apply, byKind, type K8sObject, one, podOf, renderChart, rest, root } from '../deploy/chart.ts';
import {
  freePorts,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  startProcess,
  waitUntil,
} from '../env/proc.ts';
import { uniqueName, useNamespace } from '../env/testing.ts';
import { container, deployment, flag, httpGet, kube, objects, paths, wait } from './deploy-setup.ts';

/** Call inside a describe: registers its beforeAll/afterAll and hands back the stage. */
export const chartPods = () => {
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
   * Secret and projected ServiceAccount token volumes written to a directory that stands in for
   * their mount path, the ServiceAccount's token as the identity.
   */
  const startPod = async (component: string, kubeconfig: string): Promise<ManagedProcess> => {
    const d = deployment(objs, component);
    const pod = podOf(d).template.spec;
    const c = container(d);
    let args = [...(c.args ?? [])];
    for (const m of c.volumeMounts ?? []) {
      const volume = pod.volumes?.find((v) => v.name === m.name);
      const local = join(dir, component, m.name);
      if (volume?.secret !== undefined) {
        const data = one(objs, 'Secret', volume.secret.secretName).data as Record<string, string>;
        mkdirSync(local, { recursive: true });
        for (const item of volume.secret.items ?? [])
          writeFileSync(join(local, item.path), Buffer.from(data[item.key] ?? '', 'base64'));
      } else if (volume?.projected !== undefined) {
        // A projected ServiceAccount token, as the kubelet writes it: issued for the pod's
        // ServiceAccount with the volume's audience and lifetime.
        mkdirSync(local, { recursive: true });
        for (const { serviceAccountToken: t } of volume.projected.sources) {
          if (t === undefined) continue;
          const res = await rest(
            kube,
            'POST',
            `/api/v1/namespaces/${release.name}/serviceaccounts/${pod.serviceAccountName}/token`,
            {
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'TokenRequest',
              spec: {
                audiences: t.audience === undefined ? [] : [t.audience],
                expirationSeconds: t.expirationSeconds ?? 3600,
              },
            },
          );
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          writeFileSync(join(local, t.path), (res.body as { status: { token: string } }).status.token);
        }
      } else continue;
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
          // Rendered into --trusted-proxies, which the real `ebb activator` below must accept.
          trustedProxies: ['127.0.0.0/8', '::1'],
        },
      },
    });
    const crds = byKind(objs, 'CustomResourceDefinition');
    expect(crds).toHaveLength(3);
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
    // Two ServiceAccounts and their roles and bindings at least: the run proves nothing without.
    expect(created.filter((o) => o.kind === 'ServiceAccount')).toHaveLength(2);
    expect(created.length).toBeGreaterThan(4);
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

  return {
    release,
    watch,
    clusterObjects,
    other,
    ctaName,
    processes,
    POD_IP,
    get objs() {
      return objs;
    },
    get ports() {
      return ports;
    },
    get controllerSA() {
      return controllerSA;
    },
    get activatorSA() {
      return activatorSA;
    },
    adapterService,
    sliceOf,
    endpointsOf,
    kubeconfigFor,
    startPod,
    allowed,
  };
};
