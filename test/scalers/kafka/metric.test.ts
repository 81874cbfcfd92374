// computeKafkaLag against every lag case of KEDA's Kafka scaler tests: the unit tests of
// pkg/scalers/kafka_scaler_test.go (TestGetLagForPartition_MissingPartition, TestFindFactors,
// TestGetNextFactor, TestGetTopicPartitions) and the scenarios of the end-to-end test
// tests/scalers/kafka/kafka_test.go, each poll written as offsets. Labels cite the upstream test.
import { describe, expect, it } from 'vitest';
import {
  computeKafkaLag,
  findFactors,
  joinOffsets,
  type KafkaLag,
  nextBalancedFactor,
  type PartitionOffsets,
  type PreviousOffsets,
} from '../../../scalers/kafka/metric.ts';
import type { KafkaLagRules } from '../../../scalers/kafka/schema.ts';

const NONE = -1;

/** Partitions 0..n-1 of `topic`: latest offsets and committed offsets (NONE = nothing committed). */
const topic = (name: string, latest: readonly number[], committed: readonly number[]): PartitionOffsets[] =>
  latest.map((latestOffset, partition) => ({
    topic: name,
    partition,
    latestOffset,
    committedOffset: committed[partition] ?? NONE,
  }));

const RULES: KafkaLagRules = {
  lagThreshold: 10,
  activationLagThreshold: 0,
  offsetResetPolicy: 'latest',
  allowIdleConsumers: false,
  excludePersistentLag: false,
  scaleToZeroOnInvalidOffset: false,
  limitToPartitionsWithLag: false,
  ensureEvenDistributionOfPartitions: false,
  partitionLimitation: undefined,
};

interface Row {
  readonly label: string;
  readonly readings: readonly PartitionOffsets[];
  readonly rules?: Partial<KafkaLagRules>;
  readonly previous?: PreviousOffsets;
  /** The fields to compare, or the failure's message. */
  readonly expect: Partial<Omit<KafkaLag, 'previous'>> | { readonly error: string };
}

/** The one helper: the listed fields of the result (a failure shows as its message). */
const expectLag = (row: Row) => {
  const result = computeKafkaLag(row.readings, { ...RULES, ...row.rules }, row.previous ?? {});
  const got = result.ok ? result.value : { error: result.error };
  const picked = Object.fromEntries(
    Object.keys(row.expect).map((k) => [k, (got as Record<string, unknown>)[k]]),
  );
  expect(picked).toEqual(row.expect);
};

// e2e settings: lagThreshold 1, activationLagThreshold 1 (singleScaledObjectTemplate), 3 partitions.
const E2E = { lagThreshold: 1, activationLagThreshold: 1 };

const TABLE: readonly Row[] = [
  // ---- TestGetLagForPartition_MissingPartition (per-partition lag, before the cap) ----
  {
    label:
      'MissingPartition Scenario 1: earliest, scaleToZeroOnInvalidOffset, no committed offset, partition missing from latest',
    readings: joinOffsets(
      [{ topic: 'test-topic', partitions: [] }],
      [{ topic: 'test-topic', partitions: [{ partition: 0, offset: NONE }] }],
    ),
    rules: { offsetResetPolicy: 'earliest', scaleToZeroOnInvalidOffset: true },
    expect: { totalLag: 0, totalLagForActivation: 0, value: 0, partitions: 0 },
  },
  {
    label:
      'MissingPartition Scenario 2: earliest, no committed offset, partition missing from latest -> 0, not an error',
    readings: joinOffsets(
      [{ topic: 'test-topic', partitions: [] }],
      [{ topic: 'test-topic', partitions: [{ partition: 0, offset: NONE }] }],
    ),
    rules: { offsetResetPolicy: 'earliest' },
    expect: { totalLag: 0, totalLagForActivation: 0, partitions: 0 },
  },
  {
    label: 'MissingPartition Scenario 3: committed 100, partition missing from latest -> 0, not an error',
    readings: joinOffsets(
      [{ topic: 'test-topic', partitions: [] }],
      [{ topic: 'test-topic', partitions: [{ partition: 0, offset: 100 }] }],
    ),
    rules: { offsetResetPolicy: 'earliest' },
    expect: { totalLag: 0, totalLagForActivation: 0 },
  },
  {
    label: 'MissingPartition Control: committed 100, latest 150 -> lag 50',
    readings: topic('test-topic', [150], [100]),
    rules: { offsetResetPolicy: 'earliest', allowIdleConsumers: true },
    expect: { totalLag: 50, totalLagForActivation: 50, value: 50 },
  },
  {
    label: 'MissingPartition Control: latest policy, scaleToZeroOnInvalidOffset, no committed offset -> 0',
    readings: topic('test-topic', [150], [NONE]),
    rules: { scaleToZeroOnInvalidOffset: true },
    expect: { totalLag: 0, totalLagForActivation: 0, active: false },
  },

  // ---- testEarliestPolicy: 3 partitions, earliest, nothing committed ----
  {
    label: 'testEarliestPolicy: empty topic -> lag 0, not active',
    readings: topic('kafka-topic', [0, 0, 0], []),
    rules: { ...E2E, offsetResetPolicy: 'earliest' },
    expect: { value: 0, active: false },
  },
  {
    label: 'testEarliestPolicy: 1 message -> lag 1, not above activationLagThreshold 1',
    readings: topic('kafka-topic', [1, 0, 0], []),
    rules: { ...E2E, offsetResetPolicy: 'earliest' },
    expect: { value: 1, totalLagForActivation: 1, active: false },
  },
  {
    label: 'testEarliestPolicy: 2 messages -> 2 replicas',
    readings: topic('kafka-topic', [1, 1, 0], []),
    rules: { ...E2E, offsetResetPolicy: 'earliest' },
    expect: { value: 2, active: true },
  },
  {
    label: 'testEarliestPolicy: 7 messages -> capped at 3 partitions',
    readings: topic('kafka-topic', [3, 2, 2], []),
    rules: { ...E2E, offsetResetPolicy: 'earliest' },
    expect: { value: 3, totalLag: 7, totalLagForActivation: 7, active: true },
  },

  // ---- testLatestPolicy: the group committed everything, then messages arrive ----
  {
    label: 'testLatestPolicy: committed up to date -> 0',
    readings: topic('kafka-topic', [3, 2, 2], [3, 2, 2]),
    rules: E2E,
    expect: { value: 0, active: false },
  },
  {
    label: 'testLatestPolicy: 1 message -> not active (activationLagThreshold 1)',
    readings: topic('kafka-topic', [4, 2, 2], [3, 2, 2]),
    rules: E2E,
    expect: { value: 1, active: false },
  },
  {
    label: 'testLatestPolicy: 2 messages -> 2 replicas',
    readings: topic('kafka-topic', [4, 3, 2], [3, 2, 2]),
    rules: E2E,
    expect: { value: 2, active: true },
  },
  {
    label: 'testLatestPolicy: 7 messages -> capped at 3 partitions',
    readings: topic('kafka-topic', [6, 4, 4], [3, 2, 2]),
    rules: E2E,
    expect: { value: 3, totalLag: 7 },
  },
  {
    label: 'latest policy, nothing committed: 1 per partition (keeps a consumer to commit)',
    readings: topic('kafka-topic', [100, 0, 7], []),
    rules: E2E,
    expect: { value: 3, totalLag: 3, partitionsWithLag: 3, active: true },
  },

  // ---- testMultiTopic: no topic, the group's two topics ----
  {
    label: 'testMultiTopic: both topics committed -> 0',
    readings: [...topic('kafka-topic', [5, 5, 5], [5, 5, 5]), ...topic('kafka-topic2', [1, 1, 1], [1, 1, 1])],
    rules: { lagThreshold: 1 },
    expect: { value: 0, active: false, partitions: 6 },
  },
  {
    label: 'testMultiTopic: 1 message in topic 1 -> 1 replica',
    readings: [...topic('kafka-topic', [6, 5, 5], [5, 5, 5]), ...topic('kafka-topic2', [1, 1, 1], [1, 1, 1])],
    rules: { lagThreshold: 1 },
    expect: { value: 1, active: true },
  },
  {
    label: 'testMultiTopic: 1 more message in topic 2 -> lag 2 -> 2 replicas',
    readings: [...topic('kafka-topic', [6, 5, 5], [5, 5, 5]), ...topic('kafka-topic2', [1, 2, 1], [1, 1, 1])],
    rules: { lagThreshold: 1 },
    expect: { value: 2, active: true },
  },
  {
    label: 'multi topic: the cap is over the partitions of all topics together (6), not per topic',
    readings: [
      ...topic('kafka-topic', [50, 0, 0], [0, 0, 0]),
      ...topic('kafka-topic2', [0, 0, 0], [0, 0, 0]),
    ],
    rules: { lagThreshold: 1 },
    expect: { value: 6, totalLag: 50 },
  },

  // ---- invalid offsets (nothing committed), 1 partition ----
  {
    label: 'testZeroOnInvalidOffsetWithLatestOffsetResetPolicy: scaleToZeroOnInvalidOffset -> 0',
    readings: topic('kafka-topic-zero-invalid-offset', [0], []),
    rules: { lagThreshold: 1, scaleToZeroOnInvalidOffset: true },
    expect: { value: 0, active: false },
  },
  {
    label:
      'testZeroOnInvalidOffsetWithEarliestOffsetResetPolicy: scaleToZeroOnInvalidOffset -> 0 despite messages',
    readings: topic('kafka-topic-zero-invalid-offset', [4], []),
    rules: { lagThreshold: 1, scaleToZeroOnInvalidOffset: true, offsetResetPolicy: 'earliest' },
    expect: { value: 0, active: false },
  },
  {
    label: 'testOneOnInvalidOffsetWithLatestOffsetResetPolicy: nothing committed -> 1 replica',
    readings: topic('kafka-topic-one-invalid-offset', [0], []),
    rules: { lagThreshold: 1 },
    expect: { value: 1, active: true },
  },
  {
    label: 'testOneOnInvalidOffsetWithLatestOffsetResetPolicy: committed and caught up -> 0',
    readings: topic('kafka-topic-one-invalid-offset', [1], [1]),
    rules: { lagThreshold: 1 },
    expect: { value: 0, active: false },
  },
  {
    label:
      'testOneOnInvalidOffsetWithEarliestOffsetResetPolicy: nothing committed -> lag = latest offset (2), capped at 1 partition',
    readings: topic('kafka-topic-one-invalid-offset', [2], []),
    rules: { lagThreshold: 1, offsetResetPolicy: 'earliest' },
    expect: { value: 1, totalLag: 2, active: true },
  },
  {
    label: 'testOneOnInvalidOffsetWithEarliestOffsetResetPolicy: committed and caught up -> 0',
    readings: topic('kafka-topic-one-invalid-offset', [3], [3]),
    rules: { lagThreshold: 1, offsetResetPolicy: 'earliest' },
    expect: { value: 0, active: false },
  },

  // ---- testScalingOnlyPartitionsWithLag: limitToPartitionsWithLag, 3 partitions ----
  {
    label: 'testScalingOnlyPartitionsWithLag: committed -> 0',
    readings: topic('limit-to-partitions-with-lag', [2, 2, 2], [2, 2, 2]),
    rules: { ...E2E, offsetResetPolicy: 'earliest', limitToPartitionsWithLag: true },
    expect: { value: 0, active: false },
  },
  {
    label: 'testScalingOnlyPartitionsWithLag: 1 message -> not active',
    readings: topic('limit-to-partitions-with-lag', [3, 2, 2], [2, 2, 2]),
    rules: { ...E2E, offsetResetPolicy: 'earliest', limitToPartitionsWithLag: true },
    expect: { value: 1, active: false },
  },
  {
    label: 'testScalingOnlyPartitionsWithLag: 6 messages on one partition -> 1 replica',
    readings: topic('limit-to-partitions-with-lag', [8, 2, 2], [2, 2, 2]),
    rules: { ...E2E, offsetResetPolicy: 'earliest', limitToPartitionsWithLag: true },
    expect: { value: 1, totalLag: 6, partitionsWithLag: 1, active: true },
  },
  {
    label: 'testScalingOnlyPartitionsWithLag: 5 more on a second partition -> 2 replicas',
    readings: topic('limit-to-partitions-with-lag', [8, 7, 2], [2, 2, 2]),
    rules: { ...E2E, offsetResetPolicy: 'earliest', limitToPartitionsWithLag: true },
    expect: { value: 2, totalLag: 11, partitionsWithLag: 2 },
  },
  {
    label:
      'limitToPartitionsWithLag: a partition without a committed offset counts as a partition with lag (latest: 1)',
    readings: topic('t', [8, 0, 0], [2, NONE, 0]),
    rules: { lagThreshold: 1, limitToPartitionsWithLag: true },
    expect: { value: 2, partitionsWithLag: 2 },
  },

  // ---- testScalingEnsureEvenDistributionOfPartitions: 10 partitions ----
  {
    label:
      'testScalingEnsureEvenDistributionOfPartitions: lag 0 -> lagThreshold (KEDA quirk kept: factor 1), not active',
    readings: topic('even', Array(10).fill(3), Array(10).fill(3)),
    rules: { ...E2E, offsetResetPolicy: 'earliest', ensureEvenDistributionOfPartitions: true },
    expect: { value: 1, totalLag: 0, active: false },
  },
  {
    label: 'testScalingEnsureEvenDistributionOfPartitions: 1 message -> not active',
    readings: topic('even', [4, ...Array(9).fill(3)], Array(10).fill(3)),
    rules: { ...E2E, offsetResetPolicy: 'earliest', ensureEvenDistributionOfPartitions: true },
    expect: { value: 1, active: false },
  },
  {
    label: 'testScalingEnsureEvenDistributionOfPartitions: lag 5 -> 5 replicas (5 divides 10)',
    readings: topic('even', [8, ...Array(9).fill(3)], Array(10).fill(3)),
    rules: { ...E2E, offsetResetPolicy: 'earliest', ensureEvenDistributionOfPartitions: true },
    expect: { value: 5, totalLag: 5, active: true },
  },
  {
    label: 'testScalingEnsureEvenDistributionOfPartitions: lag 8 -> 10 replicas (next factor of 10)',
    readings: topic('even', [11, ...Array(9).fill(3)], Array(10).fill(3)),
    rules: { ...E2E, offsetResetPolicy: 'earliest', ensureEvenDistributionOfPartitions: true },
    expect: { value: 10, totalLag: 8 },
  },
  {
    label:
      'ensureEvenDistributionOfPartitions caps even with allowIdleConsumers (KEDA: the cap runs when either is set)',
    readings: topic('even', [500, 0, 0, 0], [0, 0, 0, 0]),
    rules: { lagThreshold: 10, ensureEvenDistributionOfPartitions: true, allowIdleConsumers: true },
    expect: { value: 40 },
  },
  {
    label:
      'ensureEvenDistributionOfPartitions: lag 25 over 4 partitions × 10 -> factor 4 (3 does not divide 4)',
    readings: topic('even', [25, 0, 0, 0], [0, 0, 0, 0]),
    rules: { lagThreshold: 10, ensureEvenDistributionOfPartitions: true },
    expect: { value: 40 },
  },

  // ---- the cap and allowIdleConsumers ----
  {
    label: 'cap: 3 partitions × lagThreshold 5, 12 messages -> 12',
    readings: topic('t', [4, 4, 4], [0, 0, 0]),
    rules: { lagThreshold: 5 },
    expect: { value: 12 },
  },
  {
    label: 'cap: 3 partitions × lagThreshold 5, 100 messages -> 15 (3 replicas)',
    readings: topic('t', [34, 33, 33], [0, 0, 0]),
    rules: { lagThreshold: 5 },
    expect: { value: 15, totalLag: 100 },
  },
  {
    label:
      'cap: lag 16 over 3 × 5 -> 15 (KEDA quirk fixed: its floor(16/5) = 3 is not > 3, so KEDA reports 16 = 4 replicas)',
    readings: topic('t', [6, 5, 5], [0, 0, 0]),
    rules: { lagThreshold: 5 },
    expect: { value: 15, totalLag: 16 },
  },
  {
    label: 'allowIdleConsumers: no cap, 100 messages on 3 partitions -> 100',
    readings: topic('t', [34, 33, 33], [0, 0, 0]),
    rules: { lagThreshold: 5, allowIdleConsumers: true },
    expect: { value: 100 },
  },
  {
    label:
      'negative lag (committed beyond latest) counts 0 per partition (KEDA would subtract it from the others)',
    readings: topic('t', [10, 5], [20, 0]),
    rules: { allowIdleConsumers: true },
    expect: { value: 5, totalLag: 5, totalLagForActivation: 5, partitionsWithLag: 1 },
  },
  {
    label: 'no partitions at all (a group without committed topics) -> 0',
    readings: [],
    expect: { value: 0, active: false, partitions: 0 },
  },
  {
    label: 'activationLagThreshold: active only strictly above it',
    readings: topic('t', [5], [0]),
    rules: { activationLagThreshold: 5 },
    expect: { active: false, totalLagForActivation: 5 },
  },

  // ---- partitionLimitation (TestGetTopicPartitions) ----
  {
    label:
      'TestGetTopicPartitions success_partial_partitions_explicit: 1,2,3 of partitions 0..6 count; cap 3 × threshold',
    readings: topic('my-topic', [100, 100, 100, 100, 100, 100, 100], [0, 0, 0, 0, 0, 0, 0]),
    rules: { lagThreshold: 10, partitionLimitation: [1, 2, 3] },
    expect: { partitions: 3, totalLag: 300, value: 30 },
  },
  {
    label: 'TestGetTopicPartitions success_all_partitions_explicit: 1,2 of partitions 1,2',
    readings: topic('my-topic', [0, 4, 6], [0, 0, 0]).filter((p) => p.partition > 0),
    rules: { partitionLimitation: [1, 2] },
    expect: { partitions: 2, totalLag: 10 },
  },
  {
    label: 'TestGetTopicPartitions success_all_partitions_implicit: no limitation counts all',
    readings: topic('my-topic', [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]),
    expect: { partitions: 6, totalLag: 6 },
  },
  {
    label:
      'partitionLimitation selecting none of the topic\u2019s partitions fails (KEDA: expected at least one active partition)',
    readings: topic('my-topic', [1, 1, 1], [0, 0, 0]),
    rules: { partitionLimitation: [5, 6] },
    expect: {
      error: 'partitionLimitation [5,6] selects none of the partitions of topic "my-topic" (0,1,2)',
    },
  },
];

describe('computeKafkaLag', () => {
  it.each(TABLE)('$label', expectLag);
});

describe('excludePersistentLag (testPersistentLag)', () => {
  const rules: KafkaLagRules = { ...RULES, lagThreshold: 1, excludePersistentLag: true };

  it('counts lag the first time, then only while the committed offset moves; activity keeps the persistent lag', () => {
    const polls = [
      // poll 1: a message, the consumer has not committed since: first sight counts
      { readings: topic('p', [1, 0, 0], [0, 0, 0]), value: 1, activation: 1 },
      // poll 2: the consumer read it and committed: offset moved, lag 0
      { readings: topic('p', [1, 0, 0], [1, 0, 0]), value: 0, activation: 0 },
      // poll 3: the consumer is gone (another group); 5 messages pile up on partition 0, offsets stuck
      { readings: topic('p', [6, 0, 0], [1, 0, 0]), value: 0, activation: 5 },
      // poll 4: still stuck: the metric stays 0 (no scale-out), activity keeps 1 replica
      { readings: topic('p', [6, 0, 0], [1, 0, 0]), value: 0, activation: 5 },
      // poll 5: the consumer commits again: the remaining lag counts again
      { readings: topic('p', [6, 0, 0], [4, 0, 0]), value: 2, activation: 2 },
    ];
    let previous: PreviousOffsets = {};
    const seen = polls.map(({ readings }) => {
      const r = computeKafkaLag(readings, rules, previous);
      if (!r.ok) throw new Error(r.error);
      previous = r.value.previous;
      return { value: r.value.value, activation: r.value.totalLagForActivation, active: r.value.active };
    });
    expect(seen).toEqual(
      polls.map((p) => ({ value: p.value, activation: p.activation, active: p.activation > 0 })),
    );
    expect(previous).toEqual({ p: { 0: 4, 1: 0, 2: 0 } });
  });

  it('a partition without a committed offset is not tracked (KEDA returns before recording it)', () => {
    const r = computeKafkaLag(topic('p', [3, 3], [NONE, 1]), rules, {});
    expect(r.ok && r.value.previous).toEqual({ p: { 1: 1 } });
  });

  it('keeps what it knew of partitions not read this time, and does not change its input', () => {
    const previous = { gone: { 0: 7 }, p: { 0: 1 } };
    const r = computeKafkaLag(topic('p', [5], [2]), rules, previous);
    expect(r.ok && r.value.previous).toEqual({ gone: { 0: 7 }, p: { 0: 2 } });
    expect(previous).toEqual({ gone: { 0: 7 }, p: { 0: 1 } });
  });

  it('without excludePersistentLag nothing is remembered and stuck lag counts', () => {
    const r = computeKafkaLag(
      topic('p', [6], [1]),
      { ...rules, excludePersistentLag: false },
      { p: { 0: 1 } },
    );
    expect(r.ok && [r.value.value, r.value.previous]).toEqual([1, { p: { 0: 1 } }]);
  });
});

describe('joinOffsets', () => {
  it('pairs latest with committed offsets; a partition the group has no answer for has none', () => {
    expect(
      joinOffsets(
        [
          {
            topic: 'a',
            partitions: [
              { partition: 0, offset: 5 },
              { partition: 1, offset: 7 },
            ],
          },
        ],
        [{ topic: 'a', partitions: [{ partition: 0, offset: 3 }] }],
      ),
    ).toEqual([
      { topic: 'a', partition: 0, latestOffset: 5, committedOffset: 3 },
      { topic: 'a', partition: 1, latestOffset: 7, committedOffset: NONE },
    ]);
  });
});

describe('findFactors (TestFindFactors) and nextBalancedFactor (TestGetNextFactor)', () => {
  it.each([
    { n: 10, factors: [1, 2, 5, 10] },
    { n: 13, factors: [1, 13] },
    { n: 17, factors: [1, 17] },
    { n: 25, factors: [1, 5, 25] },
    { n: 50, factors: [1, 2, 5, 10, 25, 50] },
    { n: 100, factors: [1, 2, 4, 5, 10, 20, 25, 50, 100] },
    { n: 0, factors: [] },
  ])('factors of $n', ({ n, factors }) => {
    expect(findFactors(n)).toEqual(factors);
  });

  it.each([
    { lag: 10, factor: 1 },
    { lag: 20, factor: 2 },
    { lag: 40, factor: 4 },
    { lag: 50, factor: 5 },
    { lag: 99, factor: 10 },
    { lag: 100, factor: 10 },
    { lag: 101, factor: 20 },
  ])('lag $lag over 100 partitions, threshold 10 -> $factor', ({ lag, factor }) => {
    expect(nextBalancedFactor(lag, 100, 10)).toBe(factor);
  });

  it('falls back to the partition count when no factor suffices', () => {
    expect(nextBalancedFactor(1000, 4, 10)).toBe(4);
  });
});
