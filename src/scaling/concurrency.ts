// Knative-style concurrency autoscaling, pure: observed concurrency samples in, a replica
// recommendation out, with a stable and a panic window (knative/serving
// pkg/autoscaler/scaling/autoscaler.go, pkg/autoscaler/aggregation/bucketing.go). The caller
// feeds one sample per poll (ideally every second) with `now`; the state is plain data.
//
//   stable  = average concurrency over the stable window (60 s)
//   panic   = average concurrency over the panic window  (6 s, 10% of stable)
//   ready   = max(1, currentReplicas)
//   desiredStable = ceil(stable / targetPerReplica)
//   desiredPanic  = ceil(panic  / targetPerReplica)
//   over threshold  iff  desiredPanic / ready >= panicThreshold (2: twice what runs now)
//   enter panic when over threshold (panicTime = now); every poll over it again extends it;
//   leave panic when not over threshold and panicTime + stableWindow < now.
//   desired = panicking ? max(maxPanicReplicas, desiredStable, desiredPanic) : desiredStable
//   (in panic never scale down: maxPanicReplicas only grows until the panic ends)
//
// Averaging, as Knative's TimedFloat64Buckets: time is cut into buckets (1 s); a bucket's value
// is the mean of the samples that fell into it; a window's average is the mean of its bucket
// values, over the part of the window since the history began (a young history is not diluted
// with zeros). Where Knative counts a bucket without data as 0 (its pods report every second),
// ebb holds the last observed value across it: the controller samples a level, and a poll
// that came late says nothing about the level having dropped. A gap of a whole stable window
// discards the history, as Knative's does.
//
// One difference on purpose: Knative clamps each step with max-scale-up/down rates; ebb leaves
// rate limits to the HPA behavior policies applied after this recommendation.

/** Knative's defaults: stable 60 s, panic 10% of it, panic at 200% of the ready replicas. */
export const DEFAULT_STABLE_WINDOW_MS = 60_000;
export const DEFAULT_PANIC_WINDOW_PERCENTAGE = 10;
export const DEFAULT_PANIC_WINDOW_MS = (DEFAULT_STABLE_WINDOW_MS * DEFAULT_PANIC_WINDOW_PERCENTAGE) / 100;
export const DEFAULT_PANIC_THRESHOLD = 2;
/** Knative's bucket granularity. */
export const DEFAULT_BUCKET_MS = 1000;

/** Knative rounds window averages to 6 digits, so that 0.1 + 0.2 does not ceil to one more replica. */
const PRECISION = 1e6;

export interface ConcurrencySample {
  /** ms since the epoch; a sample earlier than the previous one counts as taken with it. */
  readonly now: number;
  /** Requests in flight plus held, across every activator (NaN and negatives count as 0). */
  readonly concurrency: number;
}

export interface ConcurrencySpec {
  /** Concurrency one replica should carry (targetConcurrency); > 0. */
  readonly targetPerReplica: number;
  readonly stableWindowMs: number;
  /** <= stableWindowMs (a longer one is cut to it). */
  readonly panicWindowMs: number;
  /** desiredPanic / ready replicas at or above this enters panic (2 = 200%). */
  readonly panicThreshold: number;
  /** The target's replicas now (its /scale); 0 counts as 1 for the threshold. */
  readonly currentReplicas: number;
  /** Bucket granularity; default 1 s. */
  readonly bucketMs?: number;
}

/** The samples of one bucket (`index` = floor(time / bucketMs)). */
export interface ConcurrencyBucket {
  readonly index: number;
  readonly sum: number;
  readonly count: number;
}

/** What the windows remember between samples: plain data, serialisable. */
export interface ConcurrencyState {
  /**
   * Buckets that received samples, oldest first: those inside the stable window, plus the
   * newest one before it (its value fills the window's start until the next sample).
   */
  readonly buckets: readonly ConcurrencyBucket[];
  /** Index of the first bucket since the history began (Knative's firstWrite). */
  readonly firstIndex: number | undefined;
  /** Last time (ms) the panic threshold was crossed; undefined while not panicking. */
  readonly panicTime: number | undefined;
  /** The most replicas recommended during the current panic (0 outside a panic). */
  readonly maxPanicReplicas: number;
}

export interface ConcurrencyRecommendation {
  readonly desiredReplicas: number;
  readonly panicking: boolean;
  /** Window averages this recommendation was made from. */
  readonly stableConcurrency: number;
  readonly panicConcurrency: number;
  /** One line on why: `stable 12 / 10 → 2; panic 45 / 10 → 5 ≥ 2 × 1 ready: panicking`. */
  readonly explanation: string;
  readonly state: ConcurrencyState;
}

/**
 * The state before the first sample. Knative starts a new autoscaler in panic when the target
 * already runs more than one replica: a restarted controller has lost the window history and
 * must not scale down on it, so it keeps max(current) for at least one stable window.
 */
export const initialConcurrencyState = (now: number, currentReplicas: number): ConcurrencyState =>
  currentReplicas > 1
    ? { buckets: [], firstIndex: undefined, panicTime: now, maxPanicReplicas: currentReplicas }
    : { buckets: [], firstIndex: undefined, panicTime: undefined, maxPanicReplicas: 0 };

const clampSample = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);
const round = (value: number): number => Math.round(value * PRECISION) / PRECISION;
const bucketsIn = (windowMs: number, bucketMs: number): number => Math.max(1, Math.ceil(windowMs / bucketMs));

/**
 * Adds `value` to bucket `index` and drops what the stable window (`stableBuckets` wide) no
 * longer needs. A gap of a whole stable window since the last bucket starts a new history.
 */
export const recordConcurrency = (
  state: Pick<ConcurrencyState, 'buckets' | 'firstIndex'>,
  index: number,
  value: number,
  stableBuckets: number,
): Pick<ConcurrencyState, 'buckets' | 'firstIndex'> => {
  const last = state.buckets.at(-1);
  const fresh = last === undefined || index - last.index >= stableBuckets;
  const previous = fresh ? [] : state.buckets;
  const at = last !== undefined && !fresh ? Math.max(index, last.index) : index;
  const tail = previous.at(-1);
  const buckets =
    tail !== undefined && tail.index === at
      ? [...previous.slice(0, -1), { index: at, sum: tail.sum + value, count: tail.count + 1 }]
      : [...previous, { index: at, sum: value, count: 1 }];
  // Keep the window's buckets and the newest one before it (it fills the window's start).
  const windowStart = at - stableBuckets + 1;
  const firstInside = buckets.findIndex((b) => b.index >= windowStart);
  const keepFrom = Math.max(0, (firstInside === -1 ? buckets.length : firstInside) - 1);
  return {
    buckets: buckets.slice(keepFrom),
    firstIndex: fresh || state.firstIndex === undefined ? at : state.firstIndex,
  };
};

/**
 * The average over the `width` buckets ending at `nowIndex`, from `firstIndex` on when the
 * history is younger than the window:
 *   average = Σ_{i = from..now} value(i) / (now - from + 1),   from = max(now - width + 1, firstIndex)
 *   value(i) = mean of bucket i's samples, or else the newest earlier bucket's (held level)
 * Rounded to 6 digits; 0 without history.
 */
export const windowAverage = (
  buckets: readonly ConcurrencyBucket[],
  firstIndex: number | undefined,
  nowIndex: number,
  width: number,
): number => {
  if (firstIndex === undefined || buckets.length === 0) return 0;
  const from = Math.max(nowIndex - width + 1, firstIndex);
  let total = 0;
  let held = 0;
  let next = 0;
  for (let i = from; i <= nowIndex; i++) {
    while (next < buckets.length && (buckets[next]?.index ?? Number.POSITIVE_INFINITY) <= i) {
      const b = buckets[next];
      if (b !== undefined) held = b.sum / b.count;
      next++;
    }
    total += held;
  }
  return round(total / (nowIndex - from + 1));
};

const format = (n: number): string => String(Math.round(n * 1000) / 1000);

/** One sample in, the recommendation and the next state out (see the formulas at the top). */
export const concurrencyRecommendation = (
  previous: ConcurrencyState | undefined,
  sample: ConcurrencySample,
  spec: ConcurrencySpec,
): ConcurrencyRecommendation => {
  const bucketMs = spec.bucketMs ?? DEFAULT_BUCKET_MS;
  const stableBuckets = bucketsIn(spec.stableWindowMs, bucketMs);
  const panicBuckets = Math.min(bucketsIn(spec.panicWindowMs, bucketMs), stableBuckets);
  const state = previous ?? initialConcurrencyState(sample.now, spec.currentReplicas);
  const lastIndex = state.buckets.at(-1)?.index;
  const sampleIndex = Math.floor(sample.now / bucketMs);
  const nowIndex = lastIndex !== undefined ? Math.max(sampleIndex, lastIndex) : sampleIndex;
  const now = Math.max(sample.now, state.panicTime ?? Number.NEGATIVE_INFINITY);

  const history = recordConcurrency(state, nowIndex, clampSample(sample.concurrency), stableBuckets);
  const stable = windowAverage(history.buckets, history.firstIndex, nowIndex, stableBuckets);
  const panic = windowAverage(history.buckets, history.firstIndex, nowIndex, panicBuckets);

  const ready = Math.max(1, spec.currentReplicas);
  const desiredStable = Math.ceil(stable / spec.targetPerReplica);
  const desiredPanic = Math.ceil(panic / spec.targetPerReplica);
  const overThreshold = desiredPanic / ready >= spec.panicThreshold;

  let panicTime = state.panicTime;
  let maxPanicReplicas = state.maxPanicReplicas;
  if (overThreshold) {
    panicTime = now; // enter, or extend the panic
  } else if (panicTime !== undefined && panicTime + spec.stableWindowMs < now) {
    panicTime = undefined; // the surge has made its way into the stable window
    maxPanicReplicas = 0;
  }
  const panicking = panicTime !== undefined;
  let desired = desiredStable;
  if (panicking) {
    // The stable window may see more than the panic one (a drop just now): provision for both.
    maxPanicReplicas = Math.max(maxPanicReplicas, desiredStable, desiredPanic);
    desired = maxPanicReplicas;
  }

  const target = format(spec.targetPerReplica);
  const parts = [
    `stable ${format(stable)} / ${target} → ${desiredStable}`,
    `panic ${format(panic)} / ${target} → ${desiredPanic}${overThreshold ? ` ≥ ${format(spec.panicThreshold)} × ${ready} ready` : ''}`,
  ];
  if (panicking) {
    parts.push(
      overThreshold
        ? `panicking: ${desired}`
        : `panicking until ${format(spec.stableWindowMs / 1000)} s without a surge: keeping ${desired}`,
    );
  }
  return {
    desiredReplicas: desired,
    panicking,
    stableConcurrency: stable,
    panicConcurrency: panic,
    explanation: parts.join('; '),
    state: { buckets: history.buckets, firstIndex: history.firstIndex, panicTime, maxPanicReplicas },
  };
};
