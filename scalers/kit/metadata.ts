// The scaler kit's metadata parsers: one zod value parser per kind of trigger parameter, with
// KEDA's typed-config rules (pkg/scalers/scalersconfig: a value is trimmed and an empty value is
// absent; booleans are Go's strconv.ParseBool; durations Go's time.ParseDuration) and one wording
// for each complaint. A scaler's schema.ts is its rows: `lagThreshold: integer(GO_INT, {...})`.
// Messages are completed by parseWith with the field path: `spec.triggers[0].metadata.x: …`.
import { z } from 'zod';
import { fieldPath, parseWith } from '../../src/api/parse.ts';
import { InvalidTriggerMetadata, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';

/** `spec.triggers[i].metadata`: where a trigger's parameters live in a ScaledObject. */
export const metadataPrefix = (index: number): readonly PropertyKey[] => [
  'spec',
  'triggers',
  index,
  'metadata',
];

/** Parses a trigger's metadata with `schema`; problems carry the full field path. */
export const parseMetadata = <S extends z.ZodType>(schema: S, ctx: TriggerContext): Result<z.output<S>> =>
  parseWith(schema, ctx.trigger.metadata, metadataPrefix(ctx.index), InvalidTriggerMetadata);

/** A problem at `spec.triggers[i].metadata.<key>` (cross-field rules found after parsing). */
export const metadataProblem = (index: number, key: string, message: string): Problem => ({
  path: fieldPath([...metadataPrefix(index), key]),
  reason: InvalidTriggerMetadata,
  message,
});

/**
 * A `*FromEnv` key KEDA would read: it names a variable of the scale target's containers, which
 * KEDA's operator resolves from the pod spec and ebb, running outside the pod, cannot. Refused
 * (never admitted to fail at every read), with what to do instead. One wording for every scaler.
 */
export const fromEnvProblem = (index: number, key: string, instead: string): Problem =>
  metadataProblem(index, key, `ebb has no container environment to read it from; ${instead}`);

/** What to do instead of a `*FromEnv` key that a TriggerAuthentication can also provide. */
export const FROM_ENV_TO_SECRET = 'put the value in a Secret and reference it with a TriggerAuthentication';

/** `must be one of "a", "b", got "c"`: the complaint about a value outside a fixed set. */
export const mustBeOneOf = (values: readonly string[], got: string): string =>
  `must be one of ${values.map((v) => `"${v}"`).join(', ')}, got "${got}"`;

/** A parameter's value as KEDA reads it (configParamValue): trimmed; empty is absent. */
export const paramValue = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
};

/** A text parameter: trimmed, an empty value absent. */
export const text = z.string().optional().transform(paramValue);

/** A required text parameter: `is required<hint>` when absent or empty. */
export const required = (hint = '') =>
  text.transform((v, ctx) => {
    if (v !== undefined) return v;
    ctx.addIssue({ code: 'custom', message: `is required${hint}` });
    return z.NEVER;
  });

/** `a, b,,c` -> ['a', 'b', 'c']; undefined when nothing is listed. */
export const commaList = text.transform((value): string[] | undefined => {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length === 0 ? undefined : items;
});

const GO_TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE: ReadonlySet<string> = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, which KEDA uses: 1 t T TRUE true True, 0 f F FALSE false False. */
export const parseGoBool = (value: string): boolean | undefined =>
  GO_TRUE.has(value) ? true : GO_FALSE.has(value) ? false : undefined;

/** A boolean parameter (Go's ParseBool); absent: `fallback`. */
export const bool = (fallback: boolean) =>
  text.transform((v, ctx): boolean => {
    if (v === undefined) return fallback;
    const parsed = parseGoBool(v);
    if (parsed !== undefined) return parsed;
    ctx.addIssue({ code: 'custom', message: `must be "true" or "false", got "${v}"` });
    return z.NEVER;
  });

/** One of `values` (exact, case-sensitive, as KEDA compares); absent: `fallback`. */
export function oneOf<T extends string>(values: readonly T[]): z.ZodType<T | undefined, string | undefined>;
export function oneOf<T extends string>(values: readonly T[], fallback: T): z.ZodType<T, string | undefined>;
export function oneOf<T extends string>(values: readonly T[], fallback?: T) {
  return text.transform((v, ctx): T | undefined => {
    if (v === undefined) return fallback;
    const found = values.find((value) => value === v);
    if (found !== undefined) return found;
    ctx.addIssue({ code: 'custom', message: mustBeOneOf(values, v) });
    return z.NEVER;
  });
}

// ---- numbers ----

/** How a number parameter is written, and what the complaint calls it (`must be <expected>`). */
export interface NumberFormat {
  readonly pattern: RegExp;
  readonly expected: string;
  /** Values the pattern admits that still are not numbers of this kind (precision, overflow). */
  readonly valid: (n: number) => boolean;
}

/** Go's strconv.Atoi as KEDA's Kafka scaler reads it: decimal digits, an optional minus, exact. */
export const GO_INT: Readonly<NumberFormat> = {
  pattern: /^-?\d+$/,
  expected: 'an integer',
  valid: Number.isSafeInteger,
};
/** A JSON number (Go's json.Unmarshal into float64, which KEDA's RabbitMQ scaler uses). */
export const JSON_NUMBER: Readonly<NumberFormat> = {
  pattern: /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/,
  expected: 'a number',
  valid: Number.isFinite,
};
/** A JSON integer. */
export const JSON_INTEGER: Readonly<NumberFormat> = {
  pattern: /^-?(0|[1-9]\d*)$/,
  expected: 'an integer',
  valid: Number.isFinite,
};
/** An unsigned decimal without exponent (`0.5`, `100`): ebb's own http parameters. */
export const DECIMAL: Readonly<NumberFormat> = {
  pattern: /^(0|[1-9]\d*)(\.\d+)?$/,
  expected: 'a number',
  valid: Number.isFinite,
};
/** An unsigned decimal integer without leading zeros. */
export const UNSIGNED_INTEGER: Readonly<NumberFormat> = {
  pattern: /^(0|[1-9]\d*)$/,
  expected: 'an integer',
  valid: Number.isFinite,
};

export const INT32_MAX = 2_147_483_647;

export interface NumberRule<F extends number | undefined> {
  /** The value when the parameter is absent. */
  readonly fallback: F;
  /** The range the value must lie in, beyond its format. */
  readonly within?: (n: number) => boolean;
  /** The complaint when `within` refuses, before `, got "<value>"`; default `must be <expected>`. */
  readonly outOfRange?: string;
  /** The complaint when the format refuses; default `must be <expected>`. */
  readonly malformed?: string;
}

/**
 * A number parameter in `format`: malformed text gets `must be <expected>, got "<value>"` (or
 * the rule's wording), a number outside `within` the rule's `outOfRange`; absent: the fallback.
 */
export const number = <F extends number | undefined = undefined>(
  format: NumberFormat,
  rule: NumberRule<F> = { fallback: undefined as F },
) =>
  text.transform((value, ctx): number | F => {
    if (value === undefined) return rule.fallback;
    const n = Number(value);
    const complain = (message: string) => {
      ctx.addIssue({ code: 'custom', message: `${message}, got "${value}"` });
      return z.NEVER;
    };
    const malformed = rule.malformed ?? `must be ${format.expected}`;
    if (!format.pattern.test(value) || !format.valid(n)) return complain(malformed);
    if (rule.within !== undefined && !rule.within(n)) return complain(rule.outOfRange ?? malformed);
    return n;
  });

// ---- durations ----

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

/** A duration syntax: the whole value, and one `<amount><unit>` term of it. */
export interface DurationSyntax {
  readonly whole: RegExp;
  readonly term: RegExp;
}

/** Go's time.ParseDuration: signed, `1h2m3.5s`, `.5s`, `1.s`, units ns to h, and a bare `0`. */
export const GO_DURATION: Readonly<DurationSyntax> = {
  whole: /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/,
  term: /(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g,
};

/** A subset of Go's syntax for ebb's own parameters: unsigned, digits around a dot, ms to h. */
export const COARSE_DURATION: Readonly<DurationSyntax> = {
  whole: /^((\d+(\.\d+)?)(ms|s|m|h))+$/,
  term: /(\d+(\.\d+)?)(ms|s|m|h)/g,
};

/** `value` in `syntax` as milliseconds, not rounded, or undefined: ±(sum of amount × unit). */
export const parseDurationIn = (syntax: DurationSyntax, value: string): number | undefined => {
  if (!syntax.whole.test(value)) return undefined;
  let ms = 0;
  for (const [, amount, , unit] of value.matchAll(syntax.term)) {
    ms += Number(amount) * (DURATION_UNITS_MS[unit ?? ''] ?? Number.NaN);
  }
  return value.startsWith('-') ? -ms : ms;
};

/**
 * KEDA's time.Duration parameters: a Go duration (`1.5s`, `1m30s`, `0`) or else an integer
 * number of milliseconds (`1000`). Returns milliseconds, signed.
 */
export const parseGoDurationOrMs = (value: string): number | undefined =>
  parseDurationIn(GO_DURATION, value) ?? (JSON_INTEGER.pattern.test(value) ? Number(value) : undefined);

/** A Go duration or milliseconds (KEDA's time.Duration parameters); negative values refused. */
export const goDurationOrMs = text.transform((value, ctx): number | undefined => {
  if (value === undefined) return undefined;
  const ms = parseGoDurationOrMs(value);
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

/** `90000` -> `90s`... the largest whole unit, for messages: `between 1s and 1h`. */
export const formatDuration = (ms: number): string =>
  ms === 0
    ? '0s'
    : ms % 3_600_000 === 0
      ? `${ms / 3_600_000}h`
      : ms % 60_000 === 0
        ? `${ms / 60_000}m`
        : ms % 1000 === 0
          ? `${ms / 1000}s`
          : `${ms}ms`;

/** A coarse duration (`60s`, `1m30s`, `1.5s`, `250ms`; see COARSE_DURATION) in whole ms, or undefined. */
export const parseCoarseDuration = (value: string): number | undefined => {
  const ms = parseDurationIn(COARSE_DURATION, value);
  return ms !== undefined && Number.isFinite(ms) ? Math.round(ms) : undefined;
};

/** A coarse duration in whole ms, within [minMs, maxMs]; absent: undefined. */
export const durationWithin = (minMs: number, maxMs: number, example: string) =>
  text.transform((value, ctx): number | undefined => {
    if (value === undefined) return undefined;
    const ms = parseCoarseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be a duration such as "${example}", got "${value}"` });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got "${value}"`,
      });
      return z.NEVER;
    }
    return ms;
  });
