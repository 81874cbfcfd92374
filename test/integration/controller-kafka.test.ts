// The controller against a real API server and a real Kafka broker, end to end: a 3-partition
// topic, lagThreshold 5, activationLagThreshold 1. No lag → 0 replicas; 1 message (not above
// the activation threshold) → still 0; 12 → ceil(12 / 5) = 3; 100 → 3 (capped at the partition
// count); consumed and committed → 0 after the cooldown. Then the broker stops: Failing health,
// a Warning Event, the fallback replicas, no scale to zero; back, the same controller recovers.

import { CustomObjectsApi } from '@kubernetes/client-node';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createDeployment,
  createScaledObject,
  deploymentReplicas,
  installCrd,
  listEvents,
  readScaledObject,
} from '../controller/cluster.ts';
import {
  kafkaConnection,
  kubeConfig,
  kubeConnection,
  startKafkaBroker,
  stopKafkaBroker,
  uniqueName,
  useNamespace,
} from '../env/testing.ts';

const kc = kubeConfig();
const ns = useNamespace('ctl-kafka');
const wait = { timeout: 30_000, interval: 250 };
const kafka = new Kafka({
  clientId: 'ebb-controller-kafka-test',
  brokers: [kafkaConnection().brokers],
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
let running: RunningController;

const createTopic = async (partitions: number): Promise<string> => {
  const topic = uniqueName('orders');
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return topic;
};

/** `count` messages round-robin over the partitions. */
const produce = async (topic: string, count: number, partitions = 3): Promise<void> => {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: Array.from({ length: count }, (_, i) => ({ partition: i % partitions, value: `m${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
};

/** The group commits `offset` on every partition (it exists; under `latest` no lag is invented). */
const commitAt = (group: string, topic: string, partitions: number, offset = '0') =>
  admin.setOffsets({
    groupId: group,
    topic,
    partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, offset })),
  });

/** A real consumer of `group` reads `count` messages and commits them. */
const consume = async (group: string, topic: string, count: number): Promise<void> => {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: true,
          eachMessage: async () => {
            if (++seen >= count) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.commitOffsets([]);
  } finally {
    await consumer.disconnect();
  }
};

const kafkaTrigger = (topic: string, group: string) => ({
  type: 'kafka',
  name: 'lag',
  metadata: {
    bootstrapServers: kafkaConnection().brokers,
    consumerGroup: group,
    topic,
    lagThreshold: '5',
    activationLagThreshold: '1',
  },
});

/** Waits for at least `n` more polls of this controller (its only objects are this file's). */
const morePolls = async (n: number) => {
  const polls = running.controller()?.stats.polls ?? 0;
  await vi.waitFor(
    () => expect(running.controller()?.stats.polls ?? 0).toBeGreaterThanOrEqual(polls + n),
    wait,
  );
};

const healthOf = async (name: string) => {
  const so = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns.name,
    plural: PLURAL,
    name,
  })) as { status?: { health?: Record<string, { status?: string; numberOfFailures?: number }> } };
  // Keyed by metric name, as KEDA does; one trigger, one entry.
  return Object.values(so.status?.health ?? {})[0];
};

beforeAll(async () => {
  await installCrd(kc);
  await admin.connect();
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    eventRefreshMs: 500,
  });
});

afterAll(async () => {
  await running?.stop();
  await admin.disconnect();
});

describe('controller + kafka scaler on a real broker', () => {
  it('lagThreshold 5 on 3 partitions: 0 -> 0 (1 message under activation) -> 3 (12) -> 3 (100) -> 0 after commit', async () => {
    const topic = await createTopic(3);
    const group = uniqueName('lag');
    await commitAt(group, topic, 3);
    await createDeployment(kc, ns.name, 'consumer', 0);
    await createScaledObject(kc, ns.name, 'consumer', {
      triggers: [kafkaTrigger(topic, group)],
      spec: { cooldownPeriod: 3 },
    });

    await vi.waitFor(async () => {
      const so = await readScaledObject(kc, ns.name, 'consumer');
      expect(conditionOf(so, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledObjectReady' });
      expect(conditionOf(so, 'Active')).toMatchObject({ status: 'False' });
    }, wait);
    expect(await deploymentReplicas(kc, ns.name, 'consumer')).toBe(0);

    await produce(topic, 1);
    await morePolls(4);
    expect(await deploymentReplicas(kc, ns.name, 'consumer')).toBe(0);

    await produce(topic, 11);
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'consumer')).toBe(3), wait);

    await produce(topic, 88);
    await morePolls(4);
    expect(await deploymentReplicas(kc, ns.name, 'consumer')).toBe(3);

    await consume(group, topic, 100);
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'consumer')).toBe(0), wait);
    const events = (await listEvents(kc, ns.name)).filter((e) => e.regarding === 'ScaledObject/consumer');
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['ScaleTargetActivated', 'ScaleTargetDeactivated']),
    );
  });

  it('broker down: Failing health, Warning Event, fallback 2, no scale to zero; recovers when it is back', async () => {
    const topic = await createTopic(3);
    const group = uniqueName('outage');
    await commitAt(group, topic, 3);
    await produce(topic, 30); // lag 30, capped at 15 → 3 replicas
    await createDeployment(kc, ns.name, 'with-fallback', 0);
    await createDeployment(kc, ns.name, 'no-fallback', 0);
    await createScaledObject(kc, ns.name, 'with-fallback', {
      triggers: [kafkaTrigger(topic, group)],
      spec: { cooldownPeriod: 3, fallback: { failureThreshold: 2, replicas: 2 } },
    });
    await createScaledObject(kc, ns.name, 'no-fallback', {
      triggers: [kafkaTrigger(topic, group)],
      spec: { cooldownPeriod: 3 },
    });
    for (const name of ['with-fallback', 'no-fallback']) {
      await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, name)).toBe(3), wait);
    }

    await stopKafkaBroker();
    try {
      await vi.waitFor(
        async () => {
          const h = await healthOf('with-fallback');
          expect(h?.status).toBe('Failing');
          expect(h?.numberOfFailures ?? 0).toBeGreaterThanOrEqual(2);
        },
        { timeout: 60_000, interval: 250 },
      );
      await vi.waitFor(
        async () => expect(await deploymentReplicas(kc, ns.name, 'with-fallback')).toBe(2),
        wait,
      );
      await vi.waitFor(async () => {
        const failed = (await listEvents(kc, ns.name)).filter(
          (e) => e.regarding === 'ScaledObject/no-fallback' && e.reason === 'ScalerFailed',
        );
        expect(failed[0]?.type).toBe('Warning');
        expect(failed[0]?.note).toMatch(/trigger "lag" \(kafka\) failed: /);
        expect(failed[0]?.note).toContain(`group "${group}"`);
        // status.health is kept without a fallback too (as KEDA); Ready says why.
        expect(conditionOf(await readScaledObject(kc, ns.name, 'no-fallback'), 'Ready')).toMatchObject({
          status: 'False',
          reason: 'TriggerError',
        });
        expect(await healthOf('no-fallback')).toMatchObject({ status: 'Failing', numberOfFailures: 1 });
      }, wait);
      await morePolls(6);
      expect(await deploymentReplicas(kc, ns.name, 'no-fallback')).toBe(3);
    } finally {
      await startKafkaBroker();
    }

    for (const name of ['with-fallback', 'no-fallback']) {
      await vi.waitFor(
        async () => {
          expect(await deploymentReplicas(kc, ns.name, name)).toBe(3);
          const so = await readScaledObject(kc, ns.name, name);
          expect(conditionOf(so, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledObjectReady' });
          expect(await healthOf(name)).toMatchObject({ status: 'Happy', numberOfFailures: 0 });
          if (name === 'with-fallback')
            expect(conditionOf(so, 'Fallback')).toMatchObject({ status: 'False' });
        },
        { timeout: 90_000, interval: 500 },
      );
    }
    await commitAt(group, topic, 3, '10'); // every partition caught up (30 round-robin over 3)
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'no-fallback')).toBe(0), wait);
  });
});
