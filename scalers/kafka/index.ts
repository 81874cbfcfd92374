// KEDA's `kafka` and `apache-kafka` triggers: the consumer group's lag over its topic(s), target
// `lagThreshold` per replica (AverageValue, or the trigger's metricType Value), capped so
// replicas never exceed partitions unless allowIdleConsumers. Both types share the lag rules.
import { metricName, type ScalerDefinition } from '../../src/scaler.ts';
import {
  APACHE_KAFKA_TYPE,
  KAFKA_METADATA_KEYS,
  KAFKA_TYPE,
  type KafkaConfig,
  parseKafkaMetadata,
} from './schema.ts';
import { createKafkaScaler, type KafkaDeps } from './source.ts';

/**
 * KEDA's metric name (GetMetricSpecForScaling): `kafka-<topic>`, or `kafka-<group>-topics`
 * without one; apache-kafka joins its topics with commas. `s<index>-` prefixed, sanitised.
 */
export const kafkaMetricName = (
  index: number,
  config: Pick<KafkaConfig, 'topics' | 'consumerGroup'>,
): string =>
  metricName(
    index,
    config.topics.length > 0 ? `kafka-${config.topics.join(',')}` : `kafka-${config.consumerGroup}-topics`,
  );

export const kafkaScaler: Readonly<ScalerDefinition<KafkaConfig, KafkaDeps>> = {
  types: [KAFKA_TYPE, APACHE_KAFKA_TYPE],
  metadataKeys: KAFKA_METADATA_KEYS,
  parse: parseKafkaMetadata,
  metric: (config, ctx) => ({
    name: kafkaMetricName(ctx.index, config),
    target: config.lagThreshold,
    metricType: ctx.trigger.metricType === 'Value' ? 'Value' : 'AverageValue',
  }),
  create: (config, ctx, deps) => createKafkaScaler(config, kafkaScaler.metric(config, ctx), deps),
};
