// The layer table of docs/architecture.md, checked against the import statements of src/ and
// scalers/: every relative import (static, `export … from` and dynamic `import('…')`) between two
// layers must be an edge the table allows. The table is read from the document itself (one
// source): a row's first cell names its layer(s), its last cell the layers it may import, in
// backticks (other words there, like "the client" or a type name, are prose). A failure names
// the file, the import and the rule.
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readTree, type SourceText } from './tree.ts';

/** The layer a repository path belongs to (the rows of the table). */
const layerOf = (path: string): string => {
  const parts = path.split('/');
  if (parts[0] !== 'src' && parts[0] !== 'scalers') return path; // a repository file: package.json
  if (parts[0] === 'scalers') {
    if (parts.length === 2) return 'scalers/index.ts';
    return parts[1] === 'kit' ? 'scalers/kit' : 'scalers/<type>';
  }
  if (parts.length === 2) return path; // src/scaler.ts, src/logging.ts, src/main.ts, ...
  if (parts[1] === 'platform') return parts.length > 3 ? `src/platform/${parts[2]}` : path;
  return `src/${parts[1]}`;
};

interface LayerTable {
  /** Layer → the other layers it may import (its own is always allowed). */
  readonly allowed: ReadonlyMap<string, readonly string[]>;
  /** Layers whose last cell says "everything" (wiring). */
  readonly everything: ReadonlySet<string>;
  /** Layers every layer may import (their last cell says "every layer may import it"). */
  readonly everyones: ReadonlySet<string>;
}

const BACKTICKED = /`([^`]+)`/g;
const ticked = (text: string): string[] => [...text.matchAll(BACKTICKED)].map((m) => m[1] ?? '');
/** `src/api/` → `src/api`; a row of test/, crds/ or deploy/ is no layer of src/ or scalers/. */
const layerName = (path: string): string => path.replace(/\/$/, '');
const isSourceLayer = (name: string): boolean => name.startsWith('src/') || name.startsWith('scalers/');

/** The table under "## Layout and import rules" in `doc` (markdown). */
const parseLayerTable = (doc: string): LayerTable => {
  const section = doc.slice(doc.indexOf('## Layout and import rules'));
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.slice(2, -2).split(' | ');
      return { layers: ticked(cells[0] ?? '').map(layerName), imports: cells.at(-1) ?? '' };
    })
    .filter((row) => row.layers.some(isSourceLayer));
  const names = new Set(rows.flatMap((row) => row.layers));
  const allowed = new Map<string, readonly string[]>();
  const everything = new Set<string>();
  const everyones = new Set<string>();
  for (const row of rows) {
    // A backticked path in the last cell must be a layer of the table: a misspelt one would
    // otherwise allow nothing, silently.
    // A file outside src/ and scalers/ (`package.json`) is named as itself.
    const paths = ticked(row.imports).filter(
      (t) => t.includes('/') || t.endsWith('.ts') || t.endsWith('.json'),
    );
    for (const path of paths) {
      if (!names.has(path) && isSourceLayer(path))
        throw new Error(
          `docs/architecture.md: ${row.layers.join(', ')} may import ${path}, which is no row of the table`,
        );
    }
    for (const layer of row.layers) {
      allowed.set(layer, paths);
      if (row.imports.trim() === 'everything') everything.add(layer);
      if (row.imports.includes('every layer may import it')) everyones.add(layer);
    }
  }
  return { allowed, everything, everyones };
};

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

/** Every import that crosses the table's edges: `file imports target (layer A may not import B)`. */
const forbiddenImports = (table: LayerTable, files: readonly SourceText[]): string[] => {
  const out: string[] = [];
  for (const { path, text } of files) {
    const from = layerOf(path);
    if (table.everything.has(from)) continue;
    for (const m of text.matchAll(IMPORT)) {
      const target = relative(ROOT, normalize(join(ROOT, dirname(path), m[1] ?? '')));
      const to = layerOf(target);
      if (to === from || table.everyones.has(to) || table.allowed.get(from)?.includes(to) === true) continue;
      out.push(`${path} imports ${target} (${from} may not import ${to})`);
    }
  }
  return out;
};

describe('the layer table (docs/architecture.md)', () => {
  const table = parseLayerTable(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));
  const files = readTree();

  it('reads the table: the rules it states, and the wiring and the clock as the text says', () => {
    expect(table.allowed.get('src/api')).toEqual([]);
    expect(table.allowed.get('src/controller')).toContain('scalers/index.ts');
    expect(table.allowed.get('src/controller')).not.toContain('scalers/<type>');
    expect(table.allowed.get('src/activator')).toEqual(['src/api', 'src/routing', 'src/logging.ts']);
    expect(table.allowed.get('src/platform/auth.ts')).toEqual(['src/api']);
    expect([...table.everything].sort()).toEqual(['src/cli', 'src/main.ts']);
    expect([...table.everyones]).toEqual(['src/clock.ts']);
  });

  it('reads the whole tree: every layer of the table has files, every file a row', () => {
    expect(files.length).toBeGreaterThan(100);
    const seen = new Set(files.map((f) => layerOf(f.path)));
    for (const layer of table.allowed.keys()) expect(seen, layer).toContain(layer);
    for (const layer of seen) expect([...table.allowed.keys()], layer).toContain(layer);
  });

  it('no file imports across a forbidden edge', () => {
    expect(forbiddenImports(table, files)).toEqual([]);
  });

  it('names the file and the edge when one does', () => {
    expect(
      forbiddenImports(table, [
        { path: 'src/controller/poll.ts', text: "import { x } from '../../scalers/http/metric.ts';" },
        { path: 'src/controller/a.ts', text: "export type { Y } from '../activator/stats.ts';" },
        { path: 'src/routing/b.ts', text: "const z = await import('../controller/c.ts');" },
        { path: 'src/controller/ok.ts', text: "import { resolveTrigger } from '../../scalers/index.ts';" },
        { path: 'scalers/kit/ok.ts', text: "import type { Clock } from '../../src/clock.ts';" },
        { path: 'src/clock.ts', text: "import { x } from './logging.ts';" },
      ]),
    ).toEqual([
      'src/controller/poll.ts imports scalers/http/metric.ts (src/controller may not import scalers/<type>)',
      'src/controller/a.ts imports src/activator/stats.ts (src/controller may not import src/activator)',
      'src/routing/b.ts imports src/controller/c.ts (src/routing may not import src/controller)',
      'src/clock.ts imports src/logging.ts (src/clock.ts may not import src/logging.ts)',
    ]);
  });

  it('refuses a table whose rule names a layer that is no row', () => {
    const doc =
      '## Layout and import rules\n| path | what | may import |\n|---|---|---|\n| `src/api/` | x | `src/apy` |\n';
    expect(() => parseLayerTable(doc)).toThrow('src/api may import src/apy, which is no row of the table');
  });
});
