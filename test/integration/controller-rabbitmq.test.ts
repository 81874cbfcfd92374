// The controller against a real API server and a real RabbitMQ node, end to end: the broker's
// host and credentials come from a Secret through a TriggerAuthentication (secretTargetRef);
// queue depth scales the Deployment (35 messages / value 10 → 4), a purge scales it to 0 after
// the cooldown, MessageRate follows a steady publisher, and a stopped broker gives Failing
// health, a Warning Event, the fallback replicas, and no scale to zero; the broker back, the
// same controller recovers. The password lives only in the Secret: no log line, status or
// Event may contain it.
import { randomBytes } from 'node:crypto';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderCrds } from '../../src/api/crd.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { createLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createDeployment,
  createScaledObject,
  deploymentReplicas,
  listEvents,
  readScaledObject,
} from '../controller/cluster.ts';
import { publishMessages, purgeQueue, rabbitmqAdmin } from '../env/rabbitmq.ts';
import {
  kubeConfig,
  kubeConnection,
  rabbitmqConnection,
  startRabbitMQBroker,
  stopRabbitMQBroker,
  useNamespace,
} from '../env/testing.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const objects = kc.makeApiClient(CustomObjectsApi);
const ns = useNamespace('ctl-rabbitmq');
const wait = { timeout: 30_000, interval: 250 };

const conn = rabbitmqConnection();
const vhost = `ebb-ctl-${randomBytes(3).toString('hex')}`;
const vhostPath = encodeURIComponent(vhost);
// A broker user of this file; its password exists only here and in the Secret.
const USER = `ebb-ctl-${randomBytes(3).toString('hex')}`;
const PASSWORD = `rmq-s3cret-${randomBytes(8).toString('hex')}`;

const logLines: string[] = [];
let running: RunningController;

const admin = (path: string, init: RequestInit = {}): Promise<Response> => rabbitmqAdmin(conn, path, init);

const withUser = (url: string) => url.replace('://', `://${USER}:${PASSWORD}@`);
const amqpUrl = () => `${conn.amqpUrl.replace(/\/\/[^@/]*@/, '//')}/${vhostPath}`;

const publish = (queue: string, count: number) => publishMessages(conn, vhost, queue, count);
const purge = (queue: string) => purgeQueue(conn, vhost, queue);

const installCrds = async () => {
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of loadAllYaml(renderCrds()) as V1CustomResourceDefinition[]) {
    const name = crd.metadata?.name ?? '';
    const existing = await extensions.readCustomResourceDefinition({ name }).catch(() => undefined);
    if (existing === undefined) await extensions.createCustomResourceDefinition({ body: crd });
    else {
      const resourceVersion = existing.metadata?.resourceVersion;
      const body = { ...crd, metadata: { ...crd.metadata, ...(resourceVersion ? { resourceVersion } : {}) } };
      await extensions.replaceCustomResourceDefinition({ name, body });
    }
  }
  for (const plural of [PLURAL, 'triggerauthentications']) {
    await vi.waitFor(
      () => objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural, limit: 1 }),
      wait,
    );
  }
};

const health = async (name: string) => {
  const so = (await objects.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns.name,
    plural: PLURAL,
    name,
  })) as { status?: { health?: Record<string, { status?: string; numberOfFailures?: number }> } };
  // Keyed by metric name, as KEDA does; one trigger, one entry.
  return Object.values(so.status?.health ?? {})[0];
};

const rabbitTrigger = (metadata: Record<string, string>, auth = 'rabbit-amqp') => ({
  type: 'rabbitmq',
  name: 'queue',
  metadata,
  authenticationRef: { name: auth },
});

const so = (name: string, triggers: unknown[], spec: Record<string, unknown> = {}) =>
  createScaledObject(kc, ns.name, name, { triggers, spec: { cooldownPeriod: 3, ...spec } });

beforeAll(async () => {
  await installCrds();
  await admin(`/api/vhosts/${vhostPath}`, { method: 'PUT', body: '{}' });
  await admin(`/api/users/${encodeURIComponent(USER)}`, {
    method: 'PUT',
    body: JSON.stringify({ password: PASSWORD, tags: 'monitoring' }),
  });
  for (const user of [USER, conn.username]) {
    await admin(`/api/permissions/${vhostPath}/${encodeURIComponent(user)}`, {
      method: 'PUT',
      body: JSON.stringify({ configure: '.*', write: '.*', read: '.*' }),
    });
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await core.createNamespacedSecret({
    namespace: ns.name,
    body: {
      metadata: { name: 'rabbit' },
      data: {
        amqp: b64(withUser(amqpUrl())),
        http: b64(withUser(`${conn.managementUrl}/${vhostPath}`)),
      },
    },
  });
  for (const [name, key] of [
    ['rabbit-amqp', 'amqp'],
    ['rabbit-http', 'http'],
  ] as const) {
    await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: 'triggerauthentications',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'TriggerAuthentication',
        metadata: { name },
        spec: { secretTargetRef: [{ parameter: 'host', name: 'rabbit', key }] },
      },
    });
  }
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } }),
    eventRefreshMs: 500,
  });
});

afterAll(async () => {
  await running?.stop();
  await admin(`/api/vhosts/${vhostPath}`, { method: 'DELETE' }).catch(() => {});
  await admin(`/api/users/${encodeURIComponent(USER)}`, { method: 'DELETE' }).catch(() => {});
});

describe('controller + rabbitmq scaler on a real broker', () => {
  it('QueueLength, value 10: 35 messages -> 4 replicas; purged -> 0 after the cooldown', async () => {
    await publish('orders', 35);
    await createDeployment(kc, ns.name, 'orders', 0);
    await so('orders', [
      rabbitTrigger({ protocol: 'amqp', queueName: 'orders', mode: 'QueueLength', value: '10' }),
    ]);
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'orders')).toBe(4), wait);
    const active = await readScaledObject(kc, ns.name, 'orders');
    expect(conditionOf(active, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledObjectReady' });
    expect(conditionOf(active, 'Active')).toMatchObject({ status: 'True' });

    await purge('orders');
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'orders')).toBe(0), wait);
    const events = (await listEvents(kc, ns.name)).filter((e) => e.regarding === 'ScaledObject/orders');
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['ScaleTargetActivated', 'ScaleTargetDeactivated']),
    );
  });

  it('MessageRate (http): scales on the publish rate while a publisher runs', async () => {
    await publish('rates', 0);
    await createDeployment(kc, ns.name, 'rates', 0);
    await so('rates', [
      rabbitTrigger(
        { protocol: 'http', queueName: 'rates', mode: 'MessageRate', value: '20' },
        'rabbit-http',
      ),
    ]);
    const model = await connect(`${conn.amqpUrl}/${vhostPath}`);
    model.on('error', () => {});
    const channel = await model.createChannel();
    // About 100 messages/s → desired ceil(100 / 20) = 5; the sampled rate wobbles, so >= 2.
    const publisher = setInterval(() => {
      for (let i = 0; i < 10; i++) channel.sendToQueue('rates', Buffer.from('x'));
    }, 100);
    const stopAt = setTimeout(() => clearInterval(publisher), 45_000); // bounded whatever happens
    try {
      await vi.waitFor(
        async () => expect(await deploymentReplicas(kc, ns.name, 'rates')).toBeGreaterThanOrEqual(2),
        { timeout: 40_000, interval: 250 },
      );
    } finally {
      clearInterval(publisher);
      clearTimeout(stopAt);
      await model.close();
    }
  });

  it('broker down: Failing health, a Warning Event, fallback replicas, never scaled to zero; recovers when it is back', async () => {
    await publish('jobs', 35);
    await createDeployment(kc, ns.name, 'with-fallback', 0);
    await createDeployment(kc, ns.name, 'no-fallback', 0);
    const trigger = rabbitTrigger({ protocol: 'amqp', queueName: 'jobs', mode: 'QueueLength', value: '10' });
    await so('with-fallback', [trigger], { fallback: { failureThreshold: 2, replicas: 2 } });
    await so('no-fallback', [trigger]);
    for (const name of ['with-fallback', 'no-fallback']) {
      await vi.waitFor(async () => {
        const replicas = await deploymentReplicas(kc, ns.name, name);
        if (replicas !== 4) {
          throw new Error(
            `${name}: ${replicas} replicas, status ${JSON.stringify((await readScaledObject(kc, ns.name, name)).status)}`,
          );
        }
      }, wait);
    }

    await stopRabbitMQBroker();
    try {
      await vi.waitFor(async () => {
        const h = await health('with-fallback');
        expect(h?.status).toBe('Failing');
        expect(h?.numberOfFailures ?? 0).toBeGreaterThanOrEqual(2);
      }, wait);
      await vi.waitFor(
        async () => expect(await deploymentReplicas(kc, ns.name, 'with-fallback')).toBe(2),
        wait,
      );
      await vi.waitFor(async () => {
        // status.health is kept without a fallback too (as KEDA); Ready says why.
        expect(conditionOf(await readScaledObject(kc, ns.name, 'no-fallback'), 'Ready')).toMatchObject({
          status: 'False',
          reason: 'TriggerError',
        });
        expect(await health('no-fallback')).toMatchObject({ status: 'Failing', numberOfFailures: 1 });
        const failed = (await listEvents(kc, ns.name)).filter(
          (e) => e.regarding === 'ScaledObject/no-fallback' && e.reason === 'ScalerFailed',
        );
        expect(failed[0]?.type).toBe('Warning');
        expect(failed[0]?.note).toMatch(/trigger "queue" \(rabbitmq\) failed: RabbitMQError: .*"jobs"/);
      }, wait);
      const fallback = await readScaledObject(kc, ns.name, 'with-fallback');
      expect(conditionOf(fallback, 'Fallback')).toMatchObject({ status: 'True', reason: 'FallbackExists' });
      // A failing source never scales to zero: the object without fallback keeps its 4 over many polls.
      const polls = running.controller()?.stats.polls ?? 0;
      await vi.waitFor(
        () => expect(running.controller()?.stats.polls ?? 0).toBeGreaterThanOrEqual(polls + 6),
        wait,
      );
      expect(await deploymentReplicas(kc, ns.name, 'no-fallback')).toBe(4);
    } finally {
      await startRabbitMQBroker();
    }

    for (const name of ['with-fallback', 'no-fallback']) {
      await vi.waitFor(
        async () => {
          expect(await deploymentReplicas(kc, ns.name, name)).toBe(4);
          const so = await readScaledObject(kc, ns.name, name);
          expect(conditionOf(so, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledObjectReady' });
          expect(await health(name)).toMatchObject({ status: 'Happy', numberOfFailures: 0 });
          if (name === 'with-fallback')
            expect(conditionOf(so, 'Fallback')).toMatchObject({ status: 'False' });
        },
        { timeout: 90_000, interval: 500 },
      );
    }
    // Scaling follows the metric again, through the same controller.
    await purge('jobs');
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'no-fallback')).toBe(0), wait);
    const recovered = (await listEvents(kc, ns.name)).filter((e) => e.reason === 'ScalerRecovered');
    expect(recovered.length).toBeGreaterThan(0);
  });

  it('the password from the Secret appears in no log line, status or Event', async () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(PASSWORD))).toEqual([]);
    const list = await objects.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: PLURAL,
    });
    expect(JSON.stringify(list)).not.toContain(PASSWORD);
    const events = await listEvents(kc, ns.name);
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
  });
});
