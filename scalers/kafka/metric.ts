// Kafka consumer lag, pure: offsets read from the brokers in, the metric and its activity out.
// All of KEDA's lag arithmetic (kafka_scaler.go getLagForPartition, getTotalLag,
// GetMetricsAndActivity) lives here; the I/O in source.ts only fetches offsets.
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import type { KafkaLagRules } from './schema.ts';

/** A committed offset of -1: the group has committed nothing for the partition. */
export const NO_COMMITTED_OFFSET = -1;

/** One partition's offsets, as one poll read them. Offsets stay below 2^53 in practice. */
export interface PartitionOffsets {
  readonly topic: string;
  readonly partition: number;
  /** The log end offset (high watermark): the offset the next message will get. */
  readonly latestOffset: number;
  /** The group's committed offset (the next message it will read), or NO_COMMITTED_OFFSET. */
  readonly committedOffset: number;
}

/** Offsets per partition of one topic, as a broker answers (latest or committed). */
export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly offset: number }[];
}

/**
 * KEDA's previousOffsets for excludePersistentLag: the committed offset of each topic and
 * partition at an earlier poll. Carried from one poll to the next by the caller.
 */
export type PreviousOffsets = Readonly<Record<string, Readonly<Record<number, number>>>>;

export interface KafkaLag {
  /** The metric: the lag after excluding persistent lag, even distribution and the cap. */
  readonly value: number;
  /** The lag counting persistent lag too (KEDA's totalLagWithPersistent): what activity compares. */
  readonly totalLagForActivation: number;
  /** totalLagForActivation > activationLagThreshold. */
  readonly active: boolean;
  /** The uncapped sum of per-partition lags (persistent lag excluded). */
  readonly totalLag: number;
  /** Partitions counted, over all topics (after partitionLimitation). */
  readonly partitions: number;
  /** Partitions whose metric lag is > 0. */
  readonly partitionsWithLag: number;
  /** State for the next poll's excludePersistentLag. */
  readonly previous: PreviousOffsets;
}

/**
 * Pairs each partition of the latest offsets with the group's committed offset. The latest
 * offsets decide which partitions exist (KEDA iterates over them); a partition the committed
 * answer leaves out has no committed offset.
 */
export const joinOffsets = (
  latest: readonly TopicOffsets[],
  committed: readonly TopicOffsets[],
): PartitionOffsets[] => {
  const commits = new Map<string, Map<number, number>>(
    committed.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, p.offset]))]),
  );
  return latest.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.topic,
      partition: p.partition,
      latestOffset: p.offset,
      committedOffset: commits.get(t.topic)?.get(p.partition) ?? NO_COMMITTED_OFFSET,
    })),
  );
};

/** KEDA's FindFactors: every divisor of n, ascending; none for n < 1. */
export const findFactors = (n: number): number[] => {
  if (n < 1) return [];
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 1; i * i <= n; i++) {
    if (n % i === 0) {
      small.push(i);
      if (i !== n / i) large.unshift(n / i);
    }
  }
  return [...small, ...large];
};

/**
 * KEDA's getNextFactorThatBalancesConsumersToTopicPartitions: the smallest divisor f of
 * `partitions` with f × lagThreshold >= totalLag, else `partitions` (replicas that split the
 * partitions evenly).
 */
export const nextBalancedFactor = (totalLag: number, partitions: number, lagThreshold: number): number =>
  findFactors(partitions).find((f) => f * lagThreshold >= totalLag) ?? partitions;

interface PartitionLag {
  /** What the partition adds to the metric. */
  readonly lag: number;
  /** What it adds to the activity check (persistent lag included). */
  readonly lagForActivation: number;
}

/**
 * One partition's lag (KEDA's getLagForPartition):
 *   committed = -1: latest policy -> 1 (one consumer starts and commits), earliest -> latestOffset;
 *                   0 with scaleToZeroOnInvalidOffset;
 *   otherwise lag = max(0, latestOffset - committed) (ebb clamps per partition, KEDA sums negatives);
 *   excludePersistentLag and committed == previous committed -> 0 for the metric, lag for activity.
 */
const partitionLag = (
  p: PartitionOffsets,
  rules: KafkaLagRules,
  previous: Readonly<Record<number, number>> | undefined,
  remember: (committed: number) => void,
): PartitionLag => {
  if (p.committedOffset < 0) {
    const lag = rules.scaleToZeroOnInvalidOffset
      ? 0
      : rules.offsetResetPolicy === 'latest'
        ? 1
        : Math.max(0, p.latestOffset);
    return { lag, lagForActivation: lag };
  }
  const lag = Math.max(0, p.latestOffset - p.committedOffset);
  if (rules.excludePersistentLag) {
    if (previous?.[p.partition] === p.committedOffset) return { lag: 0, lagForActivation: lag };
    remember(p.committedOffset);
  }
  return { lag, lagForActivation: lag };
};

/**
 * The metric of one poll (KEDA's getTotalLag and GetMetricsAndActivity):
 *
 *   totalLag  = Σ lag(p) over the partitions read (partitionLimitation applied per topic)
 *   if !allowIdleConsumers || limitToPartitionsWithLag || ensureEvenDistributionOfPartitions:
 *     ensureEven: totalLag = nextBalancedFactor(totalLag, partitions, lagThreshold) × lagThreshold
 *     bound     = limitToPartitionsWithLag ? partitionsWithLag : partitions   (over ALL topics)
 *     value     = min(totalLag, bound × lagThreshold)
 *   active    = Σ lagForActivation(p) > activationLagThreshold
 *
 * KEDA caps only when floor(totalLag / lagThreshold) > bound, so a lag just above the cap
 * (16 with 3 partitions × 5) passes uncapped and the HPA runs one replica more than there are
 * partitions; ebb caps at bound × lagThreshold exactly (deliberate fix).
 *
 * Fails when partitionLimitation leaves a topic without partitions (KEDA: "expected at least
 * one active partition within the topic").
 */
export const computeKafkaLag = (
  readings: readonly PartitionOffsets[],
  rules: KafkaLagRules,
  previous: PreviousOffsets,
): Result<KafkaLag, string> => {
  const limitation = rules.partitionLimitation;
  const counted =
    limitation === undefined ? readings : readings.filter((p) => limitation.includes(p.partition));
  if (limitation !== undefined) {
    const topics = new Set(readings.map((p) => p.topic));
    const kept = new Set(counted.map((p) => p.topic));
    const empty = [...topics].filter((t) => !kept.has(t));
    if (empty.length > 0) {
      const ids = readings.filter((p) => p.topic === empty[0]).map((p) => p.partition);
      return fail(
        `partitionLimitation [${limitation.join(',')}] selects none of the partitions of topic "${String(empty[0])}" (${ids.join(',')})`,
      );
    }
  }

  const next: Record<string, Record<number, number>> = {};
  for (const [topic, offsets] of Object.entries(previous)) next[topic] = { ...offsets };
  let totalLag = 0;
  let totalLagForActivation = 0;
  let partitionsWithLag = 0;
  for (const p of counted) {
    const lag = partitionLag(p, rules, previous[p.topic], (committed) => {
      next[p.topic] = { ...next[p.topic], [p.partition]: committed };
    });
    totalLag += lag.lag;
    totalLagForActivation += lag.lagForActivation;
    if (lag.lag > 0) partitionsWithLag++;
  }

  const partitions = counted.length;
  const threshold = rules.lagThreshold;
  let value = totalLag;
  if (
    !rules.allowIdleConsumers ||
    rules.limitToPartitionsWithLag ||
    rules.ensureEvenDistributionOfPartitions
  ) {
    if (rules.ensureEvenDistributionOfPartitions) {
      value = nextBalancedFactor(value, partitions, threshold) * threshold;
    }
    const bound = rules.limitToPartitionsWithLag ? partitionsWithLag : partitions;
    value = Math.min(value, bound * threshold);
  }
  return ok({
    value,
    totalLagForActivation,
    active: totalLagForActivation > rules.activationLagThreshold,
    totalLag,
    partitions,
    partitionsWithLag,
    previous: next,
  });
};
