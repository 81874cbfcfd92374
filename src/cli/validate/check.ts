// The checks of `ebb validate`, over texts already read: each document of an ebb kind is checked
// as the cluster would check it (the CRD's strict field validation, the API server's name rules,
// ebb's admission), trigger metadata keys its scaler does not read are warned about, and then the
// documents are checked against each other (an authenticationRef naming nothing given, two
// ScaledObjects on one target). Cron windows that ebb and KEDA judge differently at some instant
// of the year after `now` are warned about (scalers/cron/disagreement.ts's `cronWindowWarning`, shared with `ebb migrate`).
// Pure: no I/O, the time an argument; the command (../validate.ts) reads and prints.

import { cronWindowWarning } from '../../../scalers/cron/disagreement.ts';
import { metadataKeysOf } from '../../../scalers/index.ts';
import { admitTriggerAuthentication } from '../../api/auth-admission.ts';
import { didYouMean } from '../../api/closest.ts';
import { nameProblems } from '../../api/names.ts';
import { fieldPath, isMap, type RawMap } from '../../api/parse.ts';
import {
  CronWindowDisagreement,
  UnknownMetadataKey,
  UnreadableManifest,
  type ValidateProblem,
} from '../../api/reasons.ts';
import { KIND } from '../../api/scaledobject.ts';
import { unknownFields } from '../../api/strict-fields.ts';
import {
  type AuthKind,
  CLUSTER_TRIGGER_AUTHENTICATION,
  TRIGGER_AUTHENTICATION,
} from '../../api/triggerauthentication.ts';
import { admitScaledObject } from '../../controller/admission.ts';
import { kindOf, MANIFEST_LIMITS, type ManifestLimits, type Position, yamlDocuments } from '../documents.ts';
import { crossDocumentProblems, type ObjectRecord, type Where } from './cross.ts';

export type Severity = 'error' | 'warning';

/** One problem, where it is written: `FILE:LINE:COL: path: message`. */
export interface Finding extends ValidateProblem {
  readonly file: string;
  /** The document's 1-based position in the file; 0 for the file as a whole. */
  readonly doc: number;
  /** 1-based; 0 when the problem is with the file as a whole (it cannot be read). */
  readonly line: number;
  readonly col: number;
  readonly severity: Severity;
}

/** A document of the input, as the report lists it. */
export interface DocumentEntry {
  readonly file: string;
  /** Its 1-based position in the file. */
  readonly doc: number;
  readonly line: number;
  readonly col: number;
  /** Its `kind`, undefined when it has none (it is then checked as a ScaledObject). */
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** Checked as an ebb kind (false: skipped, another kind; or unreadable). */
  readonly checked: boolean;
}

export interface ValidationReport {
  readonly files: readonly string[];
  readonly documents: readonly DocumentEntry[];
  /** In file order, then the cross-document problems. */
  readonly problems: readonly Finding[];
}

/** A file's text, already read within the run's limits (or why it was not). */
export type Source =
  | { readonly file: string; readonly text: string }
  | { readonly file: string; readonly readError: string };

const EBB_KINDS: ReadonlySet<string> = new Set([
  KIND,
  TRIGGER_AUTHENTICATION,
  CLUSTER_TRIGGER_AUTHENTICATION,
]);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Metadata keys of supported triggers that their scaler does not read: warnings, never errors. */
const metadataKeyWarnings = (spec: unknown): ValidateProblem[] => {
  const triggers = isMap(spec) && Array.isArray(spec.triggers) ? spec.triggers : [];
  return triggers.flatMap((trigger: unknown, index) => {
    if (!isMap(trigger) || !isMap(trigger.metadata)) return [];
    const type = text(trigger.type) ?? '';
    const known = metadataKeysOf(type);
    if (known === undefined) return [];
    return Object.keys(trigger.metadata)
      .filter((key) => !known.includes(key))
      .map((key) => ({
        path: fieldPath(['spec', 'triggers', index, 'metadata', key]),
        reason: UnknownMetadataKey,
        message: `unknown metadata key "${key}" for a ${type} trigger${didYouMean(key, known)}; KEDA and ebb ignore it`,
      }));
  });
};

/** One run's cron comparisons by window (a year of an hourly window costs seconds): asked once. */
type CronMemo = Map<string, string | undefined>;

/**
 * Cron triggers whose window gets a different verdict from KEDA's rule in the year after `now`.
 * A trigger with an error (start equal to end, a bad zone) is not compared: admission says why.
 */
const cronWindowWarnings = (
  spec: unknown,
  now: number,
  memo: CronMemo,
  errors: readonly ValidateProblem[],
): ValidateProblem[] => {
  const triggers = isMap(spec) && Array.isArray(spec.triggers) ? spec.triggers : [];
  return triggers.flatMap((trigger: unknown, index) => {
    if (!isMap(trigger) || trigger.type !== 'cron' || !isMap(trigger.metadata)) return [];
    const own = `${fieldPath(['spec', 'triggers', index])}.`;
    if (errors.some((e) => e.path.startsWith(own))) return [];
    const { timezone, start, end } = trigger.metadata;
    const key = JSON.stringify([timezone, start, end]);
    const message = memo.has(key) ? memo.get(key) : cronWindowWarning(trigger.metadata, now);
    memo.set(key, message);
    if (message === undefined) return [];
    return [
      {
        path: fieldPath(['spec', 'triggers', index, 'metadata', 'start']),
        reason: CronWindowDisagreement,
        message,
      },
    ];
  });
};

/** The checks of one parsed document of an ebb kind: its errors and warnings. */
const checkObject = (
  kind: string,
  value: RawMap,
  now: number | undefined,
  memo: CronMemo,
): { errors: ValidateProblem[]; warnings: ValidateProblem[] } => {
  const metadata = isMap(value.metadata) ? value.metadata : {};
  const common = [...unknownFields(kind, value), ...nameProblems(metadata.name, metadata.namespace)];
  if (kind === KIND) {
    const errors = [...common, ...admitScaledObject(value).problems];
    const cron = now === undefined ? [] : cronWindowWarnings(value.spec, now, memo, errors);
    return { errors, warnings: [...metadataKeyWarnings(value.spec), ...cron] };
  }
  return { errors: [...common, ...admitTriggerAuthentication(kind as AuthKind, value)], warnings: [] };
};

/** What a ScaledObject's cross-document checks need: its target and its authenticationRefs. */
const recordOf = (kind: string, value: RawMap, at: (path: string) => Where): ObjectRecord => {
  const metadata = isMap(value.metadata) ? value.metadata : {};
  const spec = isMap(value.spec) ? value.spec : {};
  const target = isMap(spec.scaleTargetRef) ? spec.scaleTargetRef : undefined;
  const triggers = Array.isArray(spec.triggers) ? spec.triggers : [];
  return {
    kind,
    namespace: text(metadata.namespace),
    name: text(metadata.name),
    where: at('metadata.name'),
    target:
      kind === KIND && target !== undefined && text(target.name) !== undefined
        ? {
            apiVersion: text(target.apiVersion),
            kind: text(target.kind),
            name: text(target.name) ?? '',
            where: at('spec.scaleTargetRef'),
          }
        : undefined,
    authRefs: triggers.flatMap((trigger: unknown, index) => {
      const ref = isMap(trigger) && isMap(trigger.authenticationRef) ? trigger.authenticationRef : undefined;
      const name = text(ref?.name);
      if (ref === undefined || name === undefined) return [];
      const path = `spec.triggers[${index}].authenticationRef.name`;
      return [{ kind: text(ref.kind) ?? TRIGGER_AUTHENTICATION, name, path, where: at(path) }];
    }),
  };
};

/**
 * Checks every document of every source. Errors are what the cluster would refuse; warnings
 * (unknown metadata keys, an authenticationRef not among the files, a cron window KEDA judges
 * differently in the year after `now`) what it would accept. Without `now` the cron comparison
 * is left out: `validateText` keeps errors only, and `ebb migrate` words that difference itself.
 */
export const validateDocuments = (
  sources: readonly Source[],
  limits: ManifestLimits = MANIFEST_LIMITS,
  now?: number,
): ValidationReport => {
  const documents: DocumentEntry[] = [];
  const problems: Finding[] = [];
  const records: ObjectRecord[] = [];
  const cronMemo: CronMemo = new Map();
  for (const source of sources) {
    if ('readError' in source) {
      problems.push({
        file: source.file,
        doc: 0,
        line: 0,
        col: 0,
        path: '',
        reason: UnreadableManifest,
        message: `cannot read: ${source.readError}`,
        severity: 'error',
      });
      continue;
    }
    const { file } = source;
    for (const document of yamlDocuments(source.text, limits)) {
      const place = (p: Position) => ({ file, doc: document.doc, line: p.line, col: p.col });
      if (!document.ok) {
        documents.push({
          ...place(document.start),
          kind: undefined,
          namespace: undefined,
          name: undefined,
          checked: false,
        });
        problems.push({
          ...place(document.start),
          path: '',
          reason: UnreadableManifest,
          // The position leads the line already.
          message: document.message.replace(/^invalid YAML: line \d+, column \d+: /, 'invalid YAML: '),
          severity: 'error',
        });
        continue;
      }
      const value = document.value;
      const kind = kindOf(value) ?? KIND;
      const metadata = isMap(value) && isMap(value.metadata) ? value.metadata : {};
      const checked = EBB_KINDS.has(kind);
      documents.push({
        ...place(document.start),
        kind: kindOf(value),
        namespace: text(metadata.namespace),
        name: text(metadata.name),
        checked,
      });
      if (!checked) continue;
      const at = (path: string) => place(path === '<root>' ? document.start : document.locate(path));
      if (!isMap(value)) {
        const admission = admitScaledObject(value);
        for (const p of admission.problems) problems.push({ ...p, ...at(p.path), severity: 'error' });
        continue;
      }
      const { errors, warnings } = checkObject(kind, value, now, cronMemo);
      for (const p of errors) problems.push({ ...p, ...at(p.path), severity: 'error' });
      for (const p of warnings) problems.push({ ...p, ...at(p.path), severity: 'warning' });
      records.push(recordOf(kind, value, at));
    }
  }
  problems.push(...crossDocumentProblems(records));
  // In reading order: by file as given, then line and column (a stable sort keeps the rest).
  const order = new Map(sources.map((s, i) => [s.file, i] as const));
  const rank = (f: Finding) => order.get(f.file) ?? 0;
  problems.sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.col - b.col);
  return { files: sources.map((s) => s.file), documents, problems };
};
