// `ebb validate PATH...`: what the cluster would say about the manifests, offline. Directories
// are walked for YAML files (validate/inputs.ts); every ScaledObject, TriggerAuthentication and
// ClusterTriggerAuthentication is checked (validate/check.ts) and the documents against each other
// (validate/cross.ts). One line per problem, `FILE:LINE:COL: path: message` (warnings say so),
// or one JSON document with --output json. Exit 1 on any error, or any warning with --strict.
// Documents of other kinds (a Deployment beside its ScaledObject) are skipped and counted.
// Work is bounded by MANIFEST_LIMITS (documents.ts): each file is read up to the smaller of the
// per-file limit and what is left of the per-run total, so a file over either is refused from
// its size before it is read, and the run reads at most the total.
import { formatProblem, UnreadableManifest, type ValidateProblem } from '../api/reasons.ts';
import { KIND } from '../api/scaledobject.ts';
import { describeManifestReadError, MANIFEST_LIMITS, type ManifestLimits } from './documents.ts';
import { type CliIO, formatBytes, InputTooLarge } from './io.ts';
import { type Finding, type Source, type ValidationReport, validateDocuments } from './validate/check.ts';
import { expandInputs } from './validate/inputs.ts';

export { type Finding, type Source, type ValidationReport, validateDocuments } from './validate/check.ts';

export const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ValidateOptions {
  /** Warnings fail the run too (exit 1). */
  readonly strict?: boolean;
  readonly output?: OutputFormat;
}

export type DocumentResult =
  /** A ScaledObject, admitted when `problems` is empty. `doc` is its 1-based position in the file. */
  | { readonly doc: number; readonly problems: readonly ValidateProblem[] }
  /** A document that cannot be read (`invalid YAML: ...`, or a limit). */
  | { readonly doc: number; readonly unreadable: string };

export interface FileResult {
  readonly file: string;
  /** Why the file could not be read. */
  readonly readError: string | undefined;
  /** In file order. */
  readonly documents: readonly DocumentResult[];
  /** Kinds of the documents that are not checked. */
  readonly skipped: readonly string[];
}

const isScaledObject = (kind: string | undefined) => kind === undefined || kind === KIND;

/**
 * The ScaledObjects of one file's text and their errors (admission, unknown fields, names):
 * the per-document view the conformance check and tests read. Warnings are left out.
 */
export const validateText = (
  file: string,
  text: string,
  limits: ManifestLimits = MANIFEST_LIMITS,
): FileResult => {
  const report = validateDocuments([{ file, text }], limits);
  const documents: DocumentResult[] = [];
  const skipped: string[] = [];
  for (const d of report.documents) {
    const own = report.problems.filter((p) => p.doc === d.doc && p.severity === 'error');
    if (!d.checked) {
      if (d.kind !== undefined && own.length === 0) skipped.push(d.kind);
      else documents.push({ doc: d.doc, unreadable: own[0]?.message ?? 'cannot be read' });
    } else if (isScaledObject(d.kind)) {
      documents.push({
        doc: d.doc,
        problems: own.map(({ path, reason, message }) => ({ path, reason, message })),
      });
    }
  }
  return { file, readError: undefined, documents, skipped };
};

/** Reads each input within the run's byte limits; a file over them is refused from its size. */
const readSources = async (args: readonly string[], io: CliIO, limits: ManifestLimits): Promise<Source[]> => {
  const sources: Source[] = [];
  let read = 0;
  for (const input of await expandInputs(args)) {
    if ('refused' in input) {
      sources.push({ file: input.file, readError: input.refused });
      continue;
    }
    const maxBytes = Math.min(limits.fileBytes, limits.totalBytes - read);
    try {
      const text = await io.readText(input.file, maxBytes);
      read += Buffer.byteLength(text);
      sources.push({ file: input.file, text });
    } catch (error) {
      let readError = describeManifestReadError(error);
      if (error instanceof InputTooLarge && maxBytes < limits.fileBytes) {
        const size = error.sizeBytes;
        readError =
          size !== undefined && size > limits.fileBytes
            ? describeManifestReadError(new InputTooLarge(input.file, limits.fileBytes, size))
            : `${size === undefined ? 'more' : formatBytes(size)} after ${formatBytes(read)} from the files before it, more than the ${formatBytes(limits.totalBytes)} one ebb validate run reads; validate it in another run`;
      }
      sources.push({ file: input.file, readError });
    }
  }
  return sources;
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `FILE:DOC: path: message`: a problem of the DOC-th document (ebb simulate's messages). */
export const problemLine = (file: string, doc: number, problem: ValidateProblem): string =>
  `${file}:${doc}: ${formatProblem(problem)}`;

/** `FILE:LINE:COL: path: message`; `FILE: cannot read: ...` for a file as a whole. */
export const findingLine = (f: Finding): string =>
  f.line === 0
    ? `${f.file}: ${f.message}`
    : `${f.file}:${f.line}:${f.col}: ${f.severity === 'warning' ? 'warning: ' : ''}${f.path === '' ? '' : `${f.path}: `}${f.message}`;

/** The counts of a report, for the summary line and the JSON summary. */
export const summarize = (report: ValidationReport, strict: boolean) => {
  const checked = report.documents.filter((d) => d.checked);
  const failing = new Set(
    report.problems.filter((p) => p.severity === 'error' && p.doc > 0).map((p) => `${p.file}\u0000${p.doc}`),
  );
  const scaledObjects = checked.filter((d) => isScaledObject(d.kind));
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const warnings = report.problems.length - errors;
  const filesWithErrors = new Set(
    report.problems.filter((p) => p.reason === UnreadableManifest).map((p) => p.file),
  ).size;
  return {
    scaledObjects: scaledObjects.length,
    triggerAuthentications: checked.length - scaledObjects.length,
    withProblems: checked.filter((d) => failing.has(`${d.file}\u0000${d.doc}`)).length,
    skipped: report.documents
      .filter((d) => !d.checked && d.kind !== undefined && !failing.has(`${d.file}\u0000${d.doc}`))
      .map((d) => d.kind ?? ''),
    filesWithErrors,
    errors,
    warnings,
    exitCode: errors > 0 || (strict && warnings > 0) ? 1 : 0,
  };
};

const summaryLine = (s: ReturnType<typeof summarize>): string => {
  const auths =
    s.triggerAuthentications === 0 ? '' : ` and ${plural(s.triggerAuthentications, 'TriggerAuthentication')}`;
  const files = s.filesWithErrors === 0 ? '' : `; ${plural(s.filesWithErrors, 'file')} with errors`;
  const warnings = s.warnings === 0 ? '' : `; ${plural(s.warnings, 'warning')}`;
  const skipped =
    s.skipped.length === 0
      ? ''
      : `; skipped ${plural(s.skipped.length, 'document')} of other kinds (${[...new Set(s.skipped)].join(', ')})`;
  return `ebb validate: ${plural(s.scaledObjects, 'ScaledObject')}${auths} checked, ${s.withProblems} with problems${files}${warnings}${skipped}`;
};

/** Runs `ebb validate`; returns the exit code. */
export const runValidate = async (
  args: readonly string[],
  io: CliIO,
  limits: ManifestLimits = MANIFEST_LIMITS,
  options: ValidateOptions = {},
): Promise<number> => {
  const sources = await readSources(args, io, limits);
  const report = validateDocuments(sources, limits, io.now().getTime());
  const strict = options.strict === true;
  const summary = summarize(report, strict);
  if (options.output === 'json') {
    const files = sources.map((s) =>
      'readError' in s ? { file: s.file, error: s.readError } : { file: s.file },
    );
    io.stdout.write(
      `${JSON.stringify({ files, documents: report.documents, problems: report.problems, summary: { ...summary, strict } }, null, 2)}\n`,
    );
    return summary.exitCode;
  }
  for (const finding of report.problems) io.stdout.write(`${findingLine(finding)}\n`);
  io.stderr.write(`${summaryLine(summary)}\n`);
  return summary.exitCode;
};
