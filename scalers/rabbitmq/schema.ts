// KEDA's `rabbitmq` trigger metadata (pkg/scalers/rabbitmq_scaler.go), parsed the way KEDA's
// typed config does: values are trimmed and an empty value counts as absent; numbers are JSON
// numbers, booleans Go's strconv.ParseBool, `timeout` a Go duration or milliseconds. Unknown
// keys are ignored. The broker itself (host, credentials, TLS: from the metadata or the
// trigger's authenticationRef) is resolved in broker.ts, whose parseRabbitMQTrigger checks both.
import { z } from 'zod';
import { fail, ok, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';
import {
  bool,
  goDurationOrMs,
  JSON_INTEGER,
  JSON_NUMBER,
  metadataProblem,
  mustBeOneOf,
  number,
  oneOf,
  parseMetadata,
  text,
} from '../kit/metadata.ts';

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

const float = number(JSON_NUMBER);
const integer = number(JSON_INTEGER);

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
  useRegex: bool(false),
  operation: text,
  excludeUnacknowledged: bool(false),
  pageSize: integer,
  timeout: goDurationOrMs,
  unsafeSsl: bool(false),
});
export type RabbitMQMetadata = z.output<typeof RabbitMQMetadataSchema>;

// ---- cross-field rules ----

type Key = keyof RabbitMQMetadata;

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
    add('mode', mustBeOneOf(RABBITMQ_MODES, m.mode));
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
  const parsed = parseMetadata(RabbitMQMetadataSchema, ctx);
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
    add('operation', mustBeOneOf(OPERATIONS, operation));
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
