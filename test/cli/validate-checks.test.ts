// `ebb validate` as the cluster would answer: directories, FILE:LINE:COL positions, strict
// unknown fields, metadata typos (warnings, --strict), TriggerAuthentications, cross-document
// checks, --output json. Each test writes its manifests to a fresh directory and runs the command
// in process with captured output; the Node-warning test spawns it to see its real stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.ts';
import { capturedIO } from './captured-io.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const NOW = Date.parse('2026-06-01T00:00:00Z'); // a Monday

const run = async (args: string[], options: { strict?: boolean; output?: 'text' | 'json' } = {}) => {
  const { io, stdout, stderr } = capturedIO();
  const code = await runValidate(args, { ...io, now: () => new Date(NOW) }, undefined, options);
  return {
    code,
    lines: stdout()
      .split('\n')
      .filter((l) => l !== ''),
    stdout: stdout(),
    stderr: stderr(),
  };
};

const dir = () => mkdtempSync(join(tmpdir(), 'ebb-validate-checks-'));

const so = (name: string, extra = '', target = 'worker', metadata = 'lagThreshold: "5"') =>
  [
    'apiVersion: autoscaling.ebb.dev/v1alpha1',
    'kind: ScaledObject',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  scaleTargetRef: {name: ${target}}`,
    ...(extra === '' ? [] : [extra]),
    '  triggers:',
    '    - type: kafka',
    '      metadata:',
    '        bootstrapServers: kafka:9092',
    '        consumerGroup: orders',
    `        ${metadata}`,
    '',
  ].join('\n');

describe('ebb validate: inputs', () => {
  it('walks a directory recursively, YAML files only, sorted; refuses a symlink loop and a FIFO by name', async () => {
    const d = dir();
    mkdirSync(join(d, 'b'));
    mkdirSync(join(d, 'a'));
    writeFileSync(join(d, 'b', 'one.yml'), so('one', '', 'w1'));
    writeFileSync(join(d, 'a', 'two.yaml'), so('two', '  pollingIntervall: 5', 'w2'));
    writeFileSync(join(d, 'a', 'notes.txt'), 'kind: ScaledObject\nspec: [not read\n');
    symlinkSync(d, join(d, 'b', 'loop'));
    const fifo = join(d, 'a', 'pipe.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await run([d]);
    expect(r.lines).toEqual([
      `${join(d, 'a', 'pipe.yaml')}: cannot read: a FIFO, not a regular file; give a file, or pipe the text to standard input ("-")`,
      `${join(d, 'a', 'two.yaml')}:7:3: spec.pollingIntervall: unknown field "spec.pollingIntervall"`,
      `${join(d, 'b', 'loop')}: cannot read: a symbolic link loop: it leads back to ${d}, already being read`,
    ]);
    expect(r.stderr).toBe('ebb validate: 2 ScaledObjects checked, 1 with problems; 2 files with errors\n');
    expect(r.code).toBe(1);
  });
});

describe('ebb validate: what the API server would refuse', () => {
  it('names unknown fields as kubectl --validate=strict does, at their line and column', async () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, so('orders', '  pollingIntervall: 5\n  advanced: {restoreToOriginal: true}', 'worker'));
    const r = await run([f]);
    expect(r.lines).toEqual([
      `${f}:7:3: spec.pollingIntervall: unknown field "spec.pollingIntervall"`,
      `${f}:8:14: spec.advanced.restoreToOriginal: unknown field "spec.advanced.restoreToOriginal"`,
    ]);
    expect(r.code).toBe(1);
  });

  it('refuses a metadata.name that is no RFC 1123 subdomain, with the API server sentence', async () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, so('Orders_1'));
    const r = await run([f]);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /:4:3: metadata\.name: Invalid value: "Orders_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '\.'/,
      ),
    ]);
  });

  it('prints an object in an enum field as JSON, not [object Object]', async () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, so('orders', '  fallback: {failureThreshold: 3, replicas: 1, behavior: {a: 1}}'));
    const r = await run([f]);
    expect(r.lines).toEqual([
      `${f}:7:48: spec.fallback.behavior: must be one of "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower", "scalingModifiers", got {"a":1}`,
    ]);
  });

  it('refuses a mapping as a key ({a: 1}: x) at its place, with no Node warning on stderr', () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, `${so('orders')}---\nkind: ScaledObject\n{a: 1}: x\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'validate', f], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(r.stdout).toBe(
      `${f}:15:1: invalid YAML: a mapping key must be a scalar, not a mapping or a list\n`,
    );
    expect(r.stderr).toBe('ebb validate: 1 ScaledObject checked, 0 with problems; 1 file with errors\n');
    expect(r.status).toBe(1);
  });
});

describe('ebb validate: warnings', () => {
  it('warns about an unknown metadata key, naming the closest known one; exit 0, or 1 with --strict', async () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, so('orders', '', 'worker', 'lagTreshold: "5"'));
    const line = `${f}:12:9: warning: spec.triggers[0].metadata.lagTreshold: unknown metadata key "lagTreshold" for a kafka trigger (did you mean "lagThreshold"?); KEDA and ebb ignore it`;
    const lax = await run([f]);
    expect(lax.lines).toEqual([line]);
    expect(lax.stderr).toBe('ebb validate: 1 ScaledObject checked, 0 with problems; 1 warning\n');
    expect(lax.code).toBe(0);
    const strict = await run([f], { strict: true });
    expect(strict.lines).toEqual([line]);
    expect(strict.code).toBe(1);
  });
});

describe('ebb validate: cron windows where ebb and KEDA disagree', () => {
  const cron = (name: string, timezone: string, start: string, end: string) =>
    [
      'apiVersion: autoscaling.ebb.dev/v1alpha1',
      'kind: ScaledObject',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      `  scaleTargetRef: {name: ${name}}`,
      '  triggers:',
      '    - type: cron',
      `      metadata: {timezone: ${timezone}, start: "${start}", end: "${end}", desiredReplicas: "1"}`,
      '',
    ].join('\n');

  it("warns with the first instant of the coming year for the issue's two windows, not for a daily one; exit 0, or 1 with --strict", async () => {
    const f = join(dir(), 'cron.yaml');
    writeFileSync(
      f,
      [
        cron('always', 'Etc/UTC', '* * * * *', '0 0 1 1 *'),
        cron('weekdays', 'Europe/Berlin', '0 8 * * 1-5', '0 17 * * *'),
        cron('daily', 'Europe/Berlin', '0 8 * * *', '0 17 * * *'),
      ].join('---\n'),
    );
    // The position of the `start` key in each flow map.
    const warning = (line: number, col: number, text: string) =>
      `${f}:${line}:${col}: warning: spec.triggers[0].metadata.start: ebb and KEDA disagree on this window: ${text} (ebb compares the last start and end; KEDA is inactive while its next start comes before its next end)`;
    const expected = [
      warning(
        9,
        37,
        'at 2026-06-01 00:00 Etc/UTC (2026-06-01T00:00:00.000Z) it is active in ebb and inactive in KEDA',
      ),
      warning(
        19,
        43,
        'at 2026-06-05 17:00 Europe/Berlin (2026-06-05T15:00:00.000Z) it is inactive in ebb and active in KEDA',
      ),
    ];
    const lax = await run([f]);
    expect(lax.lines).toEqual(expected);
    expect(lax.stderr).toBe('ebb validate: 3 ScaledObjects checked, 0 with problems; 2 warnings\n');
    expect(lax.code).toBe(0);
    const strict = await run([f], { strict: true });
    expect(strict.lines).toEqual(expected);
    expect(strict.code).toBe(1);
    const json = JSON.parse((await run([f], { output: 'json' })).stdout) as {
      problems: { reason: string }[];
    };
    expect(json.problems.map((p) => p.reason)).toEqual(['CronWindowDisagreement', 'CronWindowDisagreement']);
  });
});

describe('ebb validate: TriggerAuthentications and the documents together', () => {
  it('names an unsupported source; warns about an authenticationRef to nothing given; refuses a second ScaledObject on one target', async () => {
    const d = dir();
    const auth = join(d, 'auth.yaml');
    writeFileSync(
      auth,
      [
        'apiVersion: keda.sh/v1alpha1',
        'kind: TriggerAuthentication',
        'metadata: {name: vault}',
        'spec:',
        '  hashiCorpVault: {address: "http://vault:8200"}',
        '---',
        'apiVersion: keda.sh/v1alpha1',
        'kind: ClusterTriggerAuthentication',
        'metadata: {name: kafka}',
        'spec:',
        '  secretTargetRef: [{parameter: password, name: kafka, key: password}]',
        '',
      ].join('\n'),
    );
    const apps = join(d, 'apps.yaml');
    const ref = (kind: string, name: string) => `      authenticationRef: {kind: ${kind}, name: ${name}}`;
    writeFileSync(
      apps,
      [
        so('first').trimEnd(),
        ref('ClusterTriggerAuthentication', 'kafka'),
        '---',
        so('second').trimEnd(),
        ref('TriggerAuthentication', 'missing'),
        '',
      ].join('\n'),
    );
    const r = await run([auth, apps]);
    expect(r.lines).toEqual([
      `${auth}:5:3: spec.hashiCorpVault: hashiCorpVault is not supported by ebb (supported: secretTargetRef, podIdentity.provider "none")`,
      `${apps}:20:3: spec.scaleTargetRef: Deployment default/worker is already scaled by ScaledObject default/first (${apps}:4); the controller refuses this one (ScaleTargetInUse)`,
      `${apps}:27:56: warning: spec.triggers[0].authenticationRef.name: TriggerAuthentication default/missing is not in the files given; it may exist in the cluster already (ebb resolves it there), else the trigger fails with AuthenticationError`,
    ]);
    expect(r.stderr).toBe(
      'ebb validate: 2 ScaledObjects and 2 TriggerAuthentications checked, 2 with problems; 1 warning\n',
    );
    expect(r.code).toBe(1);
  });

  it('--output json: one document with files, documents, problems and a summary', async () => {
    const f = join(dir(), 'so.yaml');
    writeFileSync(f, so('orders', '', 'worker', 'lagTreshold: "5"'));
    const r = await run([f, join(dir(), 'missing.yaml')], { output: 'json' });
    const report = JSON.parse(r.stdout) as unknown;
    expect(report).toEqual({
      files: [
        { file: f },
        { file: expect.stringMatching(/missing\.yaml$/), error: 'no such file or directory' },
      ],
      documents: [{ file: f, doc: 1, line: 1, col: 1, kind: 'ScaledObject', name: 'orders', checked: true }],
      problems: [
        {
          file: f,
          doc: 1,
          line: 12,
          col: 9,
          path: 'spec.triggers[0].metadata.lagTreshold',
          reason: 'UnknownMetadataKey',
          message: expect.stringContaining('did you mean "lagThreshold"?'),
          severity: 'warning',
        },
        {
          file: expect.stringMatching(/missing\.yaml$/),
          doc: 0,
          line: 0,
          col: 0,
          path: '',
          reason: 'UnreadableManifest',
          message: 'cannot read: no such file or directory',
          severity: 'error',
        },
      ],
      summary: {
        scaledObjects: 1,
        triggerAuthentications: 0,
        withProblems: 0,
        skipped: [],
        filesWithErrors: 1,
        errors: 1,
        warnings: 1,
        exitCode: 1,
        strict: false,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
  });
});
