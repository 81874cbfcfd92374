// KEDA's `kafka` and `apache-kafka` trigger metadata (pkg/scalers/kafka_scaler.go,
// apache_kafka_scaler.go): names, defaults and the cross-field rules of kafkaMetadata.Validate.
// Values are trimmed and an empty value counts as absent, as KEDA's typed config does.
// Credentials (username, password, ca, cert, key, keyPassword, OAuth client settings) are read
// from the authenticationRef's parameters only, never from the metadata, as in KEDA; `tls`,
// `sasl` and `saslTokenProvider` from the metadata first, then the authenticationRef.
import { z } from 'zod';
import { fail, ok, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';
import {
  bool,
  fromEnvProblem,
  GO_INT,
  number,
  oneOf,
  parseMetadata,
  required,
  text,
} from '../kit/metadata.ts';
import { type KafkaAuth, resolveKafkaAuth } from './auth.ts';

export type OffsetResetPolicy = 'latest' | 'earliest';

/** Everything `computeKafkaLag` needs: the lag rules of one trigger. */
export interface KafkaLagRules {
  /** Target lag per replica (the HPA's AverageValue); > 0. */
  readonly lagThreshold: number;
  /** Active iff the lag (persistent lag included) > this; >= 0. */
  readonly activationLagThreshold: number;
  /** Where a consumer without a committed offset would start: the lag it is counted with. */
  readonly offsetResetPolicy: OffsetResetPolicy;
  /** Lets the metric exceed partitions × lagThreshold (more replicas than partitions). */
  readonly allowIdleConsumers: boolean;
  /** A partition whose committed offset did not move since the last poll adds 0 to the metric. */
  readonly excludePersistentLag: boolean;
  /** A partition without a committed offset counts 0 instead of 1 (latest) or its size (earliest). */
  readonly scaleToZeroOnInvalidOffset: boolean;
  /** Caps at partitions-with-lag × lagThreshold instead of partitions × lagThreshold. */
  readonly limitToPartitionsWithLag: boolean;
  /** Rounds the metric up to a factor of the partition count (× lagThreshold). */
  readonly ensureEvenDistributionOfPartitions: boolean;
  /** Partition ids to count; undefined counts all (KEDA ignores the setting without a topic). */
  readonly partitionLimitation: readonly number[] | undefined;
}

export interface KafkaConfig extends KafkaLagRules {
  readonly consumerGroup: string;
  /** Empty: every topic the group has committed offsets for. `apache-kafka` may list several. */
  readonly topics: readonly string[];
  readonly connection: KafkaAuth & { readonly brokers: readonly string[] };
}

export const KAFKA_TYPE = 'kafka';
export const APACHE_KAFKA_TYPE = 'apache-kafka';

/** Kafka's integers (strconv.Atoi) with a lower bound: `<minMessage>, got "<value>"` below it. */
const int = (fallback: number, min: number, minMessage: string) =>
  number(GO_INT, { fallback, within: (n) => n >= min, outOfRange: minMessage });

/** `host:port` or `[ipv6]:port`, port 1..65535. */
const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

const brokers = required(' (a comma-separated list of host:port)').transform((v, ctx) => {
  const list = v.split(',').map((b) => b.trim());
  for (const broker of list) {
    const port = Number(BROKER.exec(broker)?.[2] ?? Number.NaN);
    if (!(port >= 1 && port <= 65535)) {
      ctx.addIssue({
        code: 'custom',
        message:
          broker === ''
            ? `has an empty entry in "${v}"; expected a comma-separated list of host:port`
            : `broker "${broker}" is not host:port (in "${v}")`,
      });
      return z.NEVER;
    }
  }
  return list;
});

/**
 * KEDA's parsePartitionLimitation: `"1,2,10-20"`, ids and inclusive ranges, whitespace allowed.
 * Deliberately stricter: a reversed range (`"5-3"`, which KEDA turns into nothing) is an error.
 */
export const parsePartitionLimitation = (value: string): Result<number[], string> => {
  const ids: number[] = [];
  const id = (s: string): number | undefined => {
    const t = s.trim();
    const n = Number(t);
    return /^\d+$/.test(t) && n <= 2_147_483_647 ? n : undefined;
  };
  for (const raw of value.split(',')) {
    const part = raw.trim();
    if (part.includes('-')) {
      const bounds = part.split('-');
      const start = bounds.length === 2 ? id(bounds[0] ?? '') : undefined;
      const end = bounds.length === 2 ? id(bounds[1] ?? '') : undefined;
      if (start === undefined || end === undefined) {
        return fail(`invalid partition range "${part}" in "${value}"; expected e.g. "1,2,10-20"`);
      }
      if (start > end) return fail(`partition range "${part}" in "${value}" runs backwards`);
      for (let i = start; i <= end; i++) ids.push(i);
    } else {
      const n = id(part);
      if (n === undefined)
        return fail(`invalid partition "${part}" in "${value}"; expected e.g. "1,2,10-20"`);
      ids.push(n);
    }
  }
  return ok(ids);
};

const partitionLimitation = text.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const parsed = parsePartitionLimitation(v);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

/** sarama.ParseKafkaVersion's shapes: `0.x.y.z` before 1.0, `x.y.z` after. kafkajs negotiates itself. */
const version = text.transform((v, ctx) => {
  if (v === undefined || /^0\.\d+\.\d+\.\d+$/.test(v) || /^[1-9]\d*\.\d+\.\d+$/.test(v)) return v;
  ctx.addIssue({ code: 'custom', message: `is not a Kafka version such as "3.9.0", got "${v}"` });
  return z.NEVER;
});

const metadataSchema = (type: string) =>
  z
    .object({
      bootstrapServers: brokers,
      consumerGroup: required(''),
      topic: text,
      partitionLimitation,
      lagThreshold: int(10, 1, 'must be greater than 0'),
      activationLagThreshold: int(0, 0, 'must be >= 0'),
      offsetResetPolicy: oneOf(['latest', 'earliest'] as const, 'latest'),
      allowIdleConsumers: bool(false),
      excludePersistentLag: bool(false),
      scaleToZeroOnInvalidOffset: bool(false),
      limitToPartitionsWithLag: bool(false),
      ensureEvenDistributionOfPartitions: bool(false),
      fullMetadata: bool(true),
      version: type === KAFKA_TYPE ? version : text,
      unsafeSsl: bool(false),
      bootstrapServersFromEnv: text,
      consumerGroupFromEnv: text,
      topicFromEnv: text,
    })
    .superRefine((m, ctx) => {
      const rule = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if (m.allowIdleConsumers && m.limitToPartitionsWithLag) {
        rule('limitToPartitionsWithLag', 'cannot be "true" together with allowIdleConsumers "true"');
      }
      if (m.topic === undefined && m.limitToPartitionsWithLag) {
        rule('topic', 'is required when limitToPartitionsWithLag is "true"');
      }
      if (m.limitToPartitionsWithLag && m.ensureEvenDistributionOfPartitions) {
        rule(
          'ensureEvenDistributionOfPartitions',
          'cannot be "true" together with limitToPartitionsWithLag "true"',
        );
      }
      if (m.topic === undefined && m.ensureEvenDistributionOfPartitions) {
        rule('topic', 'is required when ensureEvenDistributionOfPartitions is "true"');
      }
      if (m.topic === undefined && !m.fullMetadata) {
        rule('topic', 'is required when fullMetadata is "false"');
      }
    });

/** Every key the kafka scalers read from metadata: the schema's rows, and tls, sasl, saslTokenProvider (auth.ts). */
export const KAFKA_METADATA_KEYS: readonly string[] = [
  ...Object.keys(metadataSchema(KAFKA_TYPE).shape),
  'tls',
  'sasl',
  'saslTokenProvider',
];

/**
 * `*FromEnv` keys, refused where KEDA would read them: its order for these three is the trigger
 * metadata, then the container env (kafka_scaler.go: `order=triggerMetadata;resolvedEnv`), so
 * whenever the key itself is empty. A TriggerAuthentication cannot provide them, in KEDA or ebb.
 */
const fromEnvProblems = (metadata: Readonly<Record<string, string>>, index: number): Problem[] =>
  (['bootstrapServers', 'consumerGroup', 'topic'] as const).flatMap((key) =>
    metadata[`${key}FromEnv`]?.trim() && !metadata[key]?.trim()
      ? [
          fromEnvProblem(
            index,
            `${key}FromEnv`,
            `set ${key} in the trigger metadata (KEDA reads it from the metadata or the environment, never from a TriggerAuthentication)`,
          ),
        ]
      : [],
  );

/** Parses `spec.triggers[i]` of a kafka or apache-kafka trigger; problems carry full field paths. */
export const parseKafkaMetadata = (ctx: TriggerContext): Result<KafkaConfig, Problem[]> => {
  const type = ctx.trigger.type;
  const envProblems = fromEnvProblems(ctx.trigger.metadata, ctx.index);
  if (envProblems.length > 0) return fail(envProblems);
  const parsed = parseMetadata(metadataSchema(type), ctx);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  const auth = resolveKafkaAuth(ctx, m.unsafeSsl);
  if (!auth.ok) return auth;

  // apache-kafka takes a comma-separated list of topics; kafka one topic.
  const topics =
    m.topic === undefined
      ? []
      : type === APACHE_KAFKA_TYPE
        ? m.topic
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== '')
        : [m.topic];
  return ok({
    consumerGroup: m.consumerGroup,
    topics,
    // Without a topic KEDA drops the limitation silently (parse test "ignore partitionLimitation if no topic").
    partitionLimitation: topics.length === 0 ? undefined : m.partitionLimitation,
    lagThreshold: m.lagThreshold,
    activationLagThreshold: m.activationLagThreshold,
    offsetResetPolicy: m.offsetResetPolicy,
    allowIdleConsumers: m.allowIdleConsumers,
    excludePersistentLag: m.excludePersistentLag,
    scaleToZeroOnInvalidOffset: m.scaleToZeroOnInvalidOffset,
    limitToPartitionsWithLag: m.limitToPartitionsWithLag,
    ensureEvenDistributionOfPartitions: m.ensureEvenDistributionOfPartitions,
    connection: { brokers: m.bootstrapServers, ...auth.value },
  });
};
