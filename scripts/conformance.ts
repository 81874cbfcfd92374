// The external acceptance check: `ebb validate`'s admission over KEDA's conformance corpus
// (real ScaledObjects from KEDA's docs and end-to-end tests, kept outside this repository).
// Not part of `npm test`, which carries its own fixtures (test/fixtures/scaledobjects/);
// `.ci/run` runs this after `npm test` only when the corpus is beside the checkout.
//
//   node --import tsx scripts/conformance.ts [DIR]   (default ../shared/conformance/keda-scaledobjects)
//
// The corpus's index.tsv says, per file, valid or invalid and the layer KEDA refuses it at. The
// verdicts checked, file by file:
//   valid   -> no problem, except each trigger type ebb does not support, named as unsupported;
//   invalid -> refused: refused by KEDA at admission (crd-schema, crd-cel, webhook) means a problem
//              other than an unsupported type; refused when KEDA builds the scaler, any problem.
// Documented departures (docs/architecture.md, "Deliberate choices"), counted apart, not as
// disagreements:
//   *FromEnv -> a valid manifest refused only for `*FromEnv` keys KEDA would read: ebb has no
//               container environment, so it refuses them at admission instead of failing
//               every read (the problem's path ends in FromEnv, its message says so).
// Prints one line per disagreement and a summary; exits 1 on any, 2 when the corpus is unreadable.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSupportedTriggerType } from '../scalers/index.ts';
import { UnsupportedTriggerType, type ValidateProblem } from '../src/api/reasons.ts';
import { validateText } from '../src/cli/validate.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const corpus = resolve(process.argv[2] ?? join(root, '..', 'shared', 'conformance', 'keda-scaledobjects'));
const ADMISSION_LAYERS: ReadonlySet<string> = new Set(['crd-schema', 'crd-cel', 'webhook']);

const indexFile = join(corpus, 'index.tsv');
if (!existsSync(indexFile)) {
  console.error(`conformance: no corpus at ${corpus} (index.tsv missing)`);
  process.exit(2);
}

interface Row {
  readonly set: string;
  readonly file: string;
  readonly types: readonly string[];
  readonly layer: string;
}
const rows: Row[] = readFileSync(indexFile, 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const [set = '', file = '', types = '', layer = ''] = line.split('\t');
    return { set, file, types: types === '<none>' || types === '' ? [] : types.split(','), layer };
  });

const disagreements: string[] = [];
const listed = new Set(rows.map((r) => `${r.set}/${r.file}`));
for (const set of ['valid', 'invalid']) {
  for (const file of readdirSync(join(corpus, set))) {
    if (!listed.has(`${set}/${file}`)) disagreements.push(`${set}/${file}: not listed in index.tsv`);
  }
}

/** The *FromEnv departure: a `*FromEnv` key refused because ebb has no container environment. */
const fromEnvDeparture = (p: ValidateProblem): boolean =>
  p.path.endsWith('FromEnv') && p.message.startsWith('ebb has no container environment to read it from');

/** Valid manifests ebb refuses only by a documented departure, by file. */
const departures: string[] = [];

/** Why ebb's verdict differs from the corpus's, or undefined when they agree. */
const disagreement = (row: Row): string | undefined => {
  const path = join(corpus, row.set, row.file);
  if (!existsSync(path)) return 'listed in index.tsv but missing';
  const result = validateText(path, readFileSync(path, 'utf8'));
  const documents = result.documents.flatMap((d) => ('problems' in d ? [d] : []));
  if (result.documents.length !== 1 || documents.length !== 1) return 'expected one readable ScaledObject';
  const problems = documents[0]?.problems ?? [];
  const unsupported = problems.filter((p) => p.reason === UnsupportedTriggerType);
  const others = problems.filter((p) => p.reason !== UnsupportedTriggerType);
  const shown = others.map((p) => `${p.path}: ${p.message}`).join('; ');
  if (row.set === 'valid') {
    const expected = row.types.filter((t) => !isSupportedTriggerType(t)).length;
    if (others.length > 0 && others.every(fromEnvDeparture)) {
      departures.push(`${row.set}/${row.file}: *FromEnv (${others.map((p) => p.path).join(', ')})`);
    } else if (others.length > 0) return `KEDA admits it, ebb refuses it: ${shown}`;
    if (unsupported.length !== expected)
      return `expected ${expected} unsupported trigger type(s), got ${unsupported.length}`;
    return undefined;
  }
  if (ADMISSION_LAYERS.has(row.layer) ? others.length === 0 : problems.length === 0)
    return `KEDA refuses it (${row.layer}), ebb admits it`;
  return undefined;
};

for (const row of rows) {
  const why = disagreement(row);
  if (why !== undefined) disagreements.push(`${row.set}/${row.file}: ${why}`);
}
for (const line of departures) console.log(`conformance: departure: ${line}`);
for (const line of disagreements) console.log(`conformance: ${line}`);
console.log(
  `conformance: ${rows.length} KEDA manifests from ${corpus}, ${disagreements.length} disagreement(s), ${departures.length} documented departure(s)`,
);
process.exitCode = disagreements.length === 0 ? 0 : 1;
