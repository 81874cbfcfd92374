// `ebb validate FILE...`: every ScaledObject in every (multi-document) YAML file goes through
// admission offline. One line per problem, `FILE:DOC: path: message`; exit 0 when all are valid.
// Documents of other kinds (a Deployment beside its ScaledObject) are skipped and counted.
// Work is bounded by MANIFEST_LIMITS (documents.ts): each file is read up to the smaller of the
// per-file limit and what is left of the per-run total, so a file over either is refused from
// its size before it is read, and the run reads at most the total.
import { formatProblem, type Problem } from '../api/reasons.ts';
import { KIND } from '../api/scaledobject.ts';
import { admitScaledObject } from '../controller/admission.ts';
import {
  describeManifestReadError,
  kindOf,
  MANIFEST_LIMITS,
  type ManifestLimits,
  yamlDocuments,
} from './documents.ts';
import { type CliIO, formatBytes, InputTooLarge } from './io.ts';

export type DocumentResult =
  /** A ScaledObject, admitted when `problems` is empty. `doc` is its 1-based position in the file. */
  | { readonly doc: number; readonly problems: readonly Problem[] }
  /** A document that cannot be read (`invalid YAML: ...`, or a limit). */
  | { readonly doc: number; readonly unreadable: string };

export interface FileResult {
  readonly file: string;
  /** Why the file could not be read. */
  readonly readError: string | undefined;
  /** In file order. */
  readonly documents: readonly DocumentResult[];
  /** Kinds of the documents that are not ScaledObjects. */
  readonly skipped: readonly string[];
}

/** `FILE:DOC: spec.triggers[0].metadata.start: ...` */
export const problemLine = (file: string, doc: number, problem: Problem): string =>
  `${file}:${doc}: ${formatProblem(problem)}`;

/** Checks the text of one file (already read). */
export const validateText = (
  file: string,
  text: string,
  limits: ManifestLimits = MANIFEST_LIMITS,
): FileResult => {
  const documents: DocumentResult[] = [];
  const skipped: string[] = [];
  for (const document of yamlDocuments(text, limits)) {
    if (!document.ok) {
      documents.push({ doc: document.doc, unreadable: document.message });
      continue;
    }
    const kind = kindOf(document.value);
    if (kind !== undefined && kind !== KIND) {
      skipped.push(kind);
      continue;
    }
    const admission = admitScaledObject(document.value);
    documents.push({ doc: document.doc, problems: admission.problems });
  }
  return { file, readError: undefined, documents, skipped };
};

/**
 * Reads and checks one file, reading at most `maxBytes`: the per-file limit, or less when the
 * run's total is nearly used up (`readBefore` bytes so far).
 */
export const validateFile = async (
  file: string,
  io: CliIO,
  limits: ManifestLimits = MANIFEST_LIMITS,
  readBefore = 0,
): Promise<FileResult & { readonly bytes: number }> => {
  const left = limits.totalBytes - readBefore;
  const maxBytes = Math.min(limits.fileBytes, left);
  let text: string;
  try {
    text = await io.readText(file, maxBytes);
  } catch (error) {
    let readError = describeManifestReadError(error);
    if (error instanceof InputTooLarge && maxBytes < limits.fileBytes) {
      const size = error.sizeBytes;
      readError =
        size !== undefined && size > limits.fileBytes
          ? describeManifestReadError(new InputTooLarge(file, limits.fileBytes, size))
          : `${size === undefined ? 'more' : formatBytes(size)} after ${formatBytes(readBefore)} from the files before it, more than the ${formatBytes(limits.totalBytes)} one ebb validate run reads; validate it in another run`;
    }
    return { file, readError, bytes: 0, documents: [], skipped: [] };
  }
  return { ...validateText(file, text, limits), bytes: Buffer.byteLength(text) };
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Runs `ebb validate`; returns the exit code. */
export const runValidate = async (
  files: readonly string[],
  io: CliIO,
  limits: ManifestLimits = MANIFEST_LIMITS,
): Promise<number> => {
  let read = 0;
  let objects = 0;
  let invalid = 0;
  let failedFiles = 0;
  const skipped: string[] = [];
  for (const file of files) {
    const result = await validateFile(file, io, limits, read);
    read += result.bytes;
    if (result.readError !== undefined) io.stdout.write(`${file}: cannot read: ${result.readError}\n`);
    let fileFailed = result.readError !== undefined;
    for (const document of result.documents) {
      if ('unreadable' in document) {
        io.stdout.write(`${file}:${document.doc}: ${document.unreadable}\n`);
        fileFailed = true;
        continue;
      }
      objects++;
      if (document.problems.length > 0) invalid++;
      for (const problem of document.problems)
        io.stdout.write(`${problemLine(file, document.doc, problem)}\n`);
    }
    if (fileFailed) failedFiles++;
    skipped.push(...result.skipped);
  }
  const skippedNote =
    skipped.length === 0
      ? ''
      : `; skipped ${plural(skipped.length, 'document')} of other kinds (${[...new Set(skipped)].join(', ')})`;
  const unreadable = failedFiles === 0 ? '' : `; ${plural(failedFiles, 'file')} with errors`;
  io.stderr.write(
    `ebb validate: ${plural(objects, 'ScaledObject')} checked, ${invalid} with problems${unreadable}${skippedNote}\n`,
  );
  return invalid > 0 || failedFiles > 0 ? 1 : 0;
};
