// `ebb validate` over the whole KEDA conformance corpus (shared/ beside the repository), then
// the command itself end to end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSupportedTriggerType } from '../../scalers/index.ts';
import { validateText } from '../../src/cli/validate.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CORPUS = fileURLToPath(new URL('../../../shared/conformance/keda-scaledobjects/', import.meta.url));

interface CorpusRow {
  readonly set: 'valid' | 'invalid';
  readonly file: string;
  readonly triggerTypes: readonly string[];
  readonly layer: string;
  readonly why: string;
}

const corpus: CorpusRow[] = readFileSync(join(CORPUS, 'index.tsv'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const [set, file, types, layer, , , why] = line.split('\t');
    return {
      set: set === 'valid' ? 'valid' : 'invalid',
      file: file ?? '',
      triggerTypes: types === undefined || types === '<none>' ? [] : types.split(','),
      layer: layer ?? '',
      why: why ?? '',
    };
  });

const check = (row: CorpusRow) => {
  const path = join(CORPUS, row.set, row.file);
  const result = validateText(path, readFileSync(path, 'utf8'));
  expect(result.readError).toBeUndefined();
  const [document, ...more] = result.documents;
  expect(more).toEqual([]);
  if (document === undefined || !('problems' in document)) throw new Error(`${row.file}: no ScaledObject`);
  return document.problems;
};

/** Layers KEDA enforces before any scaler is built: ebb must refuse these whatever the trigger. */
const ADMISSION_LAYERS = new Set(['crd-schema', 'crd-cel', 'webhook']);

/**
 * For each invalid file rejected at admission, the path(s) its `# why:` names. ebb must report a
 * problem at each (with a reason other than UnsupportedTriggerType).
 */
const EXPECTED_PATHS: Readonly<Record<string, readonly string[]>> = {
  'i01-min-greater-than-max.yaml': ['spec.minReplicaCount'],
  'i02-missing-scaletargetref-name-v1-sample.yaml': ['spec.scaleTargetRef.name'],
  'i03-trigger-without-type.yaml': ['spec.triggers[0].type'],
  'i04-trigger-without-metadata.yaml': ['spec.triggers[0].metadata'],
  'i05-empty-triggers.yaml': ['spec.triggers'],
  'i06-negative-polling-interval.yaml': ['spec.pollingInterval'],
  'i07-fallback-negative-values.yaml': ['spec.fallback.failureThreshold', 'spec.fallback.replicas'],
  'i08-fallback-behavior-not-in-enum.yaml': ['spec.fallback.behavior'],
  'i09-scalingmodifiers-metrictype-utilization.yaml': ['spec.advanced.scalingModifiers.metricType'],
  'i10-docs-scalingmodifiers-target-is-number.yaml': ['spec.advanced.scalingModifiers.target'],
  'i11-idle-equals-min.yaml': ['spec.idleReplicaCount'],
  'i12-idle0-with-min-omitted.yaml': ['spec.idleReplicaCount'],
  'i13-fallback-cpu-only.yaml': ['spec.fallback'],
  'i14-duplicate-trigger-names.yaml': ['spec.triggers[1].name'],
  'i15-usecachedmetrics-on-cron.yaml': ['spec.triggers[0].useCachedMetrics'],
  'i16-scalingmodifiers-without-formula.yaml': ['spec.advanced.scalingModifiers.formula'],
  'i17-scalingmodifiers-formula-without-target.yaml': ['spec.advanced.scalingModifiers.target'],
  'i18-fallback-scalingmodifiers-without-formula.yaml': ['spec.fallback.behavior'],
  'i19-docs-cpu-only-min-omitted.yaml': ['spec.minReplicaCount'],
};

/**
 * Invalid files KEDA refuses only when it builds the scaler: ebb must refuse them too, at the
 * trigger (today mostly as an unsupported type; with the kafka/rabbitmq scalers, as metadata).
 */
const SCALER_BUILD_PATHS: Readonly<Record<string, string>> = {
  'i21-kafka-lagthreshold-zero.yaml': 'spec.triggers[0]',
  'i22-kafka-allowidle-and-limittopartitionswithlag.yaml': 'spec.triggers[0]',
  'i23-rabbitmq-missing-host.yaml': 'spec.triggers[0]',
  'i24-realworld-cpu-memory-deprecated-type-value.yaml': 'spec.triggers[0]',
  'i25-kafka-metrictype-utilization.yaml': 'spec.triggers[0].metricType',
};

describe('the conformance corpus', () => {
  it('is there, and index.tsv lists every file', () => {
    const listed = corpus.map((r) => `${r.set}/${r.file}`).sort();
    const present = ['valid', 'invalid'].flatMap((set) =>
      readdirSync(join(CORPUS, set)).map((f) => `${set}/${f}`),
    );
    expect(listed.length).toBeGreaterThan(40);
    expect(present.sort()).toEqual(listed);
  });

  it('has an expected path for every invalid file', () => {
    const invalid = corpus.filter((r) => r.set === 'invalid');
    for (const row of invalid) {
      const table = ADMISSION_LAYERS.has(row.layer) ? EXPECTED_PATHS : SCALER_BUILD_PATHS;
      expect(table[row.file], `${row.file} (${row.layer}) is missing from the expectations`).toBeDefined();
    }
    expect(Object.keys(EXPECTED_PATHS).length + Object.keys(SCALER_BUILD_PATHS).length).toBe(invalid.length);
  });

  const valid = corpus.filter((r) => r.set === 'valid');
  const supported = valid.filter((r) => r.triggerTypes.every(isSupportedTriggerType));
  const unsupported = valid.filter((r) => !r.triggerTypes.every(isSupportedTriggerType));

  it.each(supported.map((r) => [r.file, r] as const))('admits %s', (_file, row) => {
    expect(check(row)).toEqual([]);
  });

  it.each(unsupported.map((r) => [r.file, r] as const))(
    'names only the unsupported trigger types of %s',
    (_file, row) => {
      const problems = check(row);
      const expected = row.triggerTypes.flatMap((type, i) =>
        isSupportedTriggerType(type)
          ? []
          : [
              {
                path: `spec.triggers[${i}].type`,
                reason: 'UnsupportedTriggerType',
                message: `trigger type "${type}" is not supported yet`,
              },
            ],
      );
      expect(problems).toEqual(expected);
    },
  );

  const admissionInvalid = corpus.filter((r) => r.set === 'invalid' && ADMISSION_LAYERS.has(r.layer));
  it.each(admissionInvalid.map((r) => [r.file, r] as const))(
    'rejects %s at the field its # why names',
    (_f, row) => {
      const problems = check(row).filter((p) => p.reason !== 'UnsupportedTriggerType');
      for (const path of EXPECTED_PATHS[row.file] ?? ['(no expectation)']) {
        expect(
          problems.map((p) => p.path),
          `${row.file}: ${row.why}`,
        ).toContain(path);
      }
    },
  );

  const buildInvalid = corpus.filter((r) => r.set === 'invalid' && !ADMISSION_LAYERS.has(r.layer));
  it.each(buildInvalid.map((r) => [r.file, r] as const))('rejects %s at its trigger', (_f, row) => {
    const prefix = SCALER_BUILD_PATHS[row.file] ?? '(no expectation)';
    expect(
      check(row).some((p) => p.path.startsWith(prefix)),
      `${row.file}: ${row.why}`,
    ).toBe(true);
  });
});

// ---- the command, end to end ----

const ebb = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: REPO, encoding: 'utf8' });

describe('ebb validate (the command)', () => {
  it('exits 0 and prints no problem when every ScaledObject is valid', () => {
    const files = supportedFiles();
    const run = ebb('validate', ...files);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`ebb validate: ${files.length} ScaledObjects checked, 0 with problems\n`);
    expect(run.status).toBe(0);
  });

  it('exits 1 with one FILE:DOC: path: message line per problem, never a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebb-validate-'));
    const multi = join(dir, 'app.yaml');
    writeFileSync(
      multi,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        '---',
        'apiVersion: keda.sh/v1alpha1',
        'kind: ScaledObject',
        'metadata: {name: web}',
        'spec:',
        '  scaleTargetRef: {name: web}',
        '  minReplicaCount: 3',
        '  maxReplicaCount: 2',
        '  triggers:',
        '  - type: prometheus',
        '    metadata: {lagThreshold: "0"}',
        '  - type: cron',
        '    metadata: {timezone: Europe/Berlin, start: "0 8 * * *", end: "0 8 * * *", desiredReplicas: "2"}',
        '---',
        'kind: ScaledObject',
        'spec: [unclosed',
        '',
      ].join('\n'),
    );
    const missing = join(dir, 'missing.yaml');
    const i01 = join(CORPUS, 'invalid', 'i01-min-greater-than-max.yaml');
    const run = ebb('validate', i01, multi, missing);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `${i01}:1: spec.minReplicaCount: minReplicaCount (10) must be <= maxReplicaCount (5)`,
      `${multi}:2: spec.minReplicaCount: minReplicaCount (3) must be <= maxReplicaCount (2)`,
      `${multi}:2: spec.triggers[0].type: trigger type "prometheus" is not supported yet`,
      `${multi}:2: spec.triggers[1].metadata.end: must differ from start ("0 8 * * *"): a window that opens and closes at once is never active`,
      expect.stringMatching(
        new RegExp(`^${escapeRegExp(multi)}:3: invalid YAML: line \\d+, column \\d+: .+`),
      ),
      `${missing}: cannot read: no such file or directory`,
    ]);
    expect(run.stderr).toBe(
      'ebb validate: 2 ScaledObjects checked, 2 with problems; 2 files with errors; skipped 1 document of other kinds (Deployment)\n',
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.status).toBe(1);
  });

  it('is a usage error without files', () => {
    const run = ebb('validate');
    expect(run.stderr).toMatch(/missing required argument 'file'/);
    expect(run.status).toBe(1);
  });
});

const supportedFiles = () =>
  corpus
    .filter((r) => r.set === 'valid' && r.triggerTypes.every(isSupportedTriggerType))
    .map((r) => join(CORPUS, r.set, r.file));

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
