import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it, vi } from 'vitest';
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
  readScaledObject,
} from '../controller/cluster.ts';
import { openWindow } from '../controller/manifests.ts';
import { ensureHelm, type K8sObject, one, rest } from '../deploy/chart.ts';
import { waitUntil } from '../env/proc.ts';
import { chartPods } from './deploy-pods.ts';
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
  wait,
} from './deploy-setup.ts';

beforeAll(() => ensureHelm(), 900_000);

describe("the chart's RBAC runs ebb (created for real; ebb started as the pods run it)", () => {
  const pods = chartPods();

  it('ebb run: leads, scales a Deployment, writes status and Events', async () => {
    const kubeconfig = await pods.kubeconfigFor(pods.controllerSA);
    await pods.startPod('controller', kubeconfig);
    // Ready is not leading: a standby is ready too, so wait for the Lease to name a holder.
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${pods.release.name}/leases/${flag(container(deployment(pods.objs, 'controller')), 'lease-name')}`;
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

    await createDeployment(kc, pods.watch.name, 'web', 0);
    // restoreToOriginalReplicaCount: ebb keeps a finalizer on it (a patch of the object).
    await createScaledObject(kc, pods.watch.name, 'web', {
      triggers: [{ type: 'cron', metadata: openWindow(3) }],
      spec: { advanced: { restoreToOriginalReplicaCount: true } },
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, pods.watch.name, 'web')).toBe(3), wait);
    await vi.waitFor(async () => {
      const so = await readScaledObject(kc, pods.watch.name, 'web');
      expect(conditionOf(so, 'Ready')?.status).toBe('True');
      expect(so.finalizers.length).toBeGreaterThan(0);
      expect(
        (await listEvents(kc, pods.watch.name)).filter((e) => e.regarding === 'ScaledObject/web'),
      ).not.toEqual([]);
    }, wait);
  });

  it("ebb run: the leader keeps the adapter Service's EndpointSlice `<name>-leader`, naming its pod", async () => {
    const ctl = deployment(pods.objs, 'controller');
    const service = flag(container(ctl), 'adapter-service') ?? '';
    expect(service).toBe(pods.adapterService());
    const lease = await rest(
      kube,
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${pods.release.name}/leases/${flag(container(ctl), 'lease-name')}`,
    );
    const holder = (lease.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
    expect(holder).toBeTruthy();
    await vi.waitFor(async () => {
      const res = await pods.sliceOf(`${service}-leader`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        metadata: {
          labels: { 'kubernetes.io/service-name': service },
          annotations: { [HOLDER_ANNOTATION]: holder },
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: [pods.POD_IP],
            conditions: { ready: true },
            targetRef: { kind: 'Pod', name: `${ctl.metadata.name}-0`, namespace: pods.release.name },
          },
        ],
        // The Service's port name: how the aggregator and kube-proxy match the two.
        ports: [{ name: 'https', port: pods.ports.adapter, protocol: 'TCP' }],
      });
    }, wait);
    // Found by the Service's label, as the aggregator and kube-proxy find it: the leader's only.
    const list = await rest(
      kube,
      'GET',
      `/apis/discovery.k8s.io/v1/namespaces/${pods.release.name}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
    );
    expect((list.body as { items: K8sObject[] }).items.map((i) => i.metadata.name)).toEqual([
      `${service}-leader`,
    ]);
    // Kubernetes 1.33 and later (this server): the aggregator reads slices, so no v1 Endpoints.
    expect((await pods.endpointsOf(service)).status).toBe(404);
  });

  it('ebb run: HPA mode creates its HorizontalPodAutoscaler', async () => {
    await createDeployment(kc, pods.watch.name, 'api', 1);
    await createScaledObject(kc, pods.watch.name, 'api', {
      annotations: { [SCALING_MODE]: 'hpa' },
      triggers: [{ type: 'cron', metadata: openWindow(3) }],
    });
    await vi.waitFor(async () => {
      const res = await rest(
        kube,
        'GET',
        `/apis/autoscaling/v2/namespaces/${pods.watch.name}/horizontalpodautoscalers/ebb-hpa-api`,
      );
      expect(res.status).toBe(200);
    }, wait);
  });

  it('ebb run: reads the Secrets a TriggerAuthentication and a ClusterTriggerAuthentication point to', async () => {
    // The host points at a closed port: reading the Secret succeeds, the broker read fails, so
    // the ScaledObject says TriggerError. Without the RBAC it would say AuthenticationError.
    const host = Buffer.from('amqp://user:pass@127.0.0.1:1/vhost').toString('base64');
    await core.createNamespacedSecret({
      namespace: pods.watch.name,
      body: { metadata: { name: 'rabbit' }, data: { host } },
    });
    await core.createNamespacedSecret({
      namespace: pods.clusterObjects.name,
      body: { metadata: { name: 'rabbit' }, data: { host } },
    });
    const spec = { secretTargetRef: [{ parameter: 'host', name: 'rabbit', key: 'host' }] };
    await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: pods.watch.name,
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
        metadata: { name: pods.ctaName },
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
    await createDeployment(kc, pods.watch.name, 'orders', 0);
    await createScaledObject(kc, pods.watch.name, 'orders', { triggers: rabbit({ name: 'rabbit' }) });
    await createDeployment(kc, pods.watch.name, 'billing', 0);
    await createScaledObject(kc, pods.watch.name, 'billing', {
      triggers: rabbit({ name: pods.ctaName, kind: 'ClusterTriggerAuthentication' }),
    });
    for (const name of ['orders', 'billing']) {
      await vi.waitFor(async () => {
        const ready = conditionOf(await readScaledObject(kc, pods.watch.name, name), 'Ready');
        expect(ready, name).toMatchObject({ status: 'False', reason: 'TriggerError' });
      }, wait);
    }
  });

  it("ebb run: serves the adapter with the chart's certificate, which the APIService's caBundle verifies", async () => {
    const api = one(pods.objs, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as {
      caBundle: string;
      service: { name: string; namespace: string };
    };
    const reply = await httpsGet(`https://127.0.0.1:${pods.ports.adapter}/readyz`, {
      ca: Buffer.from(api.caBundle, 'base64').toString('utf8'),
      servername: `${api.service.name}.${api.service.namespace}.svc`,
    });
    expect(reply).toEqual({ status: 200, body: 'ok' });
  });

  it('ebb activator: routes a request for a Deployment at zero and wakes it through the controller, reporting with its projected token', async () => {
    const kubeconfig = await pods.kubeconfigFor(pods.activatorSA);
    await pods.startPod('activator', kubeconfig);
    await core.createNamespacedService({
      namespace: pods.watch.name,
      body: {
        metadata: { name: 'shop' },
        spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await createDeployment(kc, pods.watch.name, 'shop', 0);
    await createScaledObject(kc, pods.watch.name, 'shop', {
      spec: { pollingInterval: 30, cooldownPeriod: 300 },
      triggers: [{ type: 'http', metadata: { hosts: 'shop.example.test', service: 'shop', port: '80' } }],
    });
    // 404 until the activator has the route; then the request is held and the poke scales 0 -> 1.
    const held: { abort(): void }[] = [];
    try {
      await vi.waitFor(async () => {
        const status = await new Promise<number | 'held'>((resolve) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: pods.ports.proxy, path: '/', headers: { host: 'shop.example.test' } },
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
        expect(await deploymentReplicas(kc, pods.watch.name, 'shop')).toBe(1);
      }, wait);
    } finally {
      for (const h of held) h.abort();
    }
    // It reported with the chart's projected token, which the controller's TokenReview accepted.
    const metrics = (await httpGet(`http://127.0.0.1:${pods.ports.metrics}/metrics`)).body;
    for (const reason of ['Unauthenticated', 'ForbiddenReporter', 'TokenReviewUnavailable'])
      expect(metrics).toContain(`ebb_activator_reports_refused_total{reason="${reason}"} 0\n`);
  });

  it('and no more: SubjectAccessReviews deny what ebb does not need', async () => {
    const denied: [string, Record<string, string>][] = [
      [pods.controllerSA, { verb: 'get', resource: 'secrets', namespace: pods.other.name }],
      [pods.controllerSA, { verb: 'list', resource: 'secrets' }],
      [pods.controllerSA, { verb: 'create', resource: 'secrets', namespace: pods.watch.name }],
      [
        pods.controllerSA,
        { verb: 'list', resource: 'scaledobjects', group: GROUP, namespace: pods.other.name },
      ],
      [
        pods.controllerSA,
        { verb: 'patch', resource: 'deployments', group: 'apps', namespace: pods.watch.name },
      ],
      [
        pods.controllerSA,
        { verb: 'delete', resource: 'deployments', group: 'apps', namespace: pods.watch.name },
      ],
      [pods.controllerSA, { verb: 'list', resource: 'pods', namespace: pods.watch.name }],
      [
        pods.controllerSA,
        { verb: 'create', resource: 'pods', subresource: 'exec', namespace: pods.watch.name },
      ],
      [
        pods.controllerSA,
        {
          verb: 'update',
          resource: 'leases',
          group: 'coordination.k8s.io',
          namespace: pods.release.name,
          name: 'other',
        },
      ],
      [
        pods.controllerSA,
        { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'kube-root-ca.crt' },
      ],
      // The adapter endpoint: by name only, in the release namespace only, no list.
      ...(['get', 'update', 'delete'] as const).flatMap((verb): [string, Record<string, string>][] => [
        [
          pods.controllerSA,
          {
            verb,
            resource: 'endpointslices',
            group: 'discovery.k8s.io',
            namespace: pods.release.name,
            name: 'other',
          },
        ],
        [pods.controllerSA, { verb, resource: 'endpoints', namespace: pods.release.name, name: 'other' }],
      ]),
      [
        pods.controllerSA,
        { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: pods.release.name },
      ],
      [pods.controllerSA, { verb: 'list', resource: 'endpoints', namespace: pods.release.name }],
      [
        pods.controllerSA,
        { verb: 'create', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: pods.watch.name },
      ],
      [pods.controllerSA, { verb: 'create', resource: 'endpoints', namespace: pods.watch.name }],
      [
        pods.activatorSA,
        {
          verb: 'create',
          resource: 'endpointslices',
          group: 'discovery.k8s.io',
          namespace: pods.release.name,
        },
      ],
      [pods.activatorSA, { verb: 'get', resource: 'secrets', namespace: pods.watch.name }],
      [pods.activatorSA, { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' }],
      [
        pods.activatorSA,
        {
          verb: 'patch',
          resource: 'deployments',
          subresource: 'scale',
          group: 'apps',
          namespace: pods.watch.name,
        },
      ],
    ];
    for (const [account, attrs] of denied)
      expect(await pods.allowed(account, attrs), `${account} ${JSON.stringify(attrs)}`).toBe(false);
    // ... while the ones it needs are granted (a control for the denials above).
    const granted: [string, Record<string, string>][] = [
      [pods.controllerSA, { verb: 'get', resource: 'secrets', namespace: pods.watch.name }],
      [pods.controllerSA, { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' }],
      [pods.controllerSA, { verb: 'watch', resource: 'secrets', namespace: pods.clusterObjects.name }],
      [
        pods.controllerSA,
        {
          verb: 'patch',
          resource: 'deployments',
          subresource: 'scale',
          group: 'apps',
          namespace: pods.watch.name,
        },
      ],
      [
        pods.controllerSA,
        {
          verb: 'get',
          resource: 'configmaps',
          namespace: 'kube-system',
          name: 'extension-apiserver-authentication',
        },
      ],
      [
        pods.activatorSA,
        { verb: 'watch', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: pods.watch.name },
      ],
      ...(['get', 'update', 'delete'] as const).flatMap((verb): [string, Record<string, string>][] => [
        [
          pods.controllerSA,
          {
            verb,
            resource: 'endpointslices',
            group: 'discovery.k8s.io',
            namespace: pods.release.name,
            name: `${pods.adapterService()}-leader`,
          },
        ],
        [
          pods.controllerSA,
          { verb, resource: 'endpoints', namespace: pods.release.name, name: pods.adapterService() },
        ],
      ]),
      [
        pods.controllerSA,
        {
          verb: 'create',
          resource: 'endpointslices',
          group: 'discovery.k8s.io',
          namespace: pods.release.name,
        },
      ],
      [pods.controllerSA, { verb: 'create', resource: 'endpoints', namespace: pods.release.name }],
    ];
    for (const [account, attrs] of granted)
      expect(await pods.allowed(account, attrs), `${account} ${JSON.stringify(attrs)}`).toBe(true);
  });

  it('ebb run: a graceful stop removes its EndpointSlice; the < 1.33 v1 Endpoints fit the same RBAC', async () => {
    const service = pods.adapterService();
    const controller = pods.processes.find((p) => p.name === 'ebb controller');
    expect(controller).toBeDefined();
    await controller?.stop(20_000);
    expect((await pods.sliceOf(`${service}-leader`)).status).toBe(404);

    // This server reads slices, so ebb run wrote no Endpoints. ebb's writer, forced to keep them
    // as it does on Kubernetes < 1.33, under the controller's token: create, update, delete of
    // the slice and the Endpoints with exactly the chart's Role.
    const platform = kubernetesPlatform({
      kubeconfig: await pods.kubeconfigFor(pods.controllerSA),
      identity: 'legacy-check',
      log: silentLogger,
    });
    const endpoint = (address: string): AdapterEndpoint => ({
      namespace: pods.release.name,
      service,
      holder: 'legacy-check',
      address,
      port: pods.ports.adapter,
      podName: 'legacy-check',
    });
    try {
      const first = platform.adapterEndpoint(endpoint('10.213.0.8'), { legacyEndpoints: true });
      expect(await first.publish()).toEqual({ ok: true, value: 'created' });
      const eps = await pods.endpointsOf(service);
      expect(eps.status).toBe(200);
      expect(eps.body).toMatchObject({
        metadata: { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
        subsets: [
          { addresses: [{ ip: '10.213.0.8' }], ports: [{ name: 'https', port: pods.ports.adapter }] },
        ],
      });
      const moved = platform.adapterEndpoint(endpoint('10.213.0.9'), { legacyEndpoints: true });
      expect(await moved.publish()).toEqual({ ok: true, value: 'updated' });
      expect(await moved.withdraw()).toEqual({ ok: true, value: true });
      expect((await pods.endpointsOf(service)).status).toBe(404);
      expect((await pods.sliceOf(`${service}-leader`)).status).toBe(404);
    } finally {
      await platform.close();
    }
  });
});

// ---- plain HTTP(S) reads ----
