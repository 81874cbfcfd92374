// The RabbitMQ scaler's I/O: AMQP passive declares on a shared connection (connections.ts), or
// the management API (management.ts); the arithmetic is metric.ts's. Parsing refuses a broker
// that cannot be resolved once the auth is known; a trigger built without it (an authenticationRef
// whose TriggerAuthentication resolved to no parameters) still gets a scaler: every read fails
// with the problem, so the controller reports it where it reports read errors.
import { fail, formatProblem, InvalidTriggerMetadata, ok, type Result } from '../../src/api/reasons.ts';
import type { Clock } from '../../src/clock.ts';
import type { MetricSpec, ReadError, Scaler, TriggerContext } from '../../src/scaler.ts';
import { type ManagementEndpoint, resolveBroker } from './broker.ts';
import { AmqpConnections } from './connections.ts';
import { createHttpGet, getQueue, type HttpGet, listQueues } from './management.ts';
import {
  combineQueues,
  type QueueInfo,
  rabbitMQReading,
  statusFromDeclare,
  statusFromQueue,
} from './metric.ts';
import type { RabbitMQConfig } from './schema.ts';

/** Where reads go: what every RabbitMQ scaler of one controller shares (tests substitute theirs). */
export interface RabbitMQSources {
  readonly amqp: AmqpConnections;
  readonly http: HttpGet;
}

/** A controller's RabbitMQ sources: its own AMQP connections and HTTP agents (built once in wiring). */
export const createRabbitMQSources = (clock: Clock): RabbitMQSources => ({
  amqp: new AmqpConnections({ clock }),
  http: createHttpGet(clock),
});

const readQueueOverHttp = (
  config: RabbitMQConfig,
  endpoint: ManagementEndpoint,
  signal: AbortSignal,
  get: HttpGet,
): Promise<Result<QueueInfo, ReadError>> =>
  config.useRegex
    ? listQueues(endpoint, config.queueName, config.pageSize, signal, get).then((listed) =>
        listed.ok ? ok(combineQueues(listed.value, config.operation)) : listed,
      )
    : getQueue(endpoint, config.queueName, signal, get);

export const createRabbitMQScaler = (
  config: RabbitMQConfig,
  ctx: TriggerContext,
  metric: MetricSpec,
  sources: RabbitMQSources,
): Scaler => {
  const broker = resolveBroker(config, ctx);
  if (!broker.ok) {
    const error: ReadError = {
      reason: InvalidTriggerMetadata,
      message: broker.error.map(formatProblem).join('; '),
    };
    return { metric, read: async () => fail(error), close: async () => {} };
  }
  const endpoint = broker.value;
  if (endpoint.protocol === 'amqp') {
    const lease = sources.amqp.acquire(endpoint);
    return {
      metric,
      read: async (_now, signal) => {
        const declared = await lease.checkQueue(config.queueName, signal);
        if (!declared.ok) return declared;
        const status = statusFromDeclare(declared.value.messageCount);
        return ok(rabbitMQReading(config.mode, status, config.activationValue));
      },
      close: () => lease.release(),
    };
  }

  return {
    metric,
    read: async (_now, signal) => {
      const queue = await readQueueOverHttp(config, endpoint, signal, sources.http);
      if (!queue.ok) return queue;
      const status = statusFromQueue(queue.value, config.excludeUnacknowledged);
      return ok(rabbitMQReading(config.mode, status, config.activationValue));
    },
    // HTTP keep-alive sockets are pooled process-wide; nothing of this trigger's to free.
    close: async () => {},
  };
};
