// `ebb migrate FILE|DIR…`: KEDA manifests → ebb's. ScaledObjects, TriggerAuthentications and
// ClusterTriggerAuthentications of `keda.sh/v1alpha1` get ebb's apiVersion and ebb's names for
// KEDA's pause annotations; everything else (other kinds, comments, key order, quoting) is
// written back as it was, through the yaml library's Document API. The converted manifests go to
// stdout (or `--out DIR`); stderr gets the report: every behavioural difference that applies,
// each as `FILE:LINE: field: message` (migrate-report.ts), and what `ebb validate` says of the
// converted objects (validateDocuments over every converted file at once, so an authenticationRef
// may name a TriggerAuthentication in another file): its errors (admission, strict unknown fields,
// names, two objects on one target) and its warnings (metadata-key typos with the closest key, a
// dangling authenticationRef). Exit 1 only when a manifest cannot be converted: unreadable YAML,
// a ScaledJob, or an object ebb would refuse.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { type Document, isMap, isScalar, LineCounter, parseAllDocuments, Scalar } from 'yaml';
import { API_VERSION, KEDA_API_VERSION, KIND } from '../api/scaledobject.ts';
import { CLUSTER_TRIGGER_AUTHENTICATION, TRIGGER_AUTHENTICATION } from '../api/triggerauthentication.ts';
import { MANIFEST_LIMITS } from './documents.ts';
import { type CliIO, describeError } from './io.ts';
import {
  type Finding,
  IGNORED_ANNOTATIONS,
  RENAMED_ANNOTATIONS,
  type Severity,
  scaledObjectFindings,
  triggerAuthFindings,
} from './migrate-report.ts';
import { validateDocuments } from './validate/check.ts';

export interface LocatedFinding {
  readonly file: string;
  /** 1-based line of the field (or of the nearest enclosing key that exists). */
  readonly line: number;
  readonly field: string;
  /** The report's severities, and `warning`: what `ebb validate` warns of (the cluster admits it). */
  readonly severity: Severity | 'warning';
  readonly message: string;
}

export interface MigratedFile {
  readonly file: string;
  /** The converted text; undefined when the file could not be read or parsed. */
  readonly text: string | undefined;
  readonly findings: readonly LocatedFinding[];
  /** Objects converted (ScaledObjects and (Cluster)TriggerAuthentications). */
  readonly converted: number;
}

type Keys = readonly (string | number)[];

/** The line of the deepest node on `keys` that exists (its key's line for a map entry). */
const lineOf = (doc: Document, keys: Keys, lines: LineCounter): number => {
  for (let n = keys.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(keys.slice(0, n - 1), true);
    const key = keys[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
      const range = pair !== undefined && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lines.linePos(range[0]).line;
    } else {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
    }
  }
  const range = doc.contents?.range;
  return range ? lines.linePos(range[0]).line : 1;
};

/** A replacement of source text: the file is written back byte for byte except these. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** An edit replacing a scalar's source with `value`, in the scalar's own quoting. */
const replaceScalar = (node: unknown, value: string): Edit | undefined => {
  if (!isScalar(node) || node.range == null) return undefined;
  const quoted =
    node.type === Scalar.QUOTE_DOUBLE
      ? JSON.stringify(value)
      : node.type === Scalar.QUOTE_SINGLE
        ? `'${value.replace(/'/g, "''")}'`
        : value;
  return { start: node.range[0], end: node.range[1], text: quoted };
};

/** KEDA's pause annotations renamed to ebb's; the others reported. */
const rewriteAnnotations = (doc: Document, out: Finding[], edits: Edit[]): void => {
  const annotations = doc.getIn(['metadata', 'annotations'], true);
  if (!isMap(annotations)) return;
  for (const pair of annotations.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
    const name = pair.key.value;
    const renamed = RENAMED_ANNOTATIONS[name];
    const edit = renamed === undefined ? undefined : replaceScalar(pair.key, renamed);
    if (edit !== undefined) edits.push(edit);
    const ignored = IGNORED_ANNOTATIONS[name];
    if (ignored !== undefined) {
      out.push({
        field: `metadata.annotations[${JSON.stringify(name)}]`,
        keys: ['metadata', 'annotations', name],
        severity: 'ignored',
        message: `not acted on by ebb (left as it is): ${ignored}`,
      });
    }
  }
};

/** A converted object (KEDA's apiVersion): its 1-based place in the file and its findings. */
interface ConvertedDocument {
  readonly doc: number;
  readonly findings: LocatedFinding[];
  /** Fields the report refuses already (cron desiredReplicas "0", an env source): not listed twice. */
  readonly explained: ReadonlySet<string>;
}

/** One file converted, before `ebb validate`'s checks are added. */
interface ConvertedFile {
  readonly file: string;
  readonly text: string | undefined;
  /** Findings of no converted object (invalid YAML, a ScaledJob). */
  readonly other: LocatedFinding[];
  readonly documents: readonly ConvertedDocument[];
}

/** Rewrites one file's text and reports the differences; `now` starts the cron comparison's year. */
const convertText = (file: string, text: string, now: number): ConvertedFile => {
  const lines = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter: lines }) as Document.Parsed[];
  } catch (error) {
    return {
      file,
      text: undefined,
      other: [
        { file, line: 1, field: '', severity: 'error', message: `cannot parse: ${describeError(error)}` },
      ],
      documents: [],
    };
  }
  const other: LocatedFinding[] = [];
  const documents: ConvertedDocument[] = [];
  const edits: Edit[] = [];
  for (const [index, doc] of docs.entries()) {
    const findings: Finding[] = [];
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      other.push({
        file,
        line: e?.linePos?.[0].line ?? 1,
        field: '',
        severity: 'error',
        message: `invalid YAML: ${e?.message.split('\n')[0]}`,
      });
      continue;
    }
    const apiVersion = doc.get('apiVersion');
    const kind = doc.get('kind');
    if (apiVersion !== KEDA_API_VERSION) continue; // not KEDA's: left as it is
    const version = replaceScalar(doc.get('apiVersion', true), API_VERSION);
    if (kind === KIND) {
      if (version !== undefined) edits.push(version);
      rewriteAnnotations(doc, findings, edits);
      const value = doc.toJS({ maxAliasCount: MANIFEST_LIMITS.aliasCount }) as Record<string, unknown>;
      findings.push(...scaledObjectFindings(value, now));
    } else if (kind === TRIGGER_AUTHENTICATION || kind === CLUSTER_TRIGGER_AUTHENTICATION) {
      if (version !== undefined) edits.push(version);
      const value = doc.toJS() as Record<string, unknown>;
      findings.push(...triggerAuthFindings(value, kind === CLUSTER_TRIGGER_AUTHENTICATION));
    } else {
      other.push({
        file,
        line: lineOf(doc, ['kind'], lines),
        field: 'kind',
        severity: 'error',
        message: `${String(kind)} has no ebb equivalent (ebb scales ScaledObjects only); it is left as it is`,
      });
      continue;
    }
    documents.push({
      // yamlDocuments numbers documents as the composer yields them, empty ones included.
      doc: index + 1,
      findings: findings.map((f) => ({
        file,
        line: lineOf(doc, f.keys, lines),
        field: f.field,
        severity: f.severity,
        message: f.message,
      })),
      explained: new Set(findings.filter((f) => f.severity === 'error').map((f) => f.field)),
    });
  }
  // Applied from the end, so earlier offsets stay valid. Edits replace scalars on their own
  // line, so every line keeps its number.
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { file, text: out, other, documents };
};

/**
 * Converts the files and adds what `ebb validate` says of each converted object, checking the
 * converted texts together (cross-document checks span the files). Validate's cron warning is
 * left out: the report words that difference itself. Findings are in line order per file.
 */
export const migrateTexts = (
  sources: readonly { readonly file: string; readonly text: string }[],
  now: number,
): MigratedFile[] => {
  const converted = sources.map((s) => convertText(s.file, s.text, now));
  const checked = converted.flatMap((c) => (c.text === undefined ? [] : [{ file: c.file, text: c.text }]));
  const validation = validateDocuments(checked, MANIFEST_LIMITS).problems;
  return converted.map((c) => {
    const documents = c.documents.map((d) => {
      const validated: LocatedFinding[] = validation
        .filter((p) => p.file === c.file && p.doc === d.doc && !d.explained.has(p.path))
        .map((p) => ({
          file: c.file,
          line: p.line,
          field: p.path,
          severity: p.severity,
          message: p.severity === 'error' ? `ebb refuses this: ${p.message}` : p.message,
        }));
      return [...d.findings, ...validated];
    });
    const findings = [...c.other, ...documents.flat()].sort((a, b) => a.line - b.line);
    return {
      file: c.file,
      text: c.text,
      findings,
      converted: documents.filter((fs) => !fs.some((f) => f.severity === 'error')).length,
    };
  });
};

/** Converts one file's text; `now` is where the cron comparison's year starts. */
export const migrateText = (file: string, text: string, now: number): MigratedFile => {
  const [result] = migrateTexts([{ file, text }], now);
  if (result === undefined) throw new Error('migrateTexts returns one result per source');
  return result;
};

const YAML_FILE = /\.ya?ml$/i;

/** Files to read: each argument, a directory's YAML files recursively (sorted), `-` as it is. */
const expand = async (paths: readonly string[]): Promise<{ file: string; root: string }[]> => {
  const out: { file: string; root: string }[] = [];
  for (const path of paths) {
    const isDir = path !== '-' && (await stat(path).catch(() => undefined))?.isDirectory() === true;
    if (!isDir) {
      out.push({ file: path, root: dirname(path) });
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile() && YAML_FILE.test(e.name))
      .map((e) => join(e.parentPath, e.name))
      .sort();
    for (const file of files) out.push({ file, root: path });
  }
  return out;
};

export interface MigrateOptions {
  readonly out?: string | undefined;
  readonly output: 'text' | 'json';
}

/** Runs `ebb migrate`; returns the exit code. */
export const runMigrate = async (
  paths: readonly string[],
  options: MigrateOptions,
  io: CliIO,
): Promise<number> => {
  const now = io.now().getTime();
  const inputs = await expand(paths);
  const texts = new Map<string, string>();
  const unreadable = new Map<string, MigratedFile>();
  for (const { file } of inputs) {
    try {
      texts.set(file, await io.readText(file, MANIFEST_LIMITS.fileBytes));
    } catch (error) {
      unreadable.set(file, {
        file,
        text: undefined,
        converted: 0,
        findings: [
          { file, line: 0, field: '', severity: 'error', message: `cannot read: ${describeError(error)}` },
        ],
      });
    }
  }
  const migrated = new Map(
    migrateTexts(
      [...texts].map(([file, text]) => ({ file, text })),
      now,
    ).map((r) => [r.file, r] as const),
  );
  const results: MigratedFile[] = [];
  for (const { file, root } of inputs) {
    const result = unreadable.get(file) ?? migrated.get(file);
    // A file given twice (a directory and a file in it) is converted and reported once.
    if (result === undefined || results.includes(result)) continue;
    results.push(result);
    if (result.text === undefined) continue;
    if (options.out === undefined) {
      if (options.output === 'text') {
        const separated = results.length === 1 ? result.text : `---\n${result.text}`;
        io.stdout.write(separated.endsWith('\n') ? separated : `${separated}\n`);
      }
    } else {
      const target = join(options.out, file === '-' ? 'stdin.yaml' : relative(root, file) || basename(file));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, result.text);
    }
  }
  const findings = results.flatMap((r) => r.findings);
  const failed = findings.some((f) => f.severity === 'error');
  if (options.output === 'json') {
    io.stdout.write(
      `${JSON.stringify({ files: results.map((r) => ({ file: r.file, converted: r.converted, ...(options.out === undefined ? { text: r.text } : {}) })), findings }, null, 2)}\n`,
    );
  } else {
    for (const f of findings)
      io.stderr.write(
        `${f.file}:${f.line}: ${f.severity}: ${f.field === '' ? '' : `${f.field}: `}${f.message}\n`,
      );
    const objects = results.reduce((n, r) => n + r.converted, 0);
    const errors = findings.filter((f) => f.severity === 'error').length;
    io.stderr.write(
      `ebb migrate: ${objects} object(s) converted, ${findings.length - errors} difference(s) to read, ${errors} error(s)\n`,
    );
  }
  return failed ? 1 : 0;
};
