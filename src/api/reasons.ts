// Every reason ebb can report, in one place (fastify-style coded errors). A reason is the
// CamelCase word that lands in a condition's `reason`, an Event's `reason`, a log line and a
// metric label; the message beside it names the field and says why. Each family is one module
// of `export const X = 'X'` lines under reasons/; its union type is derived from that module,
// so a reason is written down once and a misspelt one does not compile. `as const` keeps a
// constant's literal type in object literals (`{ reason: KafkaError }` is not widened to string).
import type * as ActivatorReasons from './reasons/activator.ts';
import type * as PlatformReasons from './reasons/platform.ts';
import * as ReportRefusals from './reasons/report-refusals.ts';
import type * as StatusReasons from './reasons/status.ts';
import type * as TlsReasons from './reasons/tls.ts';
import type * as ReadErrorReasons from './reasons/trigger-errors.ts';
import type * as ValidateReasons from './reasons/validate.ts';

export * from './reasons/activator.ts';
export * from './reasons/platform.ts';
export * from './reasons/report-refusals.ts';
export * from './reasons/status.ts';
export * from './reasons/tls.ts';
export * from './reasons/trigger-errors.ts';
export * from './reasons/validate.ts';

/** The values of a module of `export const X = 'X'` lines. */
type ReasonOf<M> = M[keyof M];

/** Reasons of conditions, Events and Problems (src/api/reasons/status.ts). */
export type Reason = ReasonOf<typeof StatusReasons>;
/**
 * What a failed trigger read, formula or poll carries: a read error of its own
 * (src/api/reasons/trigger-errors.ts) or the status reason that names what failed
 * (AuthenticationError, InvalidTriggerMetadata, TriggerError).
 */
export type ReadErrorReason = ReasonOf<typeof ReadErrorReasons> | Reason;
/** The activator's own answers, its `X-Ebb-Reason` (src/api/reasons/activator.ts). */
export type ActivatorReason = ReasonOf<typeof ActivatorReasons>;
/** Why a certificate was not taken (src/api/reasons/tls.ts). */
export type CertificateReason = ReasonOf<typeof TlsReasons>;
/** Why a report was refused (src/api/reasons/report-refusals.ts). */
export type ReportRefusal = ReasonOf<typeof ReportRefusals>;

/**
 * Why an adapter failed (src/api/reasons/platform.ts), or the status reason it names
 * (ScaleTargetNotFound, HPAConflict): a PlatformError's reason.
 */
export type PlatformReason = ReasonOf<typeof PlatformReasons> | Reason;

/** What a condition or an Event may carry: a poll's Ready=False passes a platform failure on. */
export type StatusReason = ReadErrorReason | PlatformReason;

/** What `ebb validate` reports: admission's reasons and its own (src/api/reasons/validate.ts). */
export type ValidateReason = ReasonOf<typeof ValidateReasons> | Reason;

/** Every report refusal, for metrics that start each label at 0. */
export const REPORT_REFUSALS: readonly ReportRefusal[] = Object.values(ReportRefusals);

/** A problem found in user input: the field path (`spec.triggers[0].metadata.start`) and why. */
export interface Problem {
  readonly path: string;
  readonly reason: Reason;
  readonly message: string;
}

/** A problem `ebb validate` finds: admission's, or one of its own reasons (unknown field, name, ...). */
export interface ValidateProblem {
  readonly path: string;
  readonly reason: ValidateReason;
  readonly message: string;
}

export type Result<T, E = Problem[]> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const fail = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** `spec.triggers[0].metadata.lagThreshold: must be greater than 0` */
export const formatProblem = (p: Pick<Problem, 'path' | 'message'>): string => `${p.path}: ${p.message}`;
