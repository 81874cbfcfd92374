// The Kafka scaler's read path with a fake KafkaOffsetsClient: which reads it makes, how
// failures become read errors, the shared client per cluster and credentials, and the
// excludePersistentLag state carried from one read to the next.
import { describe, expect, it } from 'vitest';
import {
  KafkaClientError,
  type KafkaConnectionSettings,
  type KafkaOffsetsClient,
} from '../../../scalers/kafka/client.ts';
import { kafkaScaler } from '../../../scalers/kafka/index.ts';
import type { TopicOffsets } from '../../../scalers/kafka/metric.ts';
import type { KafkaConfig } from '../../../scalers/kafka/schema.ts';
import { createKafkaScaler, kafkaConnectionKey } from '../../../scalers/kafka/source.ts';
import { createConnectionPool } from '../../../scalers/kit/pool.ts';
import type { TriggerContext } from '../../../src/scaler.ts';

/** A cluster in memory: latest offsets per topic and committed offsets per group. */
class FakeCluster {
  latest = new Map<string, number[]>();
  committed = new Map<string, Map<string, number[]>>();
  calls: string[] = [];
  failure: KafkaClientError | undefined;
  clients = 0;
  closes = 0;

  client = (_settings: KafkaConnectionSettings): KafkaOffsetsClient => {
    this.clients++;
    const check = (call: string) => {
      this.calls.push(call);
      if (this.failure !== undefined) throw this.failure;
    };
    const offsets = (topic: string, values: readonly number[]): TopicOffsets => ({
      topic,
      partitions: values.map((offset, partition) => ({ partition, offset })),
    });
    return {
      topicOffsets: async (topic) => {
        check(`latest ${topic}`);
        const values = this.latest.get(topic);
        if (values === undefined)
          throw new KafkaClientError('request', 'This server does not host this topic-partition');
        return offsets(topic, values);
      },
      groupOffsets: async (group, topics) => {
        check(`committed ${group}${topics === undefined ? '' : ` ${topics.join(',')}`}`);
        const byTopic = this.committed.get(group) ?? new Map<string, number[]>();
        if (topics === undefined) return [...byTopic].map(([t, v]) => offsets(t, v));
        return topics.map((t) => offsets(t, byTopic.get(t) ?? (this.latest.get(t) ?? []).map(() => -1)));
      },
      groupTopics: async (group) => [...(this.committed.get(group)?.keys() ?? [])],
      close: async () => {
        this.closes++;
      },
    };
  };
}

const context = (
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
): TriggerContext => ({
  index: 0,
  trigger: {
    type: 'kafka',
    metadata: { bootstrapServers: 'b1:9092,b2:9092', consumerGroup: 'g', ...metadata },
  },
  authParams,
});

const configOf = (ctx: TriggerContext): KafkaConfig => {
  const parsed = kafkaScaler.parse(ctx);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
};

const setup = (metadata: Record<string, string> = { topic: 'orders', lagThreshold: '5' }) => {
  const cluster = new FakeCluster();
  const pool = createConnectionPool<KafkaOffsetsClient>((c) => c.close());
  const ctx = context(metadata);
  const config = configOf(ctx);
  const make = (cfg = config) =>
    createKafkaScaler(cfg, kafkaScaler.metric(cfg, ctx), { pool, connect: cluster.client });
  return { cluster, pool, config, make };
};

const now = new Date('2026-01-01T00:00:00Z');
const read = (scaler: ReturnType<ReturnType<typeof setup>['make']>) =>
  scaler.read(now, new AbortController().signal);

describe('kafka scaler reads', () => {
  it('reads committed and latest offsets of the topic in one parallel round, and computes the metric', async () => {
    const { cluster, make } = setup();
    cluster.latest.set('orders', [34, 33, 33]);
    cluster.committed.set('g', new Map([['orders', [0, 0, 0]]]));
    const scaler = make();
    const r = await read(scaler);
    expect(r.ok && { value: r.value.value, active: r.value.active, totalLag: r.value.lag.totalLag }).toEqual({
      value: 15,
      active: true,
      totalLag: 100,
    });
    expect(cluster.calls.sort()).toEqual(['committed g orders', 'latest orders']);
    expect(scaler.metric).toEqual({ name: 's0-kafka-orders', target: 5, metricType: 'AverageValue' });
  });

  it('without a topic reads every topic the group has committed offsets for', async () => {
    const { cluster, make } = setup({ lagThreshold: '1' });
    cluster.latest.set('a', [3, 0]);
    cluster.latest.set('b', [1]);
    cluster.latest.set('unrelated', [100]);
    cluster.committed.set(
      'g',
      new Map([
        ['a', [1, 0]],
        ['b', [0]],
      ]),
    );
    const r = await read(make());
    expect(r.ok && [r.value.value, r.value.lag.partitions]).toEqual([3, 3]);
    expect(cluster.calls).toEqual(['committed g', 'latest a', 'latest b']);
  });

  it('a group that has committed nothing reads 1 per partition under latest', async () => {
    const { cluster, make } = setup({ topic: 'orders', lagThreshold: '1' });
    cluster.latest.set('orders', [7, 0, 0]);
    const r = await read(make());
    expect(r.ok && r.value.value).toBe(3);
  });

  it('carries the excludePersistentLag state from one read to the next', async () => {
    const { cluster, make } = setup({ topic: 'orders', lagThreshold: '1', excludePersistentLag: 'true' });
    cluster.latest.set('orders', [5]);
    cluster.committed.set('g', new Map([['orders', [1]]]));
    const scaler = make();
    const first = await read(scaler);
    const second = await read(scaler);
    expect([first, second].map((r) => r.ok && [r.value.value, r.value.active])).toEqual([
      [1, true],
      [0, true],
    ]);
  });

  it.each([
    {
      label: 'a broker that cannot be reached',
      failure: new KafkaClientError('connection', 'Connection error: connect ECONNREFUSED 10.0.0.1:9092'),
      reason: 'KafkaError',
      message:
        'reading group "g" on topic "orders" at b1:9092,b2:9092: Connection error: connect ECONNREFUSED 10.0.0.1:9092',
    },
    {
      label: 'refused credentials',
      failure: new KafkaClientError('authentication', 'SASL PLAIN authentication failed'),
      reason: 'AuthenticationError',
      message: 'reading group "g" on topic "orders" at b1:9092,b2:9092: SASL PLAIN authentication failed',
    },
  ])('$label becomes a read error naming group, topic and brokers', async ({ failure, reason, message }) => {
    const { cluster, make } = setup();
    cluster.latest.set('orders', [1]);
    cluster.failure = failure;
    expect(await read(make())).toEqual({ ok: false, error: { reason, message } });
  });

  it('a missing topic is a KafkaError naming it', async () => {
    const { make } = setup();
    const r = await read(make());
    expect(r).toEqual({
      ok: false,
      error: {
        reason: 'KafkaError',
        message:
          'reading group "g" on topic "orders" at b1:9092,b2:9092: This server does not host this topic-partition',
      },
    });
  });

  it('partitionLimitation that selects nothing is a KafkaError', async () => {
    const { cluster, make } = setup({ topic: 'orders', partitionLimitation: '7' });
    cluster.latest.set('orders', [1, 1]);
    const r = await read(make());
    expect(!r.ok && r.error).toEqual({
      reason: 'KafkaError',
      message:
        'group "g" on topic "orders" at b1:9092,b2:9092: partitionLimitation [7] selects none of the partitions of topic "orders" (0,1)',
    });
  });

  it('an aborted read returns at once', async () => {
    const { cluster, make } = setup();
    cluster.latest.set('orders', [1]);
    const controller = new AbortController();
    controller.abort(new Error('poll timeout'));
    const r = await make().read(now, controller.signal);
    expect(!r.ok && r.error.message).toBe('reading group "g" on topic "orders" at b1:9092,b2:9092: aborted');
  });

  it('credentials the authenticationRef has not provided yet fail the read without touching the cluster', async () => {
    const cluster = new FakeCluster();
    const ctx: TriggerContext = {
      ...context({ topic: 'orders', sasl: 'plaintext' }),
      trigger: {
        ...context({ topic: 'orders', sasl: 'plaintext' }).trigger,
        authenticationRef: { name: 'kafka-auth' },
      },
    };
    const config = configOf(ctx);
    const scaler = createKafkaScaler(config, kafkaScaler.metric(config, ctx), {
      pool: createConnectionPool<KafkaOffsetsClient>((c) => c.close()),
      connect: cluster.client,
    });
    expect(await read(scaler)).toEqual({
      ok: false,
      error: {
        reason: 'AuthenticationError',
        message:
          'username, password for group "g" on topic "orders" at b1:9092,b2:9092 must come from the trigger\'s authenticationRef, which was not resolved',
      },
    });
    expect(cluster.calls).toEqual([]);
  });
});

describe('kafka scaler connections', () => {
  it('200 triggers on the same brokers and credentials share one client; the last close disconnects it', async () => {
    const { cluster, pool, make } = setup();
    const scalers = Array.from({ length: 200 }, () => make());
    expect(cluster.clients).toBe(1);
    expect(pool.stats()).toMatchObject({ open: 1, leases: 200 });
    for (const s of scalers.slice(1)) await s.close();
    expect(cluster.closes).toBe(0);
    await scalers[0]?.close();
    expect(cluster.closes).toBe(1);
    expect(pool.stats()).toEqual({ open: 0, leases: 0, opened: 1, closed: 1 });
  });

  it('other brokers or other credentials get their own client; broker order does not matter', () => {
    const settings = (brokers: string[], password?: string): KafkaConnectionSettings => ({
      brokers,
      tls: undefined,
      sasl: password === undefined ? undefined : { mechanism: 'plaintext', username: 'u', password },
    });
    const keys = [
      kafkaConnectionKey(settings(['a:1', 'b:1'])),
      kafkaConnectionKey(settings(['b:1', 'a:1'])),
      kafkaConnectionKey(settings(['a:1'])),
      kafkaConnectionKey(settings(['a:1', 'b:1'], 'p1')),
      kafkaConnectionKey(settings(['a:1', 'b:1'], 'p2')),
    ];
    expect(keys[0]).toBe(keys[1]);
    expect(new Set(keys).size).toBe(4);
  });
});
