// The Kafka scaler against a real broker (test/env/kafka.ts): the lag it reads for a 3-partition
// topic as messages arrive and a consumer commits, groups that have committed nothing, one shared
// admin client for 200 triggers, and a read that fails clearly while the broker is down and
// succeeds again once it is back, without recreating the scaler. Uses the broker of
// global-setup.ts when it provides one and starts its own otherwise.
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kafkaScaler } from '../../scalers/kafka/index.ts';
import { createKafkaDeps, type KafkaScaler, kafkaConnectionKey } from '../../scalers/kafka/source.ts';
import type { TriggerContext } from '../../src/scaler.ts';
import { type KafkaConnection, type RunningKafka, startKafka } from '../env/kafka.ts';
import { envAction, uniqueName } from '../env/testing.ts';

interface Broker {
  readonly connection: KafkaConnection;
  stopBroker(): Promise<void>;
  startBroker(): Promise<void>;
}

let own: RunningKafka | undefined;
let broker: Broker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  const provided = inject('ebbKafka') as KafkaConnection | undefined;
  if (provided !== undefined) {
    broker = {
      connection: provided,
      stopBroker: async () => void (await envAction('kafka/stop-broker')),
      startBroker: async () => void (await envAction('kafka/start-broker')),
    };
  } else {
    const started = await startKafka();
    own = started;
    broker = {
      connection: started,
      stopBroker: () => started.stopBroker(),
      startBroker: () => started.startBroker(),
    };
  }
  kafka = new Kafka({
    clientId: 'ebb-kafka-test',
    brokers: [broker.connection.brokers],
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await own?.stop();
});

const now = new Date('2026-01-01T00:00:00Z');
/** This file's Kafka clients, as one controller's ScalerDeps holds them. */
const kafkaDeps = createKafkaDeps();
const kafkaClients = kafkaDeps.pool;

/** A scaler for a `kafka` trigger on the run's broker, as the registry would create it. */
const scalerFor = (metadata: Record<string, string>, index = 0): KafkaScaler => {
  const ctx: TriggerContext = {
    index,
    trigger: { type: 'kafka', metadata: { bootstrapServers: broker.connection.brokers, ...metadata } },
    authParams: {},
  };
  const parsed = kafkaScaler.parse(ctx);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return kafkaScaler.create(parsed.value, ctx, kafkaDeps) as KafkaScaler;
};

const read = (scaler: KafkaScaler) => scaler.read(now, new AbortController().signal);

/** value / active / uncapped lag of a read that must succeed. */
const lagOf = async (scaler: KafkaScaler) => {
  const r = await read(scaler);
  if (!r.ok) throw new Error(`${r.error.reason}: ${r.error.message}`);
  return { value: r.value.value, active: r.value.active, totalLag: r.value.lag.totalLag };
};

const createTopic = async (partitions: number): Promise<string> => {
  const topic = uniqueName('orders');
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return topic;
};

/** `count` messages spread round-robin over `partitions` partitions. */
const produce = async (topic: string, count: number, partitions: number): Promise<void> => {
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

/** The group commits offset 0 on every partition: it exists, has consumed nothing. */
const commitStart = async (group: string, topic: string, partitions: number): Promise<void> => {
  await admin.setOffsets({
    groupId: group,
    topic,
    partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, offset: '0' })),
  });
};

/** A real consumer of `group` reads `count` messages of `topic` and commits them. */
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

describe('kafka scaler on a real broker', () => {
  it('reads the lag of a 3-partition topic: 12 messages -> 12, 100 -> capped at 15 (3 replicas), committed -> 0', async () => {
    const topic = await createTopic(3);
    const group = uniqueName('lag');
    await commitStart(group, topic, 3);
    const scaler = scalerFor({ topic, consumerGroup: group, lagThreshold: '5' });
    try {
      expect(await lagOf(scaler)).toEqual({ value: 0, active: false, totalLag: 0 });
      await produce(topic, 12, 3);
      expect(await lagOf(scaler)).toEqual({ value: 12, active: true, totalLag: 12 });
      await produce(topic, 88, 3);
      // cap = 3 partitions × lagThreshold 5; the HPA's ceil(15 / 5) = 3 replicas
      expect(await lagOf(scaler)).toEqual({ value: 15, active: true, totalLag: 100 });
      await consume(group, topic, 100);
      expect(await lagOf(scaler)).toEqual({ value: 0, active: false, totalLag: 0 });
    } finally {
      await scaler.close();
    }
  });

  it('a consumer that commits part of the backlog lowers the lag', async () => {
    const topic = await createTopic(1);
    const group = uniqueName('partial');
    await commitStart(group, topic, 1);
    await produce(topic, 10, 1);
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '7' }] });
    const scaler = scalerFor({ topic, consumerGroup: group, lagThreshold: '1', allowIdleConsumers: 'true' });
    try {
      expect(await lagOf(scaler)).toEqual({ value: 3, active: true, totalLag: 3 });
    } finally {
      await scaler.close();
    }
  });

  it('a group that has committed nothing: 1 per partition under latest, the whole topic under earliest, 0 with scaleToZeroOnInvalidOffset', async () => {
    const topic = await createTopic(3);
    await produce(topic, 12, 3);
    const group = uniqueName('fresh');
    const scalers = [
      scalerFor({ topic, consumerGroup: group, lagThreshold: '5', offsetResetPolicy: 'latest' }),
      scalerFor({ topic, consumerGroup: group, lagThreshold: '5', offsetResetPolicy: 'earliest' }),
      scalerFor({ topic, consumerGroup: group, lagThreshold: '5', scaleToZeroOnInvalidOffset: 'true' }),
    ];
    try {
      expect(await Promise.all(scalers.map(lagOf))).toEqual([
        { value: 3, active: true, totalLag: 3 },
        { value: 12, active: true, totalLag: 12 },
        { value: 0, active: false, totalLag: 0 },
      ]);
    } finally {
      await Promise.all(scalers.map((s) => s.close()));
    }
  });

  it('without a topic reads every topic the group has committed offsets for', async () => {
    const [a, b] = [await createTopic(2), await createTopic(1)];
    const group = uniqueName('multi');
    await commitStart(group, a, 2);
    await commitStart(group, b, 1);
    await produce(a, 4, 2);
    await produce(b, 3, 1);
    const scaler = scalerFor({ consumerGroup: group, lagThreshold: '1', allowIdleConsumers: 'true' });
    try {
      expect(scaler.metric.name).toBe(`s0-kafka-${group}-topics`);
      expect(await lagOf(scaler)).toEqual({ value: 7, active: true, totalLag: 7 });
    } finally {
      await scaler.close();
    }
  });

  it('a missing topic fails the read with a KafkaError naming topic, group and brokers', async () => {
    const scaler = scalerFor({ topic: uniqueName('missing'), consumerGroup: 'g' });
    try {
      const r = await read(scaler);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.reason).toBe('KafkaError');
        expect(r.error.message).toContain(`at ${broker.connection.brokers}`);
        expect(r.error.message).toMatch(/topic "missing-[0-9a-f]+"/);
      }
    } finally {
      await scaler.close();
    }
  });

  it('200 triggers on the same brokers share one admin client, closed with the last trigger', async () => {
    const topic = await createTopic(3);
    const group = uniqueName('shared');
    await commitStart(group, topic, 3);
    await produce(topic, 6, 3);
    const key = kafkaConnectionKey({ brokers: [broker.connection.brokers], tls: undefined, sasl: undefined });
    const before = kafkaClients.stats();
    const scalers = Array.from({ length: 200 }, (_, i) =>
      scalerFor({ topic, consumerGroup: group, lagThreshold: '1' }, i % 5),
    );
    try {
      expect(kafkaClients.references(key)).toBe(200);
      expect(kafkaClients.stats().opened - before.opened).toBe(1);
      const values = await Promise.all(scalers.map(lagOf));
      expect(new Set(values.map((v) => JSON.stringify(v)))).toEqual(
        new Set([JSON.stringify({ value: 3, active: true, totalLag: 6 })]),
      );
    } finally {
      await Promise.all(scalers.map((s) => s.close()));
    }
    expect(kafkaClients.references(key)).toBe(0);
    expect(kafkaClients.stats().closed - before.closed).toBe(1);
  });

  it('fails reads clearly while the broker is down and reads again once it is back, without a new scaler', async () => {
    const topic = await createTopic(3);
    const group = uniqueName('outage');
    await commitStart(group, topic, 3);
    await produce(topic, 4, 3);
    const scaler = scalerFor({ topic, consumerGroup: group, lagThreshold: '1' });
    try {
      expect(await lagOf(scaler)).toMatchObject({ totalLag: 4 });
      await admin.disconnect();
      await broker.stopBroker();
      const started = performance.now();
      const down = await read(scaler);
      const failedAfterMs = performance.now() - started;
      expect(down.ok).toBe(false);
      if (!down.ok) {
        expect(down.error.reason).toBe('KafkaError');
        expect(down.error.message).toContain(
          `group "${group}" on topic "${topic}" at ${broker.connection.brokers}`,
        );
      }
      // A dead broker fails a poll in seconds (connect timeout 3 s, one retry), not minutes.
      expect(failedAfterMs).toBeLessThan(30_000);

      await broker.startBroker();
      await admin.connect();
      expect(await lagOf(scaler)).toEqual({ value: 3, active: true, totalLag: 4 });
    } finally {
      await scaler.close();
    }
  });
});
