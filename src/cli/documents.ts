// Multi-document YAML -> the documents in it, one at a time, with 1-based document numbers for
// messages. Streaming: the parser's syntax tree of one document is composed, converted and
// dropped before the next is composed, so memory follows the largest document, not the file.
//
// Limits (README "Limits"), each checked before the work it bounds:
// - bytes per file and per run: checked by the reader before parsing (io.ts, validate.ts);
// - documents per file: counted as the parser finds them; the rest of the file is not parsed;
// - nesting depth: measured on the parser's syntax tree (an explicit stack, no recursion)
//   before the document is composed, whose recursion would overflow the stack near 800 levels;
// - aliases: the yaml library's maxAliasCount (its default, 100, named here so it is ours):
//   `*ref` expansions allowed per document, which stops "billion laughs" expansion.
import { Composer, type CST, type Document, LineCounter, Parser } from 'yaml';
import { z } from 'zod';
import { describeError, InputTooLarge } from './io.ts';

export const MANIFEST_LIMITS = {
  /** Bytes in one file: more than twice the 3 MiB the API server takes in one request. */
  fileBytes: 8 * 1024 * 1024,
  /** Bytes of all files of one `ebb validate` run. */
  totalBytes: 32 * 1024 * 1024,
  /** Documents (`---`) in one file. */
  documents: 10_000,
  /** Nested mappings and sequences in one document (a CRD schema needs about 30). */
  depth: 100,
  /** The yaml library's maxAliasCount per document. */
  aliasCount: 100,
} as const;

export type ManifestLimits = { readonly [K in keyof typeof MANIFEST_LIMITS]: number };

export type YamlDocument =
  /** A document that parsed: its JS value. */
  | { readonly doc: number; readonly ok: true; readonly value: unknown }
  /** A document that cannot be read: `invalid YAML: line 3, column 1: ...` or a limit. */
  | { readonly doc: number; readonly ok: false; readonly message: string };

/**
 * The offset of the first collection nested deeper than `limit` in `root`, or undefined.
 * depth(top-level mapping) = 1; each mapping or sequence inside another adds 1.
 */
const tooDeepAt = (root: CST.Token | undefined, limit: number): number | undefined => {
  const stack: { token: CST.Token; depth: number }[] = [];
  if (root !== undefined) stack.push({ token: root, depth: 0 });
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')
      continue;
    if (depth + 1 > limit) return token.offset;
    for (const item of token.items as CST.CollectionItem[]) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
};

const ALIAS_ERROR = /Excessive alias count/;

/** Every non-empty document of `text`, in order, numbered by position in the file (from 1). */
export function* yamlDocuments(
  text: string,
  limits: ManifestLimits = MANIFEST_LIMITS,
): Generator<YamlDocument, void, undefined> {
  const lines = new LineCounter();
  const where = (offset: number): string => {
    if (offset < 0) return '';
    const { line, col } = lines.linePos(offset);
    return `line ${line}, column ${col}: `;
  };
  const composer = new Composer();
  /** Documents refused before composing (too deep), by number: the composer still yields them. */
  const refused = new Map<number, string>();
  let found = 0;
  let composed = 0;

  const convert = (document: Document.Parsed): YamlDocument | undefined => {
    const doc = ++composed;
    const refusal = refused.get(doc);
    if (refusal !== undefined) return { doc, ok: false, message: refusal };
    const error = document.errors[0];
    if (error !== undefined) {
      const first = error.message.split('\n')[0] ?? error.code;
      return { doc, ok: false, message: `invalid YAML: ${where(error.pos[0])}${first}` };
    }
    try {
      const value: unknown = document.toJS({ maxAliasCount: limits.aliasCount });
      return value === null || value === undefined ? undefined : { doc, ok: true, value };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return {
        doc,
        ok: false,
        message: ALIAS_ERROR.test(message)
          ? `invalid YAML: its aliases (*name) expand beyond ${limits.aliasCount} nodes, the most ebb reads; write the values out`
          : `invalid YAML: ${message}`,
      };
    }
  };

  for (const token of new Parser(lines.addNewLine).parse(text)) {
    if (token.type === 'document') {
      if (++found > limits.documents) {
        for (const document of composer.end()) {
          const result = convert(document);
          if (result !== undefined) yield result;
        }
        yield {
          doc: found,
          ok: false,
          message: `more than ${limits.documents} documents in one file, the most ebb reads; split the file`,
        };
        return;
      }
      const deep = tooDeepAt(token.value, limits.depth);
      if (deep !== undefined) {
        refused.set(
          found,
          `invalid YAML: ${where(deep)}nested deeper than ${limits.depth} levels, the most ebb reads`,
        );
        delete token.value; // composed as an empty document: its nesting is never recursed into
      }
    }
    for (const document of composer.next(token)) {
      const result = convert(document);
      if (result !== undefined) yield result;
    }
  }
  for (const document of composer.end()) {
    const result = convert(document);
    if (result !== undefined) yield result;
  }
}

/** Why a manifest file was not read: `47.7 MiB, more than 8 MiB, the most ...; split it ...`. */
export const describeManifestReadError = (error: unknown): string =>
  error instanceof InputTooLarge
    ? `${error.message}, the most a manifest file may have; split it into smaller files`
    : describeError(error);

/** The `kind` of a parsed document, when it has one. */
export const kindOf = (value: unknown): string | undefined => {
  const parsed = KindSchema.safeParse(value);
  return parsed.success ? parsed.data.kind : undefined;
};

const KindSchema = z.object({ kind: z.string() });
