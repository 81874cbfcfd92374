// Parsing at the edge: raw objects (from YAML, from the API server) into typed values, with
// zod issues turned into Problems whose path names the field the way kubectl would.
import type { z } from 'zod';
import { fail, InvalidSpec, ok, type Problem, type Reason, type Result } from './reasons.ts';
import { API_VERSION, KEDA_API_VERSION } from './scaledobject.ts';

/** A JSON object read from YAML or the API server (not null, not an array). */
export type RawMap = Readonly<Record<string, unknown>>;
export const isMap = (value: unknown): value is RawMap =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** ebb's own apiVersion, and KEDA's so that a KEDA manifest is admitted as it is (every ebb kind). */
export const ACCEPTED_API_VERSIONS: readonly string[] = [API_VERSION, KEDA_API_VERSION];

/** `apiVersion: must be "autoscaling.ebb.dev/v1alpha1" (or KEDA's ...)` unless it is one of them. */
export const apiVersionProblems = (apiVersion: unknown): Problem[] =>
  typeof apiVersion === 'string' && !ACCEPTED_API_VERSIONS.includes(apiVersion)
    ? [
        {
          path: 'apiVersion',
          reason: InvalidSpec,
          message: `must be "${API_VERSION}" (or KEDA's "${KEDA_API_VERSION}"), got "${apiVersion}"`,
        },
      ]
    : [];

/** ['spec', 'triggers', 0, 'metadata'] -> `spec.triggers[0].metadata` */
export const fieldPath = (segments: readonly PropertyKey[]): string =>
  segments.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    const key = String(seg);
    const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
    if (!plain) return `${acc}[${JSON.stringify(key)}]`;
    return acc === '' ? key : `${acc}.${key}`;
  }, '');

/** At most this many characters of a value are echoed in a message. */
const MAX_ECHO = 80;

/** A value as a message shows it: JSON (`{"a":1}`, `"x"`, `[1]`), cut at MAX_ECHO characters. */
const describeValue = (input: unknown): string => {
  if (input === undefined) return 'nothing';
  let text: string;
  try {
    text =
      typeof input === 'number' || typeof input === 'bigint'
        ? String(input)
        : (JSON.stringify(input) ?? String(input));
  } catch {
    text = String(input);
  }
  return text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
};

/** One readable sentence per zod issue: "is required", "must be >= 1, got -5". */
export const issueMessage = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${issue.expected === 'int' ? 'an integer' : `of type ${issue.expected}`}, got ${
        Array.isArray(issue.input) ? 'array' : issue.input === null ? 'null' : typeof issue.input
      } ${typeof issue.input === 'object' ? '' : describeValue(issue.input)}`.trimEnd();
    case 'too_small': {
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return `must not be empty`;
      const op = issue.inclusive ? '>=' : '>';
      return `must be ${op} ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} item(s)`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters long`;
      const op = issue.inclusive ? '<=' : '<';
      return `must be ${op} ${String(issue.maximum)}, got ${describeValue(issue.input)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    default:
      return issue.message;
  }
};

export const problemsFromZod = (
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
  reason: Reason = InvalidSpec,
): Problem[] =>
  error.issues.map((issue) => ({
    path: fieldPath([...prefix, ...issue.path]),
    reason,
    message: issueMessage(issue),
  }));

/** Parse `input` with `schema`; problems carry paths prefixed with `prefix`. */
export const parseWith = <S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
  reason: Reason = InvalidSpec,
): Result<z.output<S>> => {
  const parsed = schema.safeParse(input, { reportInput: true });
  return parsed.success ? ok(parsed.data) : fail(problemsFromZod(parsed.error, prefix, reason));
};
