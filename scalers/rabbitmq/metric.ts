// The RabbitMQ metric, pure: queue readings in, { value, active } out (KEDA's
// GetMetricsAndActivity and getComposedQueue, without the I/O).
import type { Reading } from '../../src/scaler.ts';
import type { Operation, RabbitMQMode } from './schema.ts';

/** One queue as the management API reports it (`GET /api/queues/<vhost>/<name>`). */
export interface QueueInfo {
  readonly name: string;
  /** Ready + unacknowledged. */
  readonly messages: number;
  readonly messagesReady: number;
  readonly messagesUnacknowledged: number;
  readonly consumers: number;
  /** `message_stats.publish_details.rate`, messages/s. */
  readonly publishRate: number;
  /** `message_stats.deliver_get_details.rate`, messages/s. */
  readonly deliverGetRate: number;
}

/** What the modes compute from. */
export interface QueueStatus {
  readonly messages: number;
  readonly publishRate: number;
  readonly deliverGetRate: number;
}

export const EMPTY_QUEUE: Readonly<QueueInfo> = {
  name: '',
  messages: 0,
  messagesReady: 0,
  messagesUnacknowledged: 0,
  consumers: 0,
  publishRate: 0,
  deliverGetRate: 0,
};

type Counter = Exclude<keyof QueueInfo, 'name'>;
const COUNTERS: readonly Counter[] = [
  'messages',
  'messagesReady',
  'messagesUnacknowledged',
  'consumers',
  'publishRate',
  'deliverGetRate',
];

/**
 * The queues a regex matched, combined field by field (KEDA's getComposedQueue):
 *   sum: Σ field        avg: Σ field / n        max: max field (each field on its own)
 * No queue matched: all zeros. KEDA averages message counts with integer division (avg of 4
 * and 1 is 2); ebb keeps the fraction (2.5).
 */
export const combineQueues = (queues: readonly QueueInfo[], operation: Operation): QueueInfo => {
  if (queues.length === 0) return { ...EMPTY_QUEUE, name: 'composed-queue' };
  const combined: Record<Counter, number> = { ...EMPTY_QUEUE };
  for (const field of COUNTERS) {
    // loops, not Math.max(...values): a regex can match more queues than a call takes arguments
    let sum = 0;
    let max = 0;
    for (const q of queues) {
      sum += q[field];
      if (q[field] > max) max = q[field];
    }
    combined[field] = operation === 'sum' ? sum : operation === 'avg' ? sum / queues.length : max;
  }
  return { name: 'composed-queue', ...combined };
};

/** From the management API: `messages`, or `messages_ready` with excludeUnacknowledged. */
export const statusFromQueue = (info: QueueInfo, excludeUnacknowledged: boolean): QueueStatus => ({
  messages: excludeUnacknowledged ? info.messagesReady : info.messages,
  publishRate: info.publishRate,
  deliverGetRate: info.deliverGetRate,
});

/** From an AMQP passive declare: its message count is the ready messages; AMQP has no rates. */
export const statusFromDeclare = (messageCount: number): QueueStatus => ({
  messages: messageCount,
  publishRate: 0,
  deliverGetRate: 0,
});

/**
 * The metric of each mode and its activity (a = activationValue), as KEDA computes them:
 *   QueueLength        m = messages                                active: m > a
 *   MessageRate        m = publish                                 active: publish > a or messages > a
 *   DeliverGetRate     m = deliverGet                              active: m > a
 *   PublishedToDeliveredRatio
 *                      m = publish / deliverGet   (publish > 0, deliverGet > 0)
 *                        = a                      (publish > 0, deliverGet = 0: nobody consumes)
 *                        = 0                      (nothing published)
 *                                                                 active: m > a or (publish > 0 and deliverGet = 0)
 *   ExpectedQueueConsumptionTime (seconds until the queue drains at the current rates)
 *                      m = 0                      (messages = 0)
 *                        = a                      (deliverGet = 0: nobody consumes)
 *                        = (publish - deliverGet) / deliverGet + messages / deliverGet
 *                                                                 active: m > a or (deliverGet = 0 and messages > 0)
 * The value is returned as computed: the controller's boundary (src/scaling/readings.ts) fails a
 * NaN or infinite one and clamps a negative one (an EQCT while draining) to 0, counting it.
 */
export const rabbitMQReading = (
  mode: RabbitMQMode,
  status: QueueStatus,
  activationValue: number,
): Reading => {
  const { messages, publishRate: publish, deliverGetRate: deliverGet } = status;
  const a = activationValue;
  switch (mode) {
    case 'QueueLength':
      return { value: messages, active: messages > a };
    case 'MessageRate':
      return { value: publish, active: publish > a || messages > a };
    case 'DeliverGetRate':
      return { value: deliverGet, active: deliverGet > a };
    case 'PublishedToDeliveredRatio': {
      const unconsumed = publish > 0 && deliverGet === 0;
      const ratio = unconsumed ? a : publish > 0 && deliverGet > 0 ? publish / deliverGet : 0;
      return { value: ratio, active: ratio > a || unconsumed };
    }
    case 'ExpectedQueueConsumptionTime': {
      const stuck = deliverGet === 0 && messages > 0;
      const eta =
        messages === 0
          ? 0
          : deliverGet === 0
            ? a
            : (publish - deliverGet) / deliverGet + messages / deliverGet;
      return { value: eta, active: eta > a || stuck };
    }
  }
};
