import { describe, expect, it } from 'vitest';
import {
  combineQueues,
  type QueueInfo,
  type QueueStatus,
  rabbitMQReading,
  statusFromDeclare,
  statusFromQueue,
} from '../../../scalers/rabbitmq/metric.ts';
import type { Operation, RabbitMQMode } from '../../../scalers/rabbitmq/schema.ts';

const q = (messages: number, publish = 0, deliver = 0, activation = 0) => ({
  status: { messages, publishRate: publish, deliverGetRate: deliver } satisfies QueueStatus,
  activation,
});

interface Row {
  readonly label: string;
  readonly mode: RabbitMQMode;
  readonly input: ReturnType<typeof q>;
  readonly value: number;
  readonly active: boolean;
}

// KEDA's testQueueInfoTestData (activation 0; rows with messages/publish/deliverGet), with the
// metric KEDA reports added, then KEDA's ExpectedQueueConsumptionTime table (activation 1).
const rows: Row[] = [
  // QueueLength: m = messages, active iff m > a
  { label: 'QL 4 messages', mode: 'QueueLength', input: q(4), value: 4, active: true },
  { label: 'QL 1 message', mode: 'QueueLength', input: q(1), value: 1, active: true },
  { label: 'QL empty', mode: 'QueueLength', input: q(0), value: 0, active: false },
  { label: 'QL empty with rates', mode: 'QueueLength', input: q(0, 1.4, 2), value: 0, active: false },
  {
    label: 'QL 4 messages, activation 4',
    mode: 'QueueLength',
    input: q(4, 0, 0, 4),
    value: 4,
    active: false,
  },
  { label: 'QL 5 messages, activation 4', mode: 'QueueLength', input: q(5, 0, 0, 4), value: 5, active: true },
  // MessageRate: m = publish, active iff publish > a or messages > a
  { label: 'MR backlog, no publish', mode: 'MessageRate', input: q(4, 0, 1.3), value: 0, active: true },
  { label: 'MR idle', mode: 'MessageRate', input: q(0), value: 0, active: false },
  { label: 'MR publishing', mode: 'MessageRate', input: q(4, 1.4, 1.3), value: 1.4, active: true },
  {
    label: 'MR publishing into an empty queue',
    mode: 'MessageRate',
    input: q(0, 1.4, 0),
    value: 1.4,
    active: true,
  },
  // DeliverGetRate: m = deliverGet, active iff m > a
  { label: 'DGR 1/s', mode: 'DeliverGetRate', input: q(30, 5, 1), value: 1, active: true },
  { label: 'DGR 12.5/s', mode: 'DeliverGetRate', input: q(10, 0, 12.5), value: 12.5, active: true },
  { label: 'DGR idle', mode: 'DeliverGetRate', input: q(0), value: 0, active: false },
  {
    label: 'DGR backlog nobody consumes',
    mode: 'DeliverGetRate',
    input: q(45, 5.5, 0),
    value: 0,
    active: false,
  },
  // PublishedToDeliveredRatio
  { label: 'P2D 2/1', mode: 'PublishedToDeliveredRatio', input: q(10, 2, 1), value: 2, active: true },
  { label: 'P2D 1/2', mode: 'PublishedToDeliveredRatio', input: q(10, 1, 2, 1), value: 0.5, active: false },
  {
    label: 'P2D nobody consumes',
    mode: 'PublishedToDeliveredRatio',
    input: q(10, 3, 0, 1),
    value: 1,
    active: true,
  },
  {
    label: 'P2D nothing published',
    mode: 'PublishedToDeliveredRatio',
    input: q(10, 0, 2, 1),
    value: 0,
    active: false,
  },
  // ExpectedQueueConsumptionTime (KEDA's testExpectedQueueConsumptionTimeTestData, activation 1)
  {
    label: 'EQCT empty idle queue',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(0, 0, 0, 1),
    value: 0,
    active: false,
  },
  {
    label: 'EQCT empty queue with decaying delivery rate',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(0, 0, 2, 1),
    value: 0,
    active: false,
  },
  {
    label: 'EQCT backlog without consumers',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(10, 3, 0, 1),
    value: 1,
    active: true,
  },
  // (3-2)/2 + 10/2 = 5.5
  {
    label: 'EQCT backlog with consumers',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(10, 3, 2, 1),
    value: 5.5,
    active: true,
  },
  // (0-2)/2 + 4/2 = 1, not above the activation value
  {
    label: 'EQCT draining backlog',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(4, 0, 2, 1),
    value: 1,
    active: false,
  },
  // (0-10)/10 + 1/10 = -0.9: returned as it is; the controller's boundary counts it as 0
  {
    label: 'EQCT negative estimate is returned for the boundary to clamp',
    mode: 'ExpectedQueueConsumptionTime',
    input: q(1, 0, 10),
    value: -0.9,
    active: false,
  },
];

describe('rabbitMQReading', () => {
  it.each(rows)('$label', ({ mode, input, value, active }) => {
    const reading = rabbitMQReading(mode, input.status, input.activation);
    expect(reading.value).toBeCloseTo(value, 10);
    expect(reading.active).toBe(active);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, -3])(
    'hands %s on unchanged (the boundary fails or clamps it, never a silent 0 here)',
    (bad) => {
      expect(
        rabbitMQReading('MessageRate', { messages: 0, publishRate: bad, deliverGetRate: 0 }, 0).value,
      ).toBe(bad);
    },
  );
});

const queue = (messages: number, ready: number, publish: number, deliver: number, name = 'q'): QueueInfo => ({
  name,
  messages,
  messagesReady: ready,
  messagesUnacknowledged: messages - ready,
  consumers: 1,
  publishRate: publish,
  deliverGetRate: deliver,
});

describe('statusFromQueue / statusFromDeclare', () => {
  it('counts ready + unacked by default, ready only with excludeUnacknowledged', () => {
    const info = queue(4, 3, 1.5, 0.5);
    expect(statusFromQueue(info, false)).toEqual({ messages: 4, publishRate: 1.5, deliverGetRate: 0.5 });
    expect(statusFromQueue(info, true)).toEqual({ messages: 3, publishRate: 1.5, deliverGetRate: 0.5 });
  });

  it('takes the passive declare count as is (ready messages), with no rates', () => {
    expect(statusFromDeclare(35)).toEqual({ messages: 35, publishRate: 0, deliverGetRate: 0 });
  });
});

// KEDA's testRegexQueueInfoTestData, as combinations.
const two = [queue(8, 6, 0, 2, 'evaluate_trials'), queue(4, 3, 4, 4, 'evaluate_trial2')];
const combineCases: Array<{
  label: string;
  queues: QueueInfo[];
  operation: Operation;
  expected: Partial<QueueInfo>;
}> = [
  {
    label: 'sum',
    queues: two,
    operation: 'sum',
    expected: { messages: 12, messagesReady: 9, publishRate: 4, deliverGetRate: 6 },
  },
  {
    label: 'avg (ebb keeps fractions; KEDA divides counts as integers)',
    queues: [queue(4, 4, 0, 0), queue(1, 1, 0, 0)],
    operation: 'avg',
    expected: { messages: 2.5, messagesReady: 2.5 },
  },
  {
    label: 'avg',
    queues: two,
    operation: 'avg',
    expected: { messages: 6, messagesReady: 4.5, publishRate: 2, deliverGetRate: 3 },
  },
  {
    label: 'max, field by field',
    queues: two,
    operation: 'max',
    expected: { messages: 8, messagesReady: 6, publishRate: 4, deliverGetRate: 4 },
  },
  { label: 'one queue', queues: [queue(4, 4, 0, 0)], operation: 'avg', expected: { messages: 4 } },
  {
    label: 'nothing matched: zeros',
    queues: [],
    operation: 'max',
    expected: { name: 'composed-queue', messages: 0, messagesReady: 0, publishRate: 0, deliverGetRate: 0 },
  },
];

describe('combineQueues', () => {
  it.each(combineCases)('$label', ({ queues, operation, expected }) => {
    expect(combineQueues(queues, operation)).toMatchObject(expected);
  });

  it('combines 300,000 queues (more than a call takes arguments)', () => {
    const queues = Array.from({ length: 300_000 }, (_, i) => queue(i % 7, 1, 0, 0));
    expect(combineQueues(queues, 'max')).toMatchObject({ messages: 6, messagesReady: 1 });
    expect(combineQueues(queues, 'sum')).toMatchObject({ messagesReady: 300_000 });
  });

  it('with a regex, an empty match is inactive and an active one is active (KEDA regex table)', () => {
    const empty = statusFromQueue(combineQueues([], 'sum'), false);
    const some = statusFromQueue(combineQueues([queue(0, 0, 0, 0), queue(4, 3, 0, 0)], 'sum'), false);
    expect(rabbitMQReading('QueueLength', empty, 0)).toEqual({ value: 0, active: false });
    expect(rabbitMQReading('QueueLength', some, 0)).toEqual({ value: 4, active: true });
  });
});
