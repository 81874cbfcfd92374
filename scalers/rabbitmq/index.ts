// KEDA's `rabbitmq` trigger: the depth (or a rate) of one queue, or of the queues a regex
// matches, read over AMQP (passive declare) or the management API. Metric target `value`.
import { metricName, type ScalerDefinition } from '../../src/scaler.ts';
import { parseRabbitMQTrigger } from './broker.ts';
import { type RabbitMQConfig, RabbitMQMetadataSchema } from './schema.ts';
import { createRabbitMQScaler, type RabbitMQSources } from './source.ts';

/** Go's url.QueryEscape (KEDA escapes the queue name with it before sanitising the metric name). */
export const goQueryEscape = (text: string): string =>
  encodeURIComponent(text.toWellFormed())
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

export const rabbitmqScaler: Readonly<ScalerDefinition<RabbitMQConfig, RabbitMQSources>> = {
  types: ['rabbitmq'],
  metadataKeys: Object.keys(RabbitMQMetadataSchema.shape),
  parse: parseRabbitMQTrigger,
  // s<index>-rabbitmq-<QueryEscape(queueName)>, sanitised: `s1-rabbitmq-namespace-2Fname`
  metric: (config, ctx) => ({
    name: metricName(ctx.index, `rabbitmq-${goQueryEscape(config.queueName)}`),
    target: config.value,
    metricType: ctx.trigger.metricType === 'Value' ? 'Value' : 'AverageValue',
  }),
  create: (config, ctx, sources) =>
    createRabbitMQScaler(config, ctx, rabbitmqScaler.metric(config, ctx), sources),
};
