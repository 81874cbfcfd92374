#!/usr/bin/env node
// The `ebb` command. An installed package runs the compiled JavaScript (dist/src/main.js, built
// by `npm run build`, which `npm pack` runs first): tsx is a devDependency and is not there. A
// checkout runs the TypeScript sources through tsx instead, even when an older build left dist/
// behind, so what runs is always what is in src/.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/main.js', import.meta.url);
const source = new URL('../src/main.ts', import.meta.url);

/** tsx's loader, when it is installed (a checkout with its devDependencies). */
const tsx = async () => {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
};

const loader = existsSync(source) ? await tsx() : undefined;
if (loader !== undefined) {
  loader.register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    'ebb: nothing to run: there is no compiled dist/src/main.js (build it with `npm run build`)\n' +
      'and no tsx to run the TypeScript sources (install the devDependencies with `npm install`).\n',
  );
  process.exitCode = 1;
}
