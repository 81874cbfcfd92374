// KEDA's `rabbitmq` trigger metadata (pkg/scalers/rabbitmq_scaler.go), parsed the way KEDA's
// typed config does: values are trimmed and an empty value counts as absent; numbers are JSON
// numbers, booleans Go's strconv.ParseBool, `timeout` a Go duration or milliseconds. Unknown
// keys are ignored. The broker itself (host, credentials, TLS: from the metadata or the
// trigger's authenticationRef) is resolved in broker.ts, whose parseRabbitMQTrigger checks both.
import { z } from 'zod';
import { fieldPath, parseWith } from '../../src/api/parse.ts';
import { fail, InvalidTriggerMetadata, ok, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';

export const RABBITMQ_MODES = [
  'QueueLength',
  'MessageRate',
  'DeliverGetRate',
  'PublishedToDeliveredRatio',
  'ExpectedQueueConsumptionTime',
] as const;
export type RabbitMQMode = (typeof RABBITMQ_MODES)[number];

/** Modes that need the management API's rates: KEDA refuses them over AMQP. */
export const HTTP_ONLY_MODES: ReadonlySet<RabbitMQMode> = new Set([
  'MessageRate',
  'DeliverGetRate',
  'PublishedToDeliveredRatio',
  'ExpectedQueueConsumptionTime',
]);

export const PROTOCOLS = ['auto', 'amqp', 'http'] as const;
export type ProtocolSetting = (typeof PROTOCOLS)[number];
export type Protocol = Exclude<ProtocolSetting, 'auto'>;

export const OPERATIONS = ['sum', 'avg', 'max'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** KEDA's default target when neither mode, value nor queueLength is set. */
export const DEFAULT_QUEUE_LENGTH = 20;
export const DEFAULT_PAGE_SIZE = 100;

export interface RabbitMQConfig {
  readonly queueName: string;
  readonly mode: RabbitMQMode;
  /** The metric target: messages (QueueLength), messages/s (rates), ratio or seconds. */
  readonly value: number;
  /** Active iff the metric > activationValue (each mode has its own extra rule, see metric.ts). */
  readonly activationValue: number;
  /** Metadata `host` (may carry credentials in its userinfo); else the authenticationRef's. */
  readonly host: string | undefined;
  /** Metadata `protocol`; undefined: the authenticationRef's, else `auto` (from the host's scheme). */
  readonly protocol: ProtocolSetting | undefined;
  /** Metadata `vhostName` (or the `vHostName` spelling of KEDA's docs); else the auth's, else the host's path. */
  readonly vhostName: string | undefined;
  /** `queueName` is a regular expression over the vhost's queues (http only). */
  readonly useRegex: boolean;
  /** How the matching queues combine when useRegex is set. */
  readonly operation: Operation;
  /** Count ready messages only (http only; AMQP never counts unacknowledged ones). */
  readonly excludeUnacknowledged: boolean;
  /** Queues per management API page when useRegex is set. */
  readonly pageSize: number;
  /** Management API request timeout in ms (http only); undefined: the default. */
  readonly timeoutMs: number | undefined;
  readonly unsafeSsl: boolean;
  /** `hostFromEnv`, `usernameFromEnv`, `passwordFromEnv`: container env vars ebb cannot read. */
  readonly fromEnv: { readonly host?: string; readonly username?: string; readonly password?: string };
  /** The trigger's authenticationRef name, when it has one. */
  readonly authenticationRef: string | undefined;
}

// ---- value parsers (KEDA's typed config) ----

const absent = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

const text = z.string().optional().transform(absent);

/** Go's json.Unmarshal into float64 (KEDA parses numbers that way). */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const JSON_INTEGER = /^-?(0|[1-9]\d*)$/;

const number = (pattern: RegExp, expected: string) =>
  text.transform((value, ctx): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!pattern.test(value) || !Number.isFinite(n)) {
      ctx.addIssue({ code: 'custom', message: `must be ${expected}, got "${value}"` });
      return z.NEVER;
    }
    return n;
  });

const float = number(JSON_NUMBER, 'a number');
const integer = number(JSON_INTEGER, 'an integer');

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool; absent is false. */
const bool = text.transform((value, ctx): boolean => {
  if (value === undefined || FALSE.has(value)) return false;
  if (TRUE.has(value)) return true;
  ctx.addIssue({ code: 'custom', message: `must be "true" or "false", got "${value}"` });
  return z.NEVER;
});

const oneOf = <T extends string>(values: readonly T[]) =>
  text.transform((value, ctx): T | undefined => {
    if (value === undefined) return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    ctx.addIssue({
      code: 'custom',
      message: `must be one of ${values.map((v) => `"${v}"`).join(', ')}, got "${value}"`,
    });
    return z.NEVER;
  });

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;

/**
 * KEDA's time.Duration parameters: a Go duration (`1.5s`, `1m30s`, `0`) or else an integer
 * number of milliseconds (`1000`); negative values are refused. Returns milliseconds.
 */
export const parseGoDuration = (value: string): number | undefined => {
  if (value === '0') return 0;
  if (GO_DURATION.test(value)) {
    const sign = value.startsWith('-') ? -1 : 1;
    let ms = 0;
    for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
      ms += Number(amount) * (DURATION_UNITS_MS[unit ?? ''] ?? Number.NaN);
    }
    return sign * ms;
  }
  return JSON_INTEGER.test(value) ? Number(value) : undefined;
};

const duration = text.transform((value, ctx): number | undefined => {
  if (value === undefined) return undefined;
  const ms = parseGoDuration(value);
  if (ms === undefined || !Number.isFinite(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a duration such as "5s" or "1500ms", or a number of milliseconds, got "${value}"`,
    });
    return z.NEVER;
  }
  if (ms < 0) {
    ctx.addIssue({ code: 'custom', message: `must not be negative, got "${value}"` });
    return z.NEVER;
  }
  return ms;
});

export const RabbitMQMetadataSchema = z.object({
  queueName: text,
  mode: text,
  queueLength: float,
  value: float,
  activationValue: float,
  host: text,
  hostFromEnv: text,
  usernameFromEnv: text,
  passwordFromEnv: text,
  protocol: oneOf(PROTOCOLS),
  vhostName: text,
  vHostName: text,
  useRegex: bool,
  operation: text,
  excludeUnacknowledged: bool,
  pageSize: integer,
  timeout: duration,
  unsafeSsl: bool,
});
export type RabbitMQMetadata = z.output<typeof RabbitMQMetadataSchema>;

// ---- cross-field rules ----

type Key = keyof RabbitMQMetadata;

/** Problems at `spec.triggers[i].metadata.<key>`. */
export const metadataProblem = (index: number, key: string, message: string): Problem => ({
  path: fieldPath(['spec', 'triggers', index, 'metadata', key]),
  reason: InvalidTriggerMetadata,
  message,
});

/**
 * KEDA's validateTrigger: mode and value, or the legacy queueLength, or nothing (QueueLength 20).
 *   nothing set                  -> QueueLength, value 20
 *   queueLength N (alone)        -> QueueLength, value N
 *   mode M and value V           -> M, V
 * A value or queueLength of 0 counts as not set, as in KEDA. ebb also refuses negative targets.
 */
const modeAndValue = (
  m: RabbitMQMetadata,
  add: (key: Key, message: string) => void,
): { mode: RabbitMQMode; value: number } | undefined => {
  const queueLength = m.queueLength ?? 0;
  const value = m.value ?? 0;
  if (queueLength === 0 && m.mode === undefined && value === 0) {
    return { mode: 'QueueLength', value: DEFAULT_QUEUE_LENGTH };
  }
  if (queueLength !== 0) {
    if (m.mode !== undefined || value !== 0) {
      add('queueLength', 'is deprecated and cannot be combined with mode or value; use mode and value only');
      return undefined;
    }
    if (queueLength < 0) {
      add('queueLength', `must be > 0, got ${queueLength}`);
      return undefined;
    }
    return { mode: 'QueueLength', value: queueLength };
  }
  if (m.mode === undefined) {
    add('mode', `is required when value is set (one of ${RABBITMQ_MODES.join(', ')})`);
    return undefined;
  }
  const mode = RABBITMQ_MODES.find((known) => known === m.mode);
  if (mode === undefined) {
    add('mode', `must be one of ${RABBITMQ_MODES.map((v) => `"${v}"`).join(', ')}, got "${m.mode}"`);
  }
  if (value === 0) add('value', `is required (and must not be 0) when mode is set`);
  else if (value < 0) add('value', `must be > 0, got ${value}`);
  return mode === undefined || value <= 0 ? undefined : { mode, value };
};

/**
 * What KEDA refuses once the protocol is known: rates need the management API, and so do
 * useRegex, excludeUnacknowledged and a custom timeout.
 */
export const protocolProblems = (config: RabbitMQConfig, protocol: Protocol, index: number): Problem[] => {
  if (protocol === 'http') return [];
  const problems: Problem[] = [];
  const httpOnly = (key: string, what: string) =>
    problems.push(metadataProblem(index, key, `${what} needs protocol http (the management API), not amqp`));
  if (HTTP_ONLY_MODES.has(config.mode)) httpOnly('mode', `mode ${config.mode}`);
  if (config.useRegex) httpOnly('useRegex', 'useRegex');
  if (config.excludeUnacknowledged) httpOnly('excludeUnacknowledged', 'excludeUnacknowledged');
  if (config.timeoutMs !== undefined && config.timeoutMs !== 0) httpOnly('timeout', 'a custom timeout');
  return problems;
};

/**
 * Parses the metadata keys of a rabbitmq trigger into a config, with KEDA's rules between them;
 * problems carry the full field path. What depends on the broker (host, protocol from its scheme,
 * credentials) is checked by broker.ts's parseRabbitMQTrigger.
 */
export const parseRabbitMQMetadata = (ctx: TriggerContext): Result<RabbitMQConfig, Problem[]> => {
  const { index, trigger } = ctx;
  const parsed = parseWith(
    RabbitMQMetadataSchema,
    trigger.metadata,
    ['spec', 'triggers', index, 'metadata'],
    InvalidTriggerMetadata,
  );
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  const problems: Problem[] = [];
  const add = (key: Key, message: string) => problems.push(metadataProblem(index, key, message));

  if (m.queueName === undefined) add('queueName', 'is required');
  const target = modeAndValue(m, add);
  const operation = m.operation ?? 'sum';
  const knownOperation = OPERATIONS.find((op) => op === operation);
  // KEDA only looks at operation when useRegex is set (and only when a read finds queues).
  if (m.useRegex && knownOperation === undefined) {
    add('operation', `must be one of ${OPERATIONS.map((v) => `"${v}"`).join(', ')}, got "${operation}"`);
  }
  const pageSize = m.pageSize ?? DEFAULT_PAGE_SIZE;
  if (pageSize < 1) add('pageSize', `must be >= 1, got ${pageSize}`);
  if (m.queueName === undefined || target === undefined || problems.length > 0) return fail(problems);

  return ok({
    queueName: m.queueName,
    mode: target.mode,
    value: target.value,
    activationValue: m.activationValue ?? 0,
    host: m.host,
    protocol: m.protocol,
    vhostName: m.vhostName ?? m.vHostName,
    useRegex: m.useRegex,
    operation: knownOperation ?? 'sum',
    excludeUnacknowledged: m.excludeUnacknowledged,
    pageSize,
    timeoutMs: m.timeout,
    unsafeSsl: m.unsafeSsl,
    fromEnv: {
      ...(m.hostFromEnv === undefined ? {} : { host: m.hostFromEnv }),
      ...(m.usernameFromEnv === undefined ? {} : { username: m.usernameFromEnv }),
      ...(m.passwordFromEnv === undefined ? {} : { password: m.passwordFromEnv }),
    },
    authenticationRef: trigger.authenticationRef?.name,
  });
};
