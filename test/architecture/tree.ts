// The source tree the architecture tests read: every `.ts` file of src/ and scalers/, as
// repository paths (`src/activator/proxy.ts`) with their text.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SourceText {
  readonly path: string;
  readonly text: string;
}

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );

/** Every `.ts` file under src/ and scalers/. */
export const readTree = (): SourceText[] =>
  [...sources('src'), ...sources('scalers')].map((path) => ({
    path,
    text: readFileSync(join(ROOT, path), 'utf8'),
  }));
