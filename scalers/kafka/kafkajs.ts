// KafkaOffsetsClient on kafkajs 2.2.4's admin client. The admin connects on first use; when a
// read fails for a reason that is not the broker's answer (connection refused, closed, timed
// out), the admin is replaced, so the next read connects afresh once the broker is back: no
// restart needed. Retries and timeouts are short so a dead broker fails a poll in seconds.
import type { ConnectionOptions } from 'node:tls';
import { type Admin, Kafka, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaSasl, KafkaTls } from './auth.ts';
import {
  KafkaClientError,
  type KafkaClientFactory,
  type KafkaConnectionSettings,
  type KafkaFailureKind,
  type KafkaOffsetsClient,
} from './client.ts';
import type { TopicOffsets } from './metric.ts';
import { createOAuthBearerProvider } from './oauth.ts';

export interface KafkajsOptions {
  /** Per-connection TCP (and TLS/SASL) handshake timeout. */
  readonly connectionTimeoutMs?: number;
  /** Per-request timeout. */
  readonly requestTimeoutMs?: number;
  /** kafkajs' own retries of a failed request (its backoff starts at 100 ms). */
  readonly retries?: number;
  /** kafkajs log lines, routed here instead of the console (default: dropped). */
  readonly onLog?: (level: 'error' | 'warn' | 'info' | 'debug', message: string) => void;
}

const DEFAULTS = { connectionTimeoutMs: 3_000, requestTimeoutMs: 5_000, retries: 1 } as const;

export const kafkajsTls = (tls: KafkaTls | undefined): boolean | ConnectionOptions => {
  if (tls === undefined) return false;
  const options: ConnectionOptions = { rejectUnauthorized: !tls.unsafeSsl };
  if (tls.ca !== undefined) options.ca = [tls.ca];
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.keyPassword !== undefined) options.passphrase = tls.keyPassword;
  return options;
};

export const kafkajsSasl = (sasl: KafkaSasl | undefined): SASLOptions | undefined => {
  switch (sasl?.mechanism) {
    case undefined:
      return undefined;
    case 'plaintext':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram_sha256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram_sha512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
    case 'oauthbearer':
      return { mechanism: 'oauthbearer', oauthBearerProvider: createOAuthBearerProvider(sasl) };
  }
};

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

const chain = (error: unknown): ErrorLike[] => {
  const out: ErrorLike[] = [];
  let e: unknown = error;
  while (e !== null && typeof e === 'object' && out.length < 8) {
    out.push(e as ErrorLike);
    e = (e as ErrorLike).cause;
  }
  return out;
};

/**
 * authentication: SASL refused; request: the broker answered with an error code (the
 * connection works); connection: anything else (refused, closed, timed out, no broker).
 */
export const failureKind = (error: unknown): KafkaFailureKind => {
  const names = chain(error).map((e) => String(e.name));
  if (names.includes('KafkaJSSASLAuthenticationError')) return 'authentication';
  if (names.some((n) => n === 'KafkaJSProtocolError' || n === 'KafkaJSOffsetOutOfRange')) return 'request';
  return 'connection';
};

const messageOf = (error: unknown): string => {
  const messages = chain(error)
    .map((e) => (typeof e.message === 'string' ? e.message : ''))
    .filter((m) => m !== '');
  return [...new Set(messages)].join(': ') || String(error);
};

/** One admin client and the reads running on it; retired admins disconnect when idle. */
interface Generation {
  readonly admin: Admin;
  readonly connected: Promise<void>;
  inflight: number;
  retired: boolean;
}

export const createKafkajsClient = (
  settings: KafkaConnectionSettings,
  options: KafkajsOptions = {},
): KafkaOffsetsClient => {
  const onLog = options.onLog;
  const kafka = new Kafka({
    clientId: 'ebb',
    brokers: [...settings.brokers],
    ssl: kafkajsTls(settings.tls),
    ...(settings.sasl === undefined ? {} : { sasl: kafkajsSasl(settings.sasl) as SASLOptions }),
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    retry: { retries: options.retries ?? DEFAULTS.retries, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: onLog === undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator: () => (entry) => {
      const level =
        entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'info';
      onLog?.(level, `${entry.namespace}: ${entry.log.message}`);
    },
  });

  let closed = false;
  let current: Generation | undefined;

  const disconnect = (g: Generation): Promise<void> => g.admin.disconnect().catch(() => {});

  const open = (): Generation => {
    const admin = kafka.admin();
    const connected = admin.connect();
    // Observed here so an unawaited failure is never an unhandled rejection.
    connected.catch(() => {});
    return { admin, connected, inflight: 0, retired: false };
  };

  const retire = (g: Generation) => {
    if (current === g) current = undefined;
    g.retired = true;
    if (g.inflight === 0) void disconnect(g);
  };

  const run = async <T>(op: (admin: Admin) => Promise<T>): Promise<T> => {
    if (closed) throw new KafkaClientError('connection', 'the Kafka client is closed');
    current ??= open();
    const g = current;
    g.inflight++;
    try {
      await g.connected;
      return await op(g.admin);
    } catch (error) {
      const kind = failureKind(error);
      if (kind !== 'request') retire(g);
      throw new KafkaClientError(kind, messageOf(error));
    } finally {
      g.inflight--;
      if (g.retired && g.inflight === 0) void disconnect(g);
    }
  };

  const groupOffsets = (group: string, topics?: readonly string[]): Promise<TopicOffsets[]> =>
    run(async (admin) => {
      const answer = await admin.fetchOffsets(
        topics === undefined ? { groupId: group } : { groupId: group, topics: [...topics] },
      );
      return answer.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({ partition: p.partition, offset: Number(p.offset) })),
      }));
    });

  return {
    topicOffsets: (topic) =>
      run(async (admin) => ({
        topic,
        partitions: (await admin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          offset: Number(p.high),
        })),
      })),
    groupOffsets,
    groupTopics: async (group) => (await groupOffsets(group)).map((t) => t.topic),
    async close() {
      closed = true;
      const g = current;
      current = undefined;
      if (g !== undefined) {
        g.retired = true;
        await disconnect(g);
      }
    },
  };
};

export const kafkajsClientFactory: KafkaClientFactory = (settings) => createKafkajsClient(settings);
