// The registry of trigger types. Adding a type is one line in REGISTRY below.
import { fail, ok, type Problem, type Result, UnsupportedTriggerType } from '../src/api/reasons.ts';
import type { ScaledObjectSpec, Trigger } from '../src/api/scaledobject.ts';
import type { MetricSpec, Scaler, ScalerDefinition, TriggerContext } from '../src/scaler.ts';
import { cronScaler } from './cron/index.ts';
import { httpScaler } from './http/index.ts';
import { kafkaScaler } from './kafka/index.ts';
import { rabbitmqScaler } from './rabbitmq/index.ts';

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
  /** Creates the I/O side (shared connections are the definition's business). */
  create(): Scaler;
}

/** A definition with its config type erased behind closures, so the registry is one list. */
interface Registration {
  readonly types: readonly string[];
  readonly definition: ScalerDefinition<unknown>;
  resolve(ctx: TriggerContext): Result<ResolvedTrigger, Problem[]>;
}

const register = <Config>(
  definition: ScalerDefinition<Config>,
  options: RegistrationOptions<Config> = {},
): Registration => ({
  types: definition.types,
  definition,
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
      create: () => definition.create(config, ctx),
    });
  },
});

// One line per trigger type.
const REGISTRY: readonly Registration[] = [
  register(cronScaler, { offline: true }),
  register(kafkaScaler, { activationThreshold: (config) => config.activationLagThreshold }),
  register(rabbitmqScaler, { activationThreshold: (config) => config.activationValue }),
  register(httpScaler),
];

const BY_TYPE: ReadonlyMap<string, Registration> = new Map(
  REGISTRY.flatMap((r) => r.types.map((type) => [type, r] as const)),
);

/** The trigger types ebb can scale on, in registration order. */
export const SUPPORTED_TRIGGER_TYPES: readonly string[] = [...BY_TYPE.keys()];

export const isSupportedTriggerType = (type: string): boolean => BY_TYPE.has(type);

/** The definition serving `type`, or undefined when ebb does not support it yet. */
export const scalerDefinitionFor = (type: string): ScalerDefinition<unknown> | undefined =>
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
