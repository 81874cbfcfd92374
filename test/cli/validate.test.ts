// `ebb validate` over the project's ScaledObject fixtures (test/fixtures/scaledobjects/), then
// the command itself end to end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UnknownField, UnsupportedTriggerType } from '../../src/api/reasons.ts';
import { type CliIO, processIO } from '../../src/cli/io.ts';
import { runValidate, validateText } from '../../src/cli/validate.ts';
import {
  type Fixture,
  fixtureFilesOnDisk,
  fixtures,
  fixtureText,
  invalidFixtures,
  validFixtures,
} from '../fixtures/scaledobjects.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const check = (fixture: Fixture) => {
  const result = validateText(fixture.path, fixtureText(fixture.set, fixture.file));
  expect(result.readError).toBeUndefined();
  const [document, ...more] = result.documents;
  expect(more).toEqual([]);
  if (document === undefined || !('problems' in document))
    throw new Error(`${fixture.file}: no ScaledObject`);
  return document.problems;
};

describe('the ScaledObject fixtures', () => {
  it('index.tsv lists every file, once', () => {
    const listed = fixtures.map((f) => `${f.set}/${f.file}`).sort();
    expect(new Set(listed).size).toBe(listed.length);
    expect(fixtureFilesOnDisk().filter((f) => f.endsWith('.yaml'))).toEqual(listed);
    expect(fixtureFilesOnDisk().filter((f) => !f.endsWith('.yaml'))).toEqual([]);
  });

  it("cover every layer: the structural schema, the CEL rules, strict field validation and ebb's own checks", () => {
    const layers = new Set(invalidFixtures.map((f) => f.refusedBy));
    expect([...layers].sort()).toEqual(['cel', 'ebb', 'schema', 'strict']);
  });

  // What kubectl's strict field validation refuses (the API server would prune it otherwise):
  // ebb validate names the same field, as an unknown field.
  it.each(invalidFixtures.filter((f) => f.refusedBy === 'strict').map((f) => [f.file, f] as const))(
    'names the unknown field of %s as the API server does',
    (_file, fixture) => {
      expect(check(fixture)).toEqual([
        { path: fixture.field, reason: UnknownField, message: `unknown field "${fixture.api?.field}"` },
      ]);
    },
  );

  it.each(validFixtures.map((f) => [f.file, f] as const))('admits %s', (_file, fixture) => {
    expect(check(fixture)).toEqual([]);
  });

  // One fault per file: the problems name exactly its field, with its reason. A cpu or memory
  // trigger (which ebb does not serve) is named as unsupported besides, and nothing else.
  it.each(invalidFixtures.map((f) => [f.file, f] as const))(
    'refuses %s for its one reason',
    (_file, fixture) => {
      const problems = check(fixture);
      // A KEDA v1 field (`deploymentName`) is also an unknown field, as kubectl's strict check says.
      const unknown = problems.filter((p) => p.reason === UnknownField && fixture.reason !== UnknownField);
      expect(unknown.map((p) => p.message)).toEqual(unknown.map((p) => `unknown field "${p.path}"`));
      const unsupported = problems.filter(
        (p) =>
          (p.reason === UnsupportedTriggerType && fixture.reason !== UnsupportedTriggerType) ||
          unknown.includes(p),
      );
      const rest = problems.filter((p) => !unsupported.includes(p));
      expect(unsupported.filter((p) => !unknown.includes(p)).map((p) => p.message)).toEqual(
        unsupported
          .filter((p) => !unknown.includes(p))
          .map(() => expect.stringMatching(/^trigger type "(cpu|memory)" is not supported yet$/)),
      );
      // Once: the same field is not reported twice in other words (scalingModifiers.target was).
      expect(rest.map((p) => `${p.path} ${p.reason}`)).toEqual([`${fixture.field} ${fixture.reason}`]);
    },
  );
});

// ---- the command, end to end ----

const ebb = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: REPO, encoding: 'utf8' });

describe('ebb validate (the command)', () => {
  // Each file alone: the valid fixtures share scale targets, which together is a conflict.
  it('exits 0 and prints no problem for each valid ScaledObject', async () => {
    for (const file of supportedFiles()) {
      let stdout = '';
      const io: CliIO = {
        ...processIO(),
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true },
      };
      expect(await runValidate([file], io), file).toBe(0);
      // An authenticationRef to a TriggerAuthentication not given is a warning, nothing else.
      expect(
        stdout.split('\n').filter((l) => l !== '' && !l.includes(': warning: ')),
        file,
      ).toEqual([]);
    }
    const one = supportedFiles()[0] ?? '';
    const run = ebb('validate', one);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('ebb validate: 1 ScaledObject checked, 0 with problems\n');
    expect(run.status).toBe(0);
    // Each cron window is compared with KEDA's rule over a year (an hourly one takes seconds).
  }, 60_000);

  it('exits 1 with one FILE:LINE:COL: path: message line per problem, never a stack trace', () => {
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
    const minAboveMax = invalidFixtures.find((f) => f.file === 'cel-min-above-max.yaml')?.path ?? '';
    const run = ebb('validate', minAboveMax, multi, missing);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `${minAboveMax}:9:3: spec.minReplicaCount: minReplicaCount (10) must be <= maxReplicaCount (5)`,
      `${multi}:10:3: spec.minReplicaCount: minReplicaCount (3) must be <= maxReplicaCount (2)`,
      `${multi}:13:5: spec.triggers[0].type: trigger type "prometheus" is not supported yet`,
      `${multi}:16:61: spec.triggers[1].metadata.end: must differ from start ("0 8 * * *"): a window that opens and closes at once is never active`,
      expect.stringMatching(new RegExp(`^${escapeRegExp(multi)}:\\d+:\\d+: invalid YAML: .+`)),
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
    expect(run.stderr).toMatch(/missing required argument 'path'/);
    expect(run.status).toBe(1);
  });
});

const supportedFiles = () => validFixtures.map((f) => f.path);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
