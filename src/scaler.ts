// The contract between the controller and a trigger type. Each `scalers/<type>/` folder
// exports one `ScalerDefinition`; `scalers/index.ts` is the registry.
import type { Problem, ReadErrorReason, Result } from './api/reasons.ts';
import type { Trigger } from './api/scaledobject.ts';

/**
 * What one read of a source produced: the metric as computed and its activity. The controller's
 * boundary (src/scaling/readings.ts) turns NaN/infinite into a failed read and counts a negative
 * one as 0, so a scaler does not clamp its result itself.
 */
export interface Reading {
  readonly value: number;
  readonly active: boolean;
  /**
   * Set by a scaler whose value is a concurrency to be shared per replica (the http scaler in
   * concurrency mode with an AverageValue target): the scaling core then applies Knative's
   * stable/panic windows to it with this per-replica target. Absent for every other reading.
   */
  readonly concurrencyTarget?: number | undefined;
}

/**
 * The Knative windows apply to a reading that carries a per-replica concurrency target:
 * `{ targetPerReplica }` when `concurrencyTarget` > 0, undefined for any other reading.
 */
export const concurrencyScalingOf = (reading: Reading): { readonly targetPerReplica: number } | undefined =>
  typeof reading.concurrencyTarget === 'number' && reading.concurrencyTarget > 0
    ? { targetPerReplica: reading.concurrencyTarget }
    : undefined;

/** A failed read: a CamelCase reason and a message that names the trigger's source. */
export interface ReadError {
  readonly reason: ReadErrorReason;
  readonly message: string;
}

/** The metric a trigger feeds to the scaling core. */
export interface MetricSpec {
  /** KEDA's scheme: `s<index>-<scaler name>`, sanitised (`s0-cron-Etc-UTC-00xxxx-06xxxx`). */
  readonly name: string;
  /** The per-replica target (AverageValue) or the whole-metric target (Value). */
  readonly target: number;
  readonly metricType: 'AverageValue' | 'Value';
}

export interface Scaler {
  readonly metric: MetricSpec;
  /** Reads the source once. `now` is the poll's time; the scaler never reads the clock itself. */
  read(now: Date, signal: AbortSignal): Promise<Result<Reading, ReadError>>;
  /** Releases shared connections (reference counted by the source). */
  close(): Promise<void>;
}

export interface TriggerContext {
  readonly index: number;
  readonly trigger: Trigger;
  /** Parameters resolved from the trigger's authenticationRef (never logged). */
  readonly authParams: Readonly<Record<string, string>>;
}

/**
 * A trigger type. `Deps` is what its scalers share within one controller (a connection pool, the
 * concurrency feed): built once in wiring (`createScalerDeps` in scalers/index.ts) and passed to
 * every `create`, so nothing is shared through module state and two controllers in one process
 * share nothing.
 */
export interface ScalerDefinition<Config, Deps = undefined> {
  /** The trigger `type`s this definition serves (KEDA names: `kafka`, `apache-kafka`). */
  readonly types: readonly string[];
  /**
   * Every metadata key the scaler reads (its schema's rows): `ebb validate` warns about any other
   * key, naming the closest of these. Unknown keys are still admitted, as KEDA ignores them.
   */
  readonly metadataKeys: readonly string[];
  /**
   * Parses the trigger's metadata into a typed config. Problems carry full paths
   * (`spec.triggers[0].metadata.lagThreshold`) and reason `InvalidTriggerMetadata`.
   */
  parse(ctx: TriggerContext): Result<Config, Problem[]>;
  /** The metric this trigger reports, from its parsed config. */
  metric(config: Config, ctx: TriggerContext): MetricSpec;
  /** Creates the I/O side. Connections are shared through `deps`, never one per ScaledObject. */
  create(config: Config, ctx: TriggerContext, deps: Deps): Scaler;
}

/** KEDA's metric name sanitiser: `/ . : % ( )` and spaces become `-`. */
export const sanitizeMetricName = (name: string): string => name.replace(/[/.:%() ]/g, '-');

export const metricName = (index: number, scalerName: string): string =>
  `s${index}-${sanitizeMetricName(scalerName)}`;

/** For counters a scaler sums from its inputs (activator reports): NaN and negatives add 0. */
export const clampMetric = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);
