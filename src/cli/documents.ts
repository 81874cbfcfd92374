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
import {
  Composer,
  type CST,
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isSeq,
  LineCounter,
  Parser,
  visit,
  type Node as YamlNode,
} from 'yaml';
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

/** 1-based line and column, as editors and compilers print them. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

export type YamlDocument =
  /**
   * A document that parsed: its JS value, where it starts, and where a field path
   * (`spec.triggers[0].metadata.lagThreshold`) is written in it. Valid while the generator is
   * not resumed: the next document replaces it.
   */
  | {
      readonly doc: number;
      readonly ok: true;
      readonly value: unknown;
      readonly start: Position;
      readonly locate: (path: string) => Position;
    }
  /** A document that cannot be read: `invalid YAML: line 3, column 1: ...` or a limit. */
  | { readonly doc: number; readonly ok: false; readonly message: string; readonly start: Position };

/**
 * `spec.triggers[0].metadata["a.b"]` -> ['spec', 'triggers', 0, 'metadata', 'a.b']: the inverse of
 * src/api/parse.ts's fieldPath. One pass over the text.
 */
export const pathSegments = (path: string): (string | number)[] => {
  const out: (string | number)[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') i++;
    else if (c === '[' && path[i + 1] === '"') {
      // A JSON string: read to its closing quote (escapes skipped), then parse it.
      let j = i + 2;
      while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
      try {
        out.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
      } catch {
        return out;
      }
      i = j + 2;
    } else if (c === '[') {
      const end = path.indexOf(']', i);
      if (end < 0) return out;
      out.push(Number(path.slice(i + 1, end)));
      i = end + 1;
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      out.push(path.slice(i, j));
      i = j;
    }
  }
  return out;
};

/**
 * The offset where `segments` is written: a mapping entry's key, a sequence item; for a path
 * that is not there (a required field), the deepest part that is.
 */
const offsetOf = (document: Document.Parsed, segments: readonly (string | number)[]): number => {
  let node: unknown = document.contents;
  let offset = (document.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const key: unknown = p.key;
        const name = key !== null && typeof key === 'object' && 'value' in key ? key.value : key;
        return String(name) === String(segment);
      });
      if (pair === undefined) return offset;
      offset = (pair.key as YamlNode | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      const range = (item as YamlNode | null)?.range;
      if (range === undefined || range === null) return offset;
      offset = range[0];
      node = item;
    } else return offset;
  }
  return offset;
};

/** The first mapping key that is a mapping or a sequence (`{a: 1}: x`), which JSON cannot hold. */
const collectionKeyAt = (document: Document.Parsed): number | undefined => {
  let found: number | undefined;
  visit(document, {
    Pair: (_key, pair) => {
      if (!isPair(pair) || !isCollection(pair.key)) return undefined;
      found = pair.key.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return found;
};

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
  const position = (offset: number): Position => lines.linePos(Math.max(0, offset));
  // logLevel 'error': the library would print its warnings on stderr (process.emitWarning);
  // what they warn of is reported here as a problem instead.
  const composer = new Composer({ logLevel: 'error' });
  /** Where each document found so far starts, by number. */
  const starts = new Map<number, number>();
  /** Documents refused before composing (too deep), by number: the composer still yields them. */
  const refused = new Map<number, { message: string; offset: number }>();
  let found = 0;
  let composed = 0;

  const convert = (document: Document.Parsed): YamlDocument | undefined => {
    const doc = ++composed;
    const documentStart = starts.get(doc) ?? document.range[0];
    starts.delete(doc);
    const broken = (message: string, at = documentStart): YamlDocument => ({
      doc,
      ok: false,
      message,
      start: position(at),
    });
    const refusal = refused.get(doc);
    if (refusal !== undefined) return broken(refusal.message, refusal.offset);
    const error = document.errors[0];
    if (error !== undefined) {
      const first = error.message.split('\n')[0] ?? error.code;
      return broken(`invalid YAML: ${where(error.pos[0])}${first}`, error.pos[0]);
    }
    const collectionKey = collectionKeyAt(document);
    if (collectionKey !== undefined) {
      // JSON (and so the API server) has string keys only; sigs.k8s.io/yaml refuses this too.
      return broken(
        `invalid YAML: ${where(collectionKey)}a mapping key must be a scalar, not a mapping or a list`,
        collectionKey,
      );
    }
    try {
      const value: unknown = document.toJS({ maxAliasCount: limits.aliasCount });
      if (value === null || value === undefined) return undefined;
      const contentStart = (document.contents as YamlNode | null)?.range?.[0] ?? documentStart;
      return {
        doc,
        ok: true,
        value,
        start: position(contentStart),
        locate: (path) => position(offsetOf(document, pathSegments(path))),
      };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return broken(
        ALIAS_ERROR.test(message)
          ? `invalid YAML: its aliases (*name) expand beyond ${limits.aliasCount} nodes, the most ebb reads; write the values out`
          : `invalid YAML: ${message}`,
      );
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
          start: position(token.offset),
        };
        return;
      }
      starts.set(found, token.offset);
      const deep = tooDeepAt(token.value, limits.depth);
      if (deep !== undefined) {
        refused.set(found, {
          message: `invalid YAML: ${where(deep)}nested deeper than ${limits.depth} levels, the most ebb reads`,
          offset: deep,
        });
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
