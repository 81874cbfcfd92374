// The registry of trigger types. Adding a type is one line in REGISTRY below, and one field in
// ScalerDeps when its scalers share something (a connection pool).
import { fail, ok, type Problem, type Result, UnsupportedTriggerType } from '../src/api/reasons.ts';
import type { ScaledObjectSpec, Trigger } from '../src/api/scaledobject.ts';
import { type Clock, realClock } from '../src/clock.ts';
import type { ConcurrencyFeed } from '../src/routing/reports.ts';
import type { MetricSpec, Scaler, ScalerDefinition, TriggerContext } from '../src/scaler.ts';
import { cronScaler } from './cron/index.ts';
import { CronWindows } from './cron/source.ts';
import { httpScaler } from './http/index.ts';
import { DEFAULT_STALE_AFTER_MS, type HttpDeps } from './http/source.ts';
import { kafkaScaler } from './kafka/index.ts';
import { createKafkaDeps, type KafkaDeps } from './kafka/source.ts';
import { rabbitmqScaler } from './rabbitmq/index.ts';
import { createRabbitMQSources, type RabbitMQSources } from './rabbitmq/source.ts';

/**
 * What the scalers of one controller share, one field per trigger type that shares anything.
 * Built once in wiring (createScalerDeps) and handed to the Controller, which passes it to every
 * `create`: two controllers in one process share no pool, feed or memo.
 */
export interface ScalerDeps {
  readonly cron: CronWindows;
  readonly kafka: KafkaDeps;
  readonly rabbitmq: RabbitMQSources;
  readonly http: HttpDeps;
}

/** What only wiring can provide to the scalers. */
export interface ScalerEnvironment {
  /** The activators' per-route counters; undefined when no activator feeds this controller. */
  readonly concurrencyFeed?: ConcurrencyFeed | undefined;
  /** A feed reading older than this is stale (HttpMetricsStale); default 10 s. */
  readonly staleAfterMs?: number | undefined;
  /** The timers of the scalers' I/O (the AMQP timeouts); realClock by default. */
  readonly clock?: Clock | undefined;
}

/** Fresh pools and memos, and the environment's feed: call once per controller. */
export const createScalerDeps = (env: ScalerEnvironment = {}): ScalerDeps => ({
  cron: new CronWindows(),
  kafka: createKafkaDeps(),
  rabbitmq: createRabbitMQSources(env.clock ?? realClock),
  http: { feed: env.concurrencyFeed, staleAfterMs: env.staleAfterMs ?? DEFAULT_STALE_AFTER_MS },
});

export interface RegistrationOptions<Config> {
  /**
   * The trigger reads its source only from the poll's `now` (cron), so `ebb simulate` can
   * evaluate it without a trace column.
   */
  readonly offline?: boolean;
  /**
   * The metric value above which the trigger counts as active when the value comes from
   * elsewhere (an `ebb simulate` trace): KEDA's `activationLagThreshold`, `activationValue`...
   * Default 0: active iff value > 0.
   */
  readonly activationThreshold?: (config: Config) => number;
}

/** A trigger whose metadata parsed: its metric, and how to read it. */
export interface ResolvedTrigger {
  readonly index: number;
  readonly trigger: Trigger;
  /** How the scaling core names it: the trigger's `name`, or its metric name when unnamed. */
  readonly key: string;
  readonly metric: MetricSpec;
  readonly activationThreshold: number;
  readonly offline: boolean;
  /** Creates the I/O side, sharing what `deps` holds (one controller's pools and feed). */
  create(deps: ScalerDeps): Scaler;
}

/** A definition with its config type erased behind closures, so the registry is one list. */
interface Registration {
  readonly types: readonly string[];
  readonly definition: ScalerDefinition<unknown, unknown>;
  resolve(ctx: TriggerContext): Result<ResolvedTrigger, Problem[]>;
}

const register = <Config, Deps>(
  definition: ScalerDefinition<Config, Deps>,
  depsOf: (deps: ScalerDeps) => Deps,
  options: RegistrationOptions<Config> = {},
): Registration => ({
  types: definition.types,
  definition: definition as ScalerDefinition<unknown, unknown>,
  resolve: (ctx) => {
    const parsed = definition.parse(ctx);
    if (!parsed.ok) return parsed;
    const config = parsed.value;
    const metric = definition.metric(config, ctx);
    const name = ctx.trigger.name;
    return ok({
      index: ctx.index,
      trigger: ctx.trigger,
      key: name !== undefined && name !== '' ? name : metric.name,
      metric,
      activationThreshold: options.activationThreshold?.(config) ?? 0,
      offline: options.offline ?? false,
      create: (deps) => definition.create(config, ctx, depsOf(deps)),
    });
  },
});

// One line per trigger type.
const REGISTRY: readonly Registration[] = [
  register(cronScaler, (d) => d.cron, { offline: true }),
  register(kafkaScaler, (d) => d.kafka, { activationThreshold: (config) => config.activationLagThreshold }),
  register(rabbitmqScaler, (d) => d.rabbitmq, { activationThreshold: (config) => config.activationValue }),
  register(httpScaler, (d) => d.http),
];

const BY_TYPE: ReadonlyMap<string, Registration> = new Map(
  REGISTRY.flatMap((r) => r.types.map((type) => [type, r] as const)),
);

/** The trigger types ebb can scale on, in registration order. */
export const SUPPORTED_TRIGGER_TYPES: readonly string[] = [...BY_TYPE.keys()];

export const isSupportedTriggerType = (type: string): boolean => BY_TYPE.has(type);

/** The metadata keys a trigger type reads, or undefined for a type ebb does not support. */
export const metadataKeysOf = (type: string): readonly string[] | undefined =>
  BY_TYPE.get(type)?.definition.metadataKeys;

/** The definition serving `type`, or undefined when ebb does not support it yet. */
export const scalerDefinitionFor = (type: string): ScalerDefinition<unknown, unknown> | undefined =>
  BY_TYPE.get(type)?.definition;

export const unsupportedTriggerType = (trigger: Trigger, index: number): Problem => ({
  path: `spec.triggers[${index}].type`,
  reason: UnsupportedTriggerType,
  message: `trigger type "${trigger.type}" is not supported yet`,
});

/** Parses one trigger's metadata with its type's schema; unsupported types are a problem. */
export const resolveTrigger = (
  trigger: Trigger,
  index: number,
  authParams: Readonly<Record<string, string>> = {},
): Result<ResolvedTrigger, Problem[]> => {
  const registration = BY_TYPE.get(trigger.type);
  if (registration === undefined) return fail([unsupportedTriggerType(trigger, index)]);
  return registration.resolve({ index, trigger, authParams });
};

/** Every trigger-level problem of a spec: unsupported types and invalid metadata. */
export const checkTriggers = (spec: Pick<ScaledObjectSpec, 'triggers'>): Problem[] =>
  spec.triggers.flatMap((trigger, index) => {
    const resolved = resolveTrigger(trigger, index);
    return resolved.ok ? [] : resolved.error;
  });
