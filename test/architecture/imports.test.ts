// The layer table of docs/architecture.md, checked against the import statements of src/ and
// scalers/: every relative import (static, `export … from` and dynamic `import('…')`) between two
// layers must be an edge the table allows. A failure names the file, the import and the rule.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The layer a repository path belongs to (the rows of the table). */
const layerOf = (path: string): string => {
  const parts = path.split('/');
  if (path === 'package.json') return path; // read for the version (src/observability/build-info.ts)
  if (parts[0] === 'scalers') {
    if (parts.length === 2) return 'scalers/index.ts';
    return parts[1] === 'kit' ? 'scalers/kit' : 'scalers/<type>';
  }
  if (parts.length === 2) return path; // src/scaler.ts, src/logging.ts, src/main.ts, ...
  if (parts[1] === 'platform') return parts.length > 3 ? `src/platform/${parts[2]}` : path;
  return `src/${parts[1]}`;
};

/** Layer → the other layers it may import (its own is always allowed). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'src/api': [],
  'src/clock.ts': [],
  'src/request-target.ts': [],
  'src/logging.ts': [],
  'src/scaler.ts': ['src/api'],
  'src/scaling': ['src/api'],
  'src/routing': ['src/api', 'src/scaler.ts', 'scalers/kit'],
  'src/lifecycle': ['src/logging.ts'],
  'scalers/kit': ['src/api', 'src/scaler.ts'],
  'scalers/<type>': ['src/api', 'src/scaler.ts', 'src/routing', 'scalers/kit'],
  'scalers/index.ts': ['src/api', 'src/scaler.ts', 'src/routing', 'scalers/<type>'],
  'src/platform/ports.ts': ['src/api'],
  'src/platform/auth.ts': ['src/api'],
  'src/controller': [
    'src/api',
    'src/scaler.ts',
    'src/scaling',
    'src/routing',
    'scalers/index.ts',
    'src/platform/ports.ts',
    'src/platform/auth.ts',
    'src/logging.ts',
  ],
  'src/activator': ['src/api', 'src/routing', 'src/logging.ts'],
  'src/metrics': ['src/api', 'src/controller', 'src/logging.ts', 'src/request-target.ts'],
  'src/observability': [
    'package.json',
    'src/api',
    'src/controller',
    'src/activator',
    'src/logging.ts',
    'src/request-target.ts',
  ],
  'src/platform/kubernetes': [
    'src/api',
    'src/platform/ports.ts',
    'src/platform/auth.ts',
    'src/activator',
    'src/logging.ts',
  ],
  'src/platform/local': ['src/api', 'src/platform/ports.ts', 'src/activator', 'src/controller'],
};

/** Layers that may import anything (wiring). */
const EVERYTHING = new Set(['src/cli', 'src/main.ts']);

/** Layers every layer may import: the clock port (time is passed in, and this is its shape). */
const EVERYONES = new Set(['src/clock.ts']);

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );

/** Every import that crosses the table's edges: `file imports target (layer A may not import B)`. */
const forbiddenImports = (files: readonly { path: string; text: string }[]): string[] => {
  const out: string[] = [];
  for (const { path, text } of files) {
    const from = layerOf(path);
    if (EVERYTHING.has(from)) continue;
    for (const m of text.matchAll(IMPORT)) {
      const target = relative(ROOT, normalize(join(ROOT, dirname(path), m[1] ?? '')));
      const to = layerOf(target);
      if (to === from || EVERYONES.has(to) || ALLOWED[from]?.includes(to) === true) continue;
      out.push(`${path} imports ${target} (${from} may not import ${to})`);
    }
  }
  return out;
};

describe('the layer table (docs/architecture.md)', () => {
  const files = [...sources('src'), ...sources('scalers')].map((path) => ({
    path,
    text: readFileSync(join(ROOT, path), 'utf8'),
  }));

  it('reads the whole tree (every layer of the table has files)', () => {
    expect(files.length).toBeGreaterThan(100);
    const seen = new Set(files.map((f) => layerOf(f.path)));
    for (const layer of Object.keys(ALLOWED)) expect(seen, layer).toContain(layer);
  });

  it('no file imports across a forbidden edge', () => {
    expect(forbiddenImports(files)).toEqual([]);
  });

  it('names the file and the edge when one does', () => {
    expect(
      forbiddenImports([
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
});
