// The few admin reads the Kafka scaler needs, behind an interface of our own so the client
// library (kafkajs today, @confluentinc/kafka-javascript tomorrow) stays swappable.
import type { KafkaAuth } from './auth.ts';
import type { TopicOffsets } from './metric.ts';

/** Where and how to connect: the pool shares one client per equal settings. */
export interface KafkaConnectionSettings {
  readonly brokers: readonly string[];
  readonly tls: KafkaAuth['tls'];
  readonly sasl: KafkaAuth['sasl'];
}

export interface KafkaOffsetsClient {
  /** The latest (log end) offset of every partition of `topic`. */
  topicOffsets(topic: string): Promise<TopicOffsets>;
  /**
   * The committed offsets of `group` for every partition of `topics` (-1 where nothing is
   * committed); without `topics`, for every topic the group has committed offsets for.
   */
  groupOffsets(group: string, topics?: readonly string[]): Promise<TopicOffsets[]>;
  /** The topics `group` has committed offsets for. */
  groupTopics(group: string): Promise<string[]>;
  /** Disconnects. */
  close(): Promise<void>;
}

export type KafkaClientFactory = (settings: KafkaConnectionSettings) => KafkaOffsetsClient;

/** What kind of failure a client reports: the scaler's read error reason follows from it. */
export type KafkaFailureKind = 'connection' | 'authentication' | 'request';

/** A client failure, its message already readable (the library's own words, no stack). */
export class KafkaClientError extends Error {
  override readonly name = 'KafkaClientError';
  constructor(
    readonly kind: KafkaFailureKind,
    message: string,
  ) {
    super(message);
  }
}
