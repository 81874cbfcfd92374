// `ebb validate FILE...`: every ScaledObject in every (multi-document) YAML file goes through
// admission offline. One line per problem, `FILE:DOC: path: message`; exit 0 when all are valid.
// Documents of other kinds (a Deployment beside its ScaledObject) are skipped and counted.
import { formatProblem, type Problem } from '../api/reasons.ts';
import { KIND } from '../api/scaledobject.ts';
import { admitScaledObject } from '../controller/admission.ts';
import { kindOf, yamlDocuments } from './documents.ts';
import { type CliIO, describeError } from './io.ts';

export type DocumentResult =
  /** A ScaledObject, admitted when `problems` is empty. `doc` is its 1-based position in the file. */
  | { readonly doc: number; readonly problems: readonly Problem[] }
  /** A document that is not YAML. */
  | { readonly doc: number; readonly invalidYaml: string };

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
export const validateText = (file: string, text: string): FileResult => {
  const documents: DocumentResult[] = [];
  const skipped: string[] = [];
  for (const document of yamlDocuments(text)) {
    if (!document.ok) {
      documents.push({ doc: document.doc, invalidYaml: document.message });
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

export const validateFile = async (file: string, io: CliIO): Promise<FileResult> => {
  let text: string;
  try {
    text = await io.readText(file);
  } catch (error) {
    return { file, readError: describeError(error), documents: [], skipped: [] };
  }
  return validateText(file, text);
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Runs `ebb validate`; returns the exit code. */
export const runValidate = async (files: readonly string[], io: CliIO): Promise<number> => {
  let objects = 0;
  let invalid = 0;
  let failedFiles = 0;
  const skipped: string[] = [];
  for (const file of files) {
    const result = await validateFile(file, io);
    if (result.readError !== undefined) io.stdout.write(`${file}: cannot read: ${result.readError}\n`);
    let fileFailed = result.readError !== undefined;
    for (const document of result.documents) {
      if ('invalidYaml' in document) {
        io.stdout.write(`${file}:${document.doc}: invalid YAML: ${document.invalidYaml}\n`);
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
