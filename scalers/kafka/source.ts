// The Kafka scaler's I/O: one read = the group's committed offsets and the topics' latest
// offsets, fetched in parallel through a client shared with every trigger on the same cluster
// and credentials, then handed to computeKafkaLag. The excludePersistentLag state lives here,
// per trigger, from one read to the next.
import { AuthenticationError, fail, KafkaError, ok, type Result } from '../../src/api/reasons.ts';
import type { MetricSpec, ReadError, Reading, Scaler } from '../../src/scaler.ts';
import { type ConnectionPool, connectionKey, createConnectionPool } from '../kit/pool.ts';
import {
  KafkaClientError,
  type KafkaClientFactory,
  type KafkaConnectionSettings,
  type KafkaOffsetsClient,
} from './client.ts';
import { kafkajsClientFactory } from './kafkajs.ts';
import {
  computeKafkaLag,
  joinOffsets,
  type KafkaLag,
  type PreviousOffsets,
  type TopicOffsets,
} from './metric.ts';
import type { KafkaConfig } from './schema.ts';

/** Read errors: the brokers failed or refused a request (KafkaError), or refused the credentials. */
export { KafkaError };

/** A reading with the lag details behind it (tests and logs). */
export interface KafkaReading extends Reading {
  readonly lag: KafkaLag;
}

/** What every Kafka scaler of one controller shares: one client per cluster and credentials. */
export interface KafkaDeps {
  readonly pool: ConnectionPool<KafkaOffsetsClient>;
  /** Opens a client (kafkajs; tests pass a scripted cluster). */
  readonly connect: KafkaClientFactory;
}

/** A controller's Kafka clients: a fresh pool (built once in wiring, by createScalerDeps). */
export const createKafkaDeps = (connect: KafkaClientFactory = kafkajsClientFactory): KafkaDeps => ({
  pool: createConnectionPool((client) => client.close()),
  connect,
});

/** The pool key: brokers (order does not matter), TLS and SASL settings, secrets hashed. */
export const kafkaConnectionKey = (settings: KafkaConnectionSettings): string =>
  connectionKey({
    brokers: [...settings.brokers].sort(),
    tls: settings.tls ?? null,
    sasl: settings.sasl ?? null,
  });

const describe = (config: KafkaConfig): string => {
  const topics =
    config.topics.length === 0
      ? 'the topics it has committed offsets for'
      : config.topics.map((t) => `topic "${t}"`).join(', ');
  return `group "${config.consumerGroup}" on ${topics} at ${config.connection.brokers.join(',')}`;
};

/** Committed and latest offsets of the trigger's topics: one parallel round when topics are named. */
const readOffsets = async (
  client: KafkaOffsetsClient,
  config: KafkaConfig,
): Promise<{ latest: TopicOffsets[]; committed: TopicOffsets[] }> => {
  if (config.topics.length > 0) {
    const [committed, ...latest] = await Promise.all([
      client.groupOffsets(config.consumerGroup, config.topics),
      ...config.topics.map((t) => client.topicOffsets(t)),
    ]);
    return { latest, committed: committed ?? [] };
  }
  // Without a topic: every topic the group has committed offsets for (KEDA: ListConsumerGroupOffsets).
  const committed = await client.groupOffsets(config.consumerGroup);
  const latest = await Promise.all(committed.map((t) => client.topicOffsets(t.topic)));
  return { latest, committed };
};

const aborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

export interface KafkaScaler extends Scaler {
  read(now: Date, signal: AbortSignal): Promise<Result<KafkaReading, ReadError>>;
}

/** A trigger's scaler: leases the shared client on creation, releases it on close. */
export const createKafkaScaler = (config: KafkaConfig, metric: MetricSpec, deps: KafkaDeps): KafkaScaler => {
  const { pool, connect } = deps;
  const { brokers, tls, sasl, pending } = config.connection;
  const settings: KafkaConnectionSettings = { brokers, tls, sasl };
  const lease = pool.acquire(kafkaConnectionKey(settings), () => connect(settings));
  let previous: PreviousOffsets = {};

  return {
    metric,
    async read(_now, signal) {
      if (pending.length > 0) {
        return fail({
          reason: AuthenticationError,
          message: `${pending.join(', ')} for ${describe(config)} must come from the trigger's authenticationRef, which was not resolved`,
        });
      }
      let offsets: { latest: TopicOffsets[]; committed: TopicOffsets[] };
      try {
        offsets = await Promise.race([readOffsets(lease.resource, config), aborted(signal)]);
      } catch (error) {
        if (signal.aborted)
          return fail({ reason: KafkaError, message: `reading ${describe(config)}: aborted` });
        const authentication = error instanceof KafkaClientError && error.kind === 'authentication';
        const why = error instanceof Error ? error.message : String(error);
        return fail({
          reason: authentication ? AuthenticationError : KafkaError,
          message: `reading ${describe(config)}: ${why}`,
        });
      }
      const lag = computeKafkaLag(joinOffsets(offsets.latest, offsets.committed), config, previous);
      if (!lag.ok) return fail({ reason: KafkaError, message: `${describe(config)}: ${lag.error}` });
      previous = lag.value.previous;
      return ok({ value: lag.value.value, active: lag.value.active, lag: lag.value });
    },
    close: () => lease.release(),
  };
};
