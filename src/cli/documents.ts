// Multi-document YAML -> the ScaledObjects in it, with 1-based document numbers for messages.

import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

export type YamlDocument =
  /** A document that parsed: its JS value. */
  | { readonly doc: number; readonly ok: true; readonly value: unknown }
  /** A document with YAML syntax errors. */
  | { readonly doc: number; readonly ok: false; readonly message: string };

/** Every non-empty document of `text`, numbered by position in the file (from 1). */
export const yamlDocuments = (text: string): YamlDocument[] => {
  const parsed = parseAllDocuments(text);
  const docs = Array.isArray(parsed) ? parsed : [];
  const out: YamlDocument[] = [];
  docs.forEach((document, i) => {
    const doc = i + 1;
    const error = document.errors[0];
    if (error !== undefined) {
      const pos = error.linePos?.[0];
      const where = pos === undefined ? '' : `line ${pos.line}, column ${pos.col}: `;
      const first = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
      out.push({ doc, ok: false, message: `${where}${first}` });
      return;
    }
    try {
      const value: unknown = document.toJS();
      if (value !== null && value !== undefined) out.push({ doc, ok: true, value });
    } catch (e) {
      out.push({ doc, ok: false, message: e instanceof Error ? e.message : String(e) });
    }
  });
  return out;
};

/** The `kind` of a parsed document, when it has one. */
export const kindOf = (value: unknown): string | undefined => {
  const parsed = KindSchema.safeParse(value);
  return parsed.success ? parsed.data.kind : undefined;
};

const KindSchema = z.object({ kind: z.string() });
