// The chart's RBAC is enough: its ServiceAccounts, Roles and bindings (one watched namespace, so
// the run touches no other test file's objects; the ClusterRole of the default install holds the
// same rules, deploy-chart.test.ts shows) are created for real, `ebb run` and `ebb activator` are
// started as the pods would run them (the rendered args and env, the ServiceAccounts' tokens, the
// adapter certificate Secret as a mounted directory), and they lead, scale, write status, Events
// and an HPA, read the Secrets TriggerAuthentications point to, serve the adapter, keep the
// adapter Service's EndpointSlice on the leader (and remove it on a graceful stop; the < 1.33 v1
// Endpoints too, written by ebb's writer under the same token), and route a cold-start request;
// SubjectAccessReviews show what they may not do.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
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
  apply,
  byKind,
  ensureHelm,
  type K8sObject,
  one,
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
import { uniqueName, useNamespace } from '../env/testing.ts';
import {
  container,
  core,
  deployment,
  flag,
  httpGet,
  httpsGet,
  kc,
  kube,
  objects,
  paths,
  wait,
} from './deploy-setup.ts';

beforeAll(() => ensureHelm(), 900_000);

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
      args: ['--import', 'tsx', join(root, 'src/main.ts'), ...args],
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

  it('ebb activator: routes a request for a Deployment at zero and wakes it through the controller, reporting with its projected token', async () => {
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
    // It reported with the chart's projected token, which the controller's TokenReview accepted.
    const metrics = (await httpGet(`http://127.0.0.1:${ports.metrics}/metrics`)).body;
    for (const reason of ['Unauthenticated', 'ForbiddenReporter', 'TokenReviewUnavailable'])
      expect(metrics).toContain(`ebb_activator_reports_refused_total{reason="${reason}"} 0\n`);
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
      [activatorSA, { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' }],
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
      [controllerSA, { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' }],
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
