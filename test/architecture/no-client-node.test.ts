// ebb's runtime does not load @kubernetes/client-node: importing its KubeConfig alone costs
// ~75 MB RSS (dist/config.js loads every generated API and model), half of the controller's
// baseline (issue 15). src/platform/kubernetes/ carries its own kubeconfig loader, transport,
// watch and list-watch instead; tests, test/env and benches may keep using the library.
import { describe, expect, it } from 'vitest';
import { readTree, type SourceText } from './tree.ts';

const LIBRARY = '@kubernetes/client-node';
// Static and type-only imports, `export … from`, dynamic import() and require(), any subpath.
const IMPORTS = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"]@kubernetes\/client-node(?:\/[^'"]*)?['"]/g;

const importsOfLibrary = (files: readonly SourceText[]): string[] =>
  files.flatMap(({ path, text }) => [...text.matchAll(IMPORTS)].map((m) => `${path}: ${m[0]}`));

describe(`no runtime import of ${LIBRARY}`, () => {
  it('no file under src/ or scalers/ imports it', () => {
    const files = readTree();
    expect(files.length).toBeGreaterThan(100);
    expect(importsOfLibrary(files)).toEqual([]);
  });

  it('finds every form of import (the check can fail)', () => {
    expect(
      importsOfLibrary([
        { path: 'src/a.ts', text: "import { KubeConfig } from '@kubernetes/client-node';" },
        { path: 'src/b.ts', text: "import type { V1Pod } from '@kubernetes/client-node';" },
        { path: 'src/c.ts', text: "export { Watch } from '@kubernetes/client-node/dist/watch.js';" },
        { path: 'src/d.ts', text: 'const k = await import("@kubernetes/client-node");' },
        { path: 'src/e.ts', text: "const k = require('@kubernetes/client-node');" },
        { path: 'src/f.ts', text: '// the library @kubernetes/client-node is not used here' },
      ]),
    ).toHaveLength(5);
  });
});
