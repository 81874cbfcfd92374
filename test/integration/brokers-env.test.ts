// Proves the real brokers of test/env: a KRaft Kafka broker that kafkajs 2.2.4 can drive (topics,
// produce, consumer-group commits, the offset APIs the Kafka scaler reads) and a RabbitMQ node
// whose AMQP and management APIs agree on queue depth, both surviving a stop/start of the broker
// on the same port and data. Uses the brokers of global-setup.ts when it provides them and starts
// its own otherwise.
import { connect } from 'amqplib';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KAFKA_VERSION, type KafkaConnection, startKafka } from '../env/kafka.ts';
import { type RabbitMQConnection, startRabbitMQ } from '../env/rabbitmq.ts';
import { envAction, uniqueName } from '../env/testing.ts';

interface Broker<C> {
  connection: C;
  /** Stops the broker and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The run's broker from global-setup (`provided`), or one started for this file. */
async function useBroker<C>(
  provided: C | undefined,
  service: string,
  start: () => Promise<C & { restart(): Promise<void>; stop(): Promise<void> }>,
): Promise<Broker<C>> {
  if (provided !== undefined) {
    return {
      connection: provided,
      restart: async () => {
        await envAction(`${service}/restart`);
      },
      stop: async () => {},
    };
  }
  const own = await start();
  return { connection: own, restart: () => own.restart(), stop: () => own.stop() };
}

function kafkaClient(conn: KafkaConnection): Kafka {
  return new Kafka({ clientId: 'ebb-brokers-env', brokers: [conn.brokers], logLevel: logLevel.NOTHING });
}

/** Committed offset per partition of `topic` for `groupId` (-1: nothing committed). */
async function committed(admin: Admin, groupId: string, topic: string): Promise<Record<number, number>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const result: Record<number, number> = {};
  for (const p of entry?.partitions ?? []) result[p.partition] = Number(p.offset);
  return result;
}

/** Latest (high watermark) offset per partition of `topic`. */
async function latest(admin: Admin, topic: string): Promise<Record<number, number>> {
  const result: Record<number, number> = {};
  for (const p of await admin.fetchTopicOffsets(topic)) result[p.partition] = Number(p.high);
  return result;
}

/** Consumer lag per partition as KEDA's Kafka scaler computes it (nothing committed: lag = latest). */
function lag(latestOffsets: Record<number, number>, committedOffsets: Record<number, number>) {
  const result: Record<number, number> = {};
  for (const [partition, high] of Object.entries(latestOffsets)) {
    const done = committedOffsets[Number(partition)] ?? -1;
    result[Number(partition)] = done < 0 ? high : high - done;
  }
  return result;
}

describe('Kafka broker', () => {
  let kafka: Broker<KafkaConnection>;
  const topic = uniqueName('orders');
  const groupId = uniqueName('workers');

  beforeAll(async () => {
    kafka = await useBroker(inject('ebbKafka'), 'kafka', () => startKafka());
  });
  afterAll(async () => {
    await kafka?.stop();
  });

  it(`is Apache Kafka ${KAFKA_VERSION} on 127.0.0.1`, () => {
    expect(kafka.connection.version).toBe(KAFKA_VERSION);
    expect(kafka.connection.brokers).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('creates a topic, takes 12 messages, and reports a consumer group lag from committed offsets', async () => {
    const client = kafkaClient(kafka.connection);
    const admin = client.admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
          waitForLeaders: true,
        }),
      ).toBe(true);
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(meta?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);

      const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 12 }, (_, i) => ({ partition: i % 3, value: `order-${i}` })),
      });
      await producer.disconnect();
      expect(await latest(admin, topic)).toEqual({ 0: 4, 1: 4, 2: 4 });
      expect(await committed(admin, groupId, topic)).toEqual({ 0: -1, 1: -1, 2: -1 });

      // A real group member reads everything, then commits all of partition 0 and half of partition 1.
      const consumer = client.consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10_000 });
      await consumer.connect();
      const seen: string[] = [];
      let allSeen: () => void = () => {};
      const received = new Promise<void>((resolve) => {
        allSeen = resolve;
      });
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.length === 12) allSeen();
          },
        });
        await received;
        await consumer.commitOffsets([
          { topic, partition: 0, offset: '4' },
          { topic, partition: 1, offset: '2' },
        ]);
      } finally {
        await consumer.disconnect();
      }
      expect(seen.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `order-${i}`).sort());

      const committedOffsets = await committed(admin, groupId, topic);
      expect(committedOffsets).toEqual({ 0: 4, 1: 2, 2: -1 });
      const latestOffsets = await latest(admin, topic);
      expect(lag(latestOffsets, committedOffsets)).toEqual({ 0: 0, 1: 2, 2: 4 });
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps topics and committed offsets across a broker stop/start on the same port', async () => {
    await kafka.restart();
    const client = kafkaClient(kafka.connection);
    const admin = client.admin();
    await admin.connect();
    try {
      expect(await committed(admin, groupId, topic)).toEqual({ 0: 4, 1: 2, 2: -1 });
      const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({ topic, messages: [{ partition: 2, value: 'after-restart' }] });
      await producer.disconnect();
      expect(lag(await latest(admin, topic), await committed(admin, groupId, topic))).toEqual({
        0: 0,
        1: 2,
        2: 5,
      });
    } finally {
      await admin.disconnect();
    }
  });
});

interface ManagementQueue {
  name: string;
  messages?: number;
  durable: boolean;
}

interface ManagementConnection {
  user: string;
  peer_host: string;
  client_properties?: { connection_name?: string; product?: string };
}

describe('RabbitMQ node', () => {
  let rabbit: Broker<RabbitMQConnection>;
  const queue = uniqueName('jobs');
  const connectionName = uniqueName('ebb-brokers-env');

  beforeAll(async () => {
    rabbit = await useBroker(inject('ebbRabbitMQ'), 'rabbitmq', () => startRabbitMQ());
  });
  afterAll(async () => {
    await rabbit?.stop();
  });

  async function management<T>(path: string): Promise<T> {
    const { managementUrl, username, password } = rabbit.connection;
    const res = await fetch(`${managementUrl}${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  it('listens on 127.0.0.1 with the management API', async () => {
    expect(rabbit.connection.amqpUrl).toMatch(/^amqp:\/\/[^@]+@127\.0\.0\.1:\d+$/);
    const overview = await management<{ rabbitmq_version: string; node: string }>('/api/overview');
    expect(overview.rabbitmq_version).toMatch(/^3\./);
  });

  it('counts 35 published messages over AMQP and in the management API', async () => {
    const conn = await connect(rabbit.connection.amqpUrl, {
      clientProperties: { connection_name: connectionName },
    });
    try {
      const channel = await conn.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true });
      for (let i = 0; i < 35; i++) channel.sendToQueue(queue, Buffer.from(`job-${i}`), { persistent: true });
      await channel.waitForConfirms();

      const passive = await channel.checkQueue(queue);
      expect(passive.messageCount).toBe(35);
      expect(passive.consumerCount).toBe(0);

      // Queue stats refresh every collect_statistics_interval (1 s here).
      await expect
        .poll(async () => (await management<ManagementQueue>(`/api/queues/%2F/${queue}`)).messages, {
          timeout: 30_000,
          interval: 500,
        })
        .toBe(35);
      await expect
        .poll(
          async () =>
            (await management<ManagementConnection[]>('/api/connections')).filter(
              (c) => c.client_properties?.connection_name === connectionName,
            ),
          { timeout: 30_000, interval: 500 },
        )
        .toEqual([expect.objectContaining({ user: rabbit.connection.username, peer_host: '127.0.0.1' })]);
    } finally {
      await conn.close();
    }
  });

  it('keeps the durable queue and its persistent messages across a node stop/start', async () => {
    await rabbit.restart();
    const conn = await connect(rabbit.connection.amqpUrl);
    try {
      const channel = await conn.createChannel();
      expect((await channel.checkQueue(queue)).messageCount).toBe(35);
      const first = await channel.get(queue, { noAck: true });
      expect(first === false ? undefined : first.content.toString()).toBe('job-0');
      expect((await channel.checkQueue(queue)).messageCount).toBe(34);
      await channel.deleteQueue(queue);
    } finally {
      await conn.close();
    }
  });
});
