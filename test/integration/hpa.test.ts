// HPA mode end to end against real servers: ebb's controller (with its external-metrics adapter on
// 127.0.0.1) behind the real kube-apiserver's aggregation layer, a real kube-controller-manager
// (HPA, deployment, replicaset, garbage collector, namespace controllers) and a real RabbitMQ
// node. The APIService v1beta1.external.metrics.k8s.io points at an ExternalName Service whose
// externalName is `localhost` (the test proves the aggregator reaches the adapter that way); the
// aggregator authenticates with its front-proxy client certificate, which the adapter verifies
// against the requestheader CA it read from kube-system/extension-apiserver-authentication.
//
// A RabbitMQ backlog → ebb's poll → the adapter → the aggregator → the real HPA, which sets the
// Deployment's replicas; a purge brings them down again (the HPA to minReplicaCount, ebb's own
// step to 0 after the cooldown); a trigger that cannot be read gets fallback.replicas, which ebb
// writes because the HPA cannot read that metric. No kubelet: the HPA's AverageValue external metrics need only
// the scale subresource's status.replicas, which counts the Pods the ReplicaSet controller made.
import { dirname } from 'node:path';
import {
  ApiException,
  ApiregistrationV1Api,
  AutoscalingV2Api,
  CoordinationV1Api,
  CoreV1Api,
  V1MicroTime,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SCALING_MODE } from '../../src/api/annotations.ts';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createDeployment,
  createScaledObject,
  deleteScaledObject,
  deploymentReplicas,
  installCrd,
  listEvents,
  patchScaledObject,
  readScaledObject,
} from '../controller/cluster.ts';
import type { ControllerManager } from '../env/kube.ts';
import { publishMessages, purgeQueue, rabbitmqAdmin } from '../env/rabbitmq.ts';
import {
  createNamespace,
  kubeConfig,
  kubeConnection,
  rabbitmqConnection,
  startControllerManager,
  type TestNamespace,
  uniqueName,
} from '../env/testing.ts';
import { adapterRequest, apiServerRequest, frontProxyClient, otherClientCert } from './hpa-http.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const registration = kc.makeApiClient(ApiregistrationV1Api);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const rabbit = rabbitmqConnection();
const vhost = uniqueName('ebb-hpa');
const vhostPath = encodeURIComponent(vhost);
const API_SERVICE = 'v1beta1.external.metrics.k8s.io';
const ADAPTER_SERVICE = 'ebb-metrics-adapter';
const wait = { timeout: 60_000, interval: 500 };
const hpaWait = { timeout: 120_000, interval: 500 };

let ns: TestNamespace;
let running: RunningController;
let kcm: ControllerManager | undefined;
let adapterPort = 0;

const publish = (queue: string, count: number) => publishMessages(rabbit, vhost, queue, count);
const purge = (queue: string) => purgeQueue(rabbit, vhost, queue);

/** A ScaledObject in HPA mode on Deployment `name`, one RabbitMQ QueueLength trigger (value 10). */
const hpaScaledObject = (name: string, spec: Record<string, unknown>) =>
  createScaledObject(kc, ns.name, name, {
    annotations: { [SCALING_MODE]: 'hpa' },
    triggers: [
      {
        type: 'rabbitmq',
        name: 'queue',
        metadata: {
          host: `${rabbit.amqpUrl}/${vhostPath}`,
          protocol: 'amqp',
          queueName: name,
          mode: 'QueueLength',
          value: '10',
        },
      },
    ],
    spec,
  });

const readHpa = async (name: string): Promise<V2HorizontalPodAutoscaler | undefined> => {
  try {
    return await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: ns.name, name });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
};

const hpaCondition = (hpa: V2HorizontalPodAutoscaler | undefined, type: string) =>
  hpa?.status?.conditions?.find((c) => c.type === type);

/** The HPA controller's own Events (core/v1, reportingController unset) on `hpa`. */
const rescales = async (hpa: string) =>
  (await listEvents(kc, ns.name))
    .filter((e) => e.regarding === `HorizontalPodAutoscaler/${hpa}` && e.reason === 'SuccessfulRescale')
    .map((e) => e.note);

/** One line describing the HPA and the Deployment, for failure messages. */
const describeState = async (name: string, hpaName: string): Promise<string> => {
  const hpa = await readHpa(hpaName);
  return JSON.stringify({
    replicas: await deploymentReplicas(kc, ns.name, name),
    hpaStatus: hpa?.status,
    ready: conditionOf(await readScaledObject(kc, ns.name, name), 'Ready'),
  });
};

beforeAll(async () => {
  ns = await createNamespace('hpa', kc);
  await installCrd(kc);
  await rabbitmqAdmin(rabbit, `/api/vhosts/${vhostPath}`, { method: 'PUT', body: '{}' });
  await rabbitmqAdmin(rabbit, `/api/permissions/${vhostPath}/${encodeURIComponent(rabbit.username)}`, {
    method: 'PUT',
    body: JSON.stringify({ configure: '.*', write: '.*', read: '.*' }),
  });
  // The adapter reads the requestheader CA from kube-system/extension-apiserver-authentication.
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    healthPort: 0,
    adapterPort: 0,
    adapterAddress: '127.0.0.1',
  });
  adapterPort = Number(new URL(running.adapterUrl ?? 'https://invalid').port);
  expect(adapterPort).toBeGreaterThan(0);
  // The aggregator resolves an ExternalName Service to `<externalName>:<APIService port>`.
  await core.createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name: ADAPTER_SERVICE },
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ port: adapterPort }] },
    },
  });
  await registration.createAPIService({
    body: {
      metadata: { name: API_SERVICE },
      spec: {
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        service: { namespace: ns.name, name: ADAPTER_SERVICE, port: adapterPort },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  });
  kcm = await startControllerManager();
});

afterAll(async () => {
  // The APIService first: an unavailable aggregated API stalls namespace deletion and discovery.
  await registration.deleteAPIService({ name: API_SERVICE }).catch(() => {});
  await running?.stop();
  await ns?.delete();
  await kcm?.stop();
  await rabbitmqAdmin(rabbit, `/api/vhosts/${vhostPath}`, { method: 'DELETE' }).catch(() => {});
});

describe('the adapter behind the aggregation layer', () => {
  it('is Available through an ExternalName Service to localhost', async () => {
    await vi.waitFor(async () => {
      const api = await registration.readAPIService({ name: API_SERVICE });
      const available = api.status?.conditions?.find((c) => c.type === 'Available');
      expect(available, JSON.stringify(api.status)).toMatchObject({ status: 'True', reason: 'Passed' });
    }, wait);
  });

  // The aggregator resolves an ExternalName Service to `<externalName>:<port>` (k8s.io/apiserver
  // ResolveCluster) and Service validation takes an IP there as a DNS subdomain: a probe group
  // the adapter does not serve gets the adapter's own 404 back, so 127.0.0.1 reaches it as well
  // (and the availability check's front-proxy certificate passed its authentication first).
  it('an ExternalName of 127.0.0.1 reaches the adapter too (probe APIService)', async () => {
    const probe = 'v1alpha1.probe.ebb.dev';
    await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'probe-by-ip' },
        spec: { type: 'ExternalName', externalName: '127.0.0.1', ports: [{ port: adapterPort }] },
      },
    });
    await registration.createAPIService({
      body: {
        metadata: { name: probe },
        spec: {
          group: 'probe.ebb.dev',
          version: 'v1alpha1',
          service: { namespace: ns.name, name: 'probe-by-ip', port: adapterPort },
          insecureSkipTLSVerify: true,
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    });
    try {
      await vi.waitFor(async () => {
        const api = await registration.readAPIService({ name: probe });
        const available = api.status?.conditions?.find((c) => c.type === 'Available');
        expect(available).toMatchObject({ status: 'False', reason: 'FailedDiscoveryCheck' });
        expect(available?.message).toContain(
          `bad status from https://127.0.0.1:${adapterPort}/apis/probe.ebb.dev/v1alpha1: 404`,
        );
      }, wait);
    } finally {
      await registration.deleteAPIService({ name: probe });
    }
  });

  it('serves discovery through kube-apiserver, and the API server’s /openapi does not fail', async () => {
    const group = await apiServerRequest('/apis/external.metrics.k8s.io');
    expect(group.status).toBe(200);
    expect(JSON.parse(group.body)).toMatchObject({ kind: 'APIGroup', name: 'external.metrics.k8s.io' });
    const resources = await apiServerRequest('/apis/external.metrics.k8s.io/v1beta1');
    expect(resources.status).toBe(200);
    expect(JSON.parse(resources.body)).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
    });
    // The aggregator merges every APIService's OpenAPI: the adapter's 404 means "none".
    for (const path of ['/openapi/v2', '/openapi/v3']) {
      const res = await apiServerRequest(path);
      expect(res.status, `${path}: ${res.body.slice(0, 300)}`).toBe(200);
    }
    const v3 = JSON.parse((await apiServerRequest('/openapi/v3')).body) as {
      paths?: Record<string, unknown>;
    };
    expect(Object.keys(v3.paths ?? {})).not.toContain('apis/external.metrics.k8s.io/v1beta1');
  });

  it('refuses a direct request without the front-proxy client certificate (401)', async () => {
    const none = await adapterRequest(adapterPort, '/apis/external.metrics.k8s.io/v1beta1');
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    // A certificate from another CA is no better.
    const foreign = await adapterRequest(adapterPort, '/apis/external.metrics.k8s.io/v1beta1', {
      ...(await otherClientCert()),
      headers: { 'X-Remote-User': 'system:admin' },
    });
    expect(foreign.status).toBe(401);
    // The aggregator's certificate without a user name: still refused.
    const client = await frontProxyClient(dirname(kubeConnection().kubeconfigPath));
    const anonymous = await adapterRequest(adapterPort, '/apis/external.metrics.k8s.io/v1beta1', client);
    expect(anonymous.status).toBe(401);
    const named = await adapterRequest(adapterPort, '/apis/external.metrics.k8s.io/v1beta1', {
      ...client,
      headers: { 'X-Remote-User': 'system:kube-aggregator' },
    });
    expect(named.status).toBe(200);
  });

  it('answers /openapi/* and unknown paths with 404, never 500', async () => {
    const client = {
      ...(await frontProxyClient(dirname(kubeConnection().kubeconfigPath))),
      headers: { 'X-Remote-User': 'system:kube-aggregator' },
    };
    for (const path of ['/openapi/v2', '/openapi/v3', '/openapi/v3/apis/external.metrics.k8s.io/v1beta1']) {
      for (const options of [{}, client]) {
        const res = await adapterRequest(adapterPort, path, options);
        expect(res.status, path).toBe(404);
      }
    }
    for (const path of ['/unknown', '/apis/external.metrics.k8s.io/v1beta1/nodes/x', '/apis/other.group']) {
      const res = await adapterRequest(adapterPort, path, client);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    }
    const noSelector = await adapterRequest(
      adapterPort,
      `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-rabbitmq-x`,
      client,
    );
    expect(noSelector.status).toBe(400);
    expect((await adapterRequest(adapterPort, '/readyz')).status).toBe(200);
    // The process's own /readyz includes the freshness of the adapter's readings.
    const ready = await fetch(`${running.healthUrl}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('[+]readings ok');
  });

  it('a standby replica (leader election) answers metric reads 503, not the leader', async () => {
    // Another identity holds the Lease, so this second controller stays a standby.
    await coordination.createNamespacedLease({
      namespace: ns.name,
      body: {
        metadata: { name: 'ebb-standby-test' },
        spec: {
          holderIdentity: 'someone-else',
          leaseDurationSeconds: 3600,
          acquireTime: new V1MicroTime(),
          renewTime: new V1MicroTime(),
        },
      },
    });
    const standby = await runController({
      kubeconfig: kubeConnection().kubeconfigPath,
      namespace: ns.name,
      log: silentLogger,
      leaderElect: true,
      leaseName: 'ebb-standby-test',
      adapterPort: 0,
      adapterAddress: '127.0.0.1',
    });
    try {
      expect(standby.isLeader()).toBe(false);
      const port = Number(new URL(standby.adapterUrl ?? 'https://invalid').port);
      const client = {
        ...(await frontProxyClient(dirname(kubeConnection().kubeconfigPath))),
        headers: { 'X-Remote-User': 'system:kube-aggregator' },
      };
      const res = await adapterRequest(
        port,
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-rabbitmq-x?labelSelector=autoscaling.ebb.dev%2Fscaledobject%3Dx`,
        client,
      );
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toMatchObject({ reason: 'ServiceUnavailable' });
      expect(JSON.parse(res.body).message).toContain('not the leader');
      expect((await adapterRequest(port, '/readyz')).status).toBe(503);
    } finally {
      await standby.stop();
    }
  });
});

describe('the real HPA scales on ebb’s metric', () => {
  it('minReplicaCount 0: ebb activates 0 -> 1, the HPA reads 35 messages and sets 4; purged: back to 0', async () => {
    const name = 'orders';
    const hpaName = `ebb-hpa-${name}`;
    await publish(name, 35);
    await createDeployment(kc, ns.name, name, 0);
    await hpaScaledObject(name, { minReplicaCount: 0, maxReplicaCount: 10, cooldownPeriod: 5 });

    // ebb's HPA: External AverageValue 10 on the trigger's metric, selected by the object's label.
    let metricName = '';
    await vi.waitFor(async () => {
      const hpa = await readHpa(hpaName);
      expect(hpa?.spec?.minReplicas).toBe(1);
      const external = hpa?.spec?.metrics?.[0]?.external;
      expect(external?.target).toMatchObject({ type: 'AverageValue', averageValue: '10' });
      expect(external?.metric.selector?.matchLabels).toEqual({ 'autoscaling.ebb.dev/scaledobject': name });
      metricName = external?.metric.name ?? '';
    }, wait);
    expect(metricName).toMatch(/^s0-rabbitmq-/);

    // The metric through the aggregator, as the HPA asks for it.
    await vi.waitFor(async () => {
      const res = await apiServerRequest(
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/${metricName}?labelSelector=${encodeURIComponent(`autoscaling.ebb.dev/scaledobject=${name}`)}`,
      );
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({
        kind: 'ExternalMetricValueList',
        items: [{ metricName, value: '35', metricLabels: { 'autoscaling.ebb.dev/scaledobject': name } }],
      });
    }, wait);
    const discovery = JSON.parse((await apiServerRequest('/apis/external.metrics.k8s.io/v1beta1')).body) as {
      resources: { name: string }[];
    };
    expect(discovery.resources.map((r) => r.name)).toContain(metricName);

    // The HPA: 35 / 10 per replica -> 4, written by kube-controller-manager.
    await vi.waitFor(async () => {
      const hpa = await readHpa(hpaName);
      const replicas = await deploymentReplicas(kc, ns.name, name);
      if (replicas !== 4 || hpa?.status?.desiredReplicas !== 4)
        throw new Error(`not yet 4: ${await describeState(name, hpaName)}`);
      expect(hpaCondition(hpa, 'ScalingActive')).toMatchObject({ status: 'True' });
      // 35 over 4 replicas, as a milli-quantity.
      expect(hpa.status?.currentMetrics?.[0]?.external?.current.averageValue).toBe('8750m');
    }, hpaWait);
    // 0 -> 1 was ebb's (activation), 1 -> 4 the HPA's.
    expect((await rescales(hpaName)).some((n) => n.startsWith('New size: 4;'))).toBe(true);
    const ebbEvents = (await listEvents(kc, ns.name)).filter((e) => e.regarding === `ScaledObject/${name}`);
    expect(ebbEvents.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['HPACreated', 'ScaleTargetActivated']),
    );
    expect(conditionOf(await readScaledObject(kc, ns.name, name), 'Ready')).toMatchObject({ status: 'True' });
    const status = (await readScaledObject(kc, ns.name, name)).status as { hpaName?: string };
    expect(status.hpaName).toBe(hpaName);

    // Purged: the HPA goes to its minimum (1) or ebb, after the cooldown, straight to 0.
    await purge(name);
    await vi.waitFor(async () => {
      const replicas = await deploymentReplicas(kc, ns.name, name);
      if (replicas !== 0) throw new Error(`not yet 0: ${await describeState(name, hpaName)}`);
    }, hpaWait);
    // At 0 the HPA stands aside (scaling disabled) and stays there; ebb's HPA is still in place.
    await vi.waitFor(async () => {
      const hpa = await readHpa(hpaName);
      expect(hpaCondition(hpa, 'ScalingActive')).toMatchObject({
        status: 'False',
        reason: 'ScalingDisabled',
      });
    }, hpaWait);
    expect(await deploymentReplicas(kc, ns.name, name)).toBe(0);
  });

  it('fallback: the HPA cannot read a failing trigger, so ebb applies fallback.replicas (3)', async () => {
    const name = 'unreadable';
    const hpaName = `ebb-hpa-${name}`;
    await createDeployment(kc, ns.name, name, 1);
    // The queue is never declared: every read fails (passive declare, 404 NOT_FOUND).
    await hpaScaledObject(name, {
      minReplicaCount: 1,
      maxReplicaCount: 10,
      fallback: { failureThreshold: 1, replicas: 3 },
    });
    await vi.waitFor(async () => {
      const replicas = await deploymentReplicas(kc, ns.name, name);
      if (replicas !== 3) throw new Error(`not yet 3: ${await describeState(name, hpaName)}`);
    }, hpaWait);
    expect(conditionOf(await readScaledObject(kc, ns.name, name), 'Fallback')).toMatchObject({
      status: 'True',
      reason: 'FallbackExists',
    });
    // The HPA got the adapter's 503 and stood aside.
    await vi.waitFor(async () => {
      expect(hpaCondition(await readHpa(hpaName), 'ScalingActive')).toMatchObject({
        status: 'False',
        reason: 'FailedGetExternalMetric',
      });
    }, hpaWait);
    expect(await rescales(hpaName)).toEqual([]);
    await deleteScaledObject(kc, ns.name, name);
  });

  it('minReplicaCount 1: the HPA alone scales 1 -> 5 -> 1; direct mode deletes the HPA, so does deleting the object', async () => {
    const name = 'jobs';
    const hpaName = `ebb-hpa-${name}`;
    await publish(name, 45);
    await createDeployment(kc, ns.name, name, 1);
    // A long cooldown: ebb never steps in; every change below is the HPA's.
    await hpaScaledObject(name, { minReplicaCount: 1, maxReplicaCount: 10, cooldownPeriod: 3600 });
    await vi.waitFor(async () => {
      const replicas = await deploymentReplicas(kc, ns.name, name);
      if (replicas !== 5) throw new Error(`not yet 5: ${await describeState(name, hpaName)}`);
    }, hpaWait);
    expect((await rescales(hpaName)).some((n) => n.startsWith('New size: 5;'))).toBe(true);

    await purge(name);
    await vi.waitFor(async () => {
      const replicas = await deploymentReplicas(kc, ns.name, name);
      if (replicas !== 1) throw new Error(`not yet 1: ${await describeState(name, hpaName)}`);
    }, hpaWait);
    await vi.waitFor(async () => {
      expect((await rescales(hpaName)).some((n) => n.startsWith('New size: 1;'))).toBe(true);
    }, wait);

    // Kept, not rewritten: the HPA was created once and never updated (the spec hash holds).
    const own = (await listEvents(kc, ns.name)).filter((e) => e.regarding === `ScaledObject/${name}`);
    expect(own.filter((e) => e.reason === 'HPACreated').map((e) => e.count)).toEqual([1]);
    expect(own.filter((e) => e.reason === 'HPAUpdated')).toEqual([]);

    // Direct mode again: ebb deletes its HPA and scales by itself (45 messages -> 5).
    await patchScaledObject(kc, ns.name, name, { metadata: { annotations: { [SCALING_MODE]: 'direct' } } });
    await vi.waitFor(async () => expect(await readHpa(hpaName)).toBeUndefined(), wait);
    await publish(name, 45);
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, name)).toBe(5), wait);

    // Back to HPA mode, then the ScaledObject deleted: its HPA goes with it.
    await patchScaledObject(kc, ns.name, name, { metadata: { annotations: { [SCALING_MODE]: 'hpa' } } });
    await vi.waitFor(async () => expect(await readHpa(hpaName)).toBeDefined(), wait);
    await deleteScaledObject(kc, ns.name, name);
    await vi.waitFor(async () => expect(await readHpa(hpaName)).toBeUndefined(), wait);
  });
});
