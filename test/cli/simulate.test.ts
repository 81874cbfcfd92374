// `ebb simulate`: traces through the command (in-process with files in memory, then spawned once
// for the exit code and the error format), and the column matching on its own.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ResolvedTrigger } from '../../scalers/index.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { runCli } from '../../src/cli/program.ts';
import { readingSources } from '../../src/cli/simulate.ts';
import { parseTrace } from '../../src/cli/trace.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** 09:00-10:00 UTC, 5 replicas; everything else KEDA's defaults (poll 30 s, cooldown 300 s). */
const OFFICE_HOUR = `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: cron
    metadata: {timezone: Etc/UTC, start: "0 9 * * *", end: "0 10 * * *", desiredReplicas: "5"}
`;

/** Two cron triggers, one named; poll 15 s, cooldown 60 s. */
const TWO_WINDOWS = `
apiVersion: autoscaling.ebb.dev/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  pollingInterval: 15
  cooldownPeriod: 60
  maxReplicaCount: 10
  triggers:
  - type: cron
    name: batch
    metadata: {timezone: Etc/UTC, start: "0 9 * * *", end: "0 10 * * *", desiredReplicas: "5"}
  - type: cron
    metadata: {timezone: Etc/UTC, start: "0 12 * * *", end: "0 13 * * *", desiredReplicas: "2"}
`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const ebb = async (files: Record<string, string>, ...argv: string[]): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    now: () => new Date('2024-06-03T08:58:00Z'),
    readText: async (file) => {
      const text = files[file];
      if (text === undefined)
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), {
          code: 'ENOENT',
        });
      return text;
    },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
};

/** CSV rows as [t, replicas, active] */
const table = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [t, replicas, active] = line.split(',');
      return [Number(t), Number(replicas), active === 'true'] as const;
    });

const at = (rows: ReturnType<typeof table>, t: number) => rows.find((r) => r[0] === t);

describe('ebb simulate', () => {
  it('a cron window with the default behavior: activate, scale out, cool down, scale to zero', async () => {
    // start 08:58 UTC; the window opens at t = 120 and closes at t = 3720.
    const run = await ebb(
      { 'so.yaml': OFFICE_HOUR, 'trace.csv': 't\n0\n4500\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T08:58:00Z',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('t,replicas,active');
    const rows = table(run.stdout);
    expect(rows).toHaveLength(4500 / 30 + 1); // polls at 0, 30, ..., 4500
    expect([0, 90, 120, 150, 3690, 3720, 3960, 3990, 4020, 4500].map((t) => at(rows, t))).toEqual([
      [0, 0, false],
      [90, 0, false],
      [120, 1, true], // activation: 0 -> max(minReplicaCount, 1)
      [150, 5, true], // ceil(5 / 1), within the scale-up policy (4 pods or 100 % per 15 s)
      [3690, 5, true],
      [3720, 5, false], // window closed: cooldown (300 s) and the scale-down window (300 s) hold 5
      [3960, 5, false],
      [3990, 1, false], // the last 5 left the stabilization window; the HPA floor is 1
      [4020, 0, false], // lastActive (3690) + cooldown < now: to minReplicaCount
      [4500, 0, false],
    ]);
  });

  it('defaults --start to now', async () => {
    const run = await ebb(
      { 'so.yaml': OFFICE_HOUR, 'trace.csv': 't\n0\n150\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
    );
    expect(table(run.stdout).map((r) => r[1])).toEqual([0, 0, 0, 0, 1, 5]); // now = 08:58
  });

  it('starts from --initial-replicas and scales a never-active object to zero after creation', async () => {
    const run = await ebb(
      { 'so.yaml': OFFICE_HOUR, 'trace.csv': 't\n0\n60\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T07:00:00Z',
      '--initial-replicas',
      '3',
    );
    expect(table(run.stdout)).toEqual([
      [0, 3, false],
      [30, 0, false],
      [60, 0, false],
    ]);
  });

  it('a column drives the trigger it names; "error" is a failed read that never scales to zero', async () => {
    const trace = 't,batch\n0,0\n30,12\n60,error\n';
    const run = await ebb(
      { 'so.yaml': TWO_WINDOWS, 'trace.csv': trace },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T07:00:00Z',
    );
    expect(run.code).toBe(0);
    expect(table(run.stdout).map((r) => r[1])).toEqual([0, 0, 1, 5, 5]);
  });

  it('reads the trace as a step function between rows', async () => {
    const trace = 't,batch\n0,3\n100,0\n400,0\n';
    const run = await ebb(
      { 'so.yaml': TWO_WINDOWS, 'trace.csv': trace },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T07:00:00Z',
    );
    const rows = table(run.stdout);
    expect(rows.filter((r) => r[2]).map((r) => r[0])).toEqual([0, 15, 30, 45, 60, 75, 90]); // active while 3
    expect(at(rows, 165)).toEqual([165, 0, false]); // 90 + cooldown 60 < 165
  });

  it('matches an unnamed trigger by its metric name or its type', async () => {
    for (const header of ['s1-cron-Etc-UTC-012xxx-013xxx', 'cron']) {
      const run = await ebb(
        { 'so.yaml': TWO_WINDOWS, 'trace.csv': `t,${header}\n0,2\n` },
        'simulate',
        '--scaledobject',
        'so.yaml',
        '--metrics',
        'trace.csv',
        '--start',
        '2024-06-03T07:00:00Z',
      );
      expect(run.stdout, header).toBe('t,replicas,active\n0,1,true\n');
    }
  });

  it('explains each decision on request', async () => {
    const run = await ebb(
      { 'so.yaml': OFFICE_HOUR, 'trace.csv': 't\n0\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T09:00:00Z',
      '--explain',
    );
    expect(run.stdout).toMatch(
      /^t,replicas,active,explanation\n0,1,true,"?activated by s0-cron-Etc-UTC-09xxx-010xxx/,
    );
  });

  it('shows a negative composite clamped to 0, and a non-finite one as a failed read, in --explain', async () => {
    const so = TWO_WINDOWS.replace(
      '  triggers:',
      '  advanced:\n    scalingModifiers: {formula: "batch - 10 + 1 / (batch - 1)", target: "1"}\n  triggers:',
    );
    const run = await ebb(
      { 'so.yaml': so, 'trace.csv': 't,batch\n0,2\n15,1\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T07:00:00Z',
      '--explain',
    );
    expect(run.stderr).toBe('');
    const [, first, second] = run.stdout.split('\n');
    // t = 0: 2 - 10 + 1 / 1 = -7, clamped to 0; t = 15: 1 / 0 is Infinity, a failed read.
    expect(first).toContain('composite-metric was -7, clamped to 0');
    expect(second).toContain('composite-metric failed (MetricNotFinite)');
  });

  it('refuses a negative value in the trace with its line', async () => {
    const run = await ebb(
      { 'so.yaml': TWO_WINDOWS, 'trace.csv': 't,batch\n0,1\n30,-2\n' },
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
    );
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: 'trace.csv:3: batch: must be a number >= 0 (a metric is never negative), got "-2"\n',
    });
  });

  it.each([
    {
      label: 'a column that names no trigger',
      files: { 'so.yaml': TWO_WINDOWS, 'trace.csv': 't,orders\n0,1\n' },
      stderr: 'trace.csv: column "orders" names no trigger (known: batch, s1-cron-Etc-UTC-012xxx-013xxx)\n',
    },
    {
      label: 'a column that matches two unnamed triggers',
      files: {
        'so.yaml': TWO_WINDOWS.replace('    name: batch\n', ''),
        'trace.csv': 't,cron\n0,1\n',
      },
      stderr:
        'trace.csv: column "cron" matches 2 triggers (spec.triggers[0] (cron), spec.triggers[1] (cron)); give them names\n',
    },
    {
      label: 'a bad value in the trace',
      files: { 'so.yaml': TWO_WINDOWS, 'trace.csv': 't,batch\n0,1\n30,many\n' },
      stderr: 'trace.csv:3: batch: must be a number or "error", got "many"\n',
    },
    {
      label: 'a ScaledObject that is not admitted',
      files: { 'so.yaml': OFFICE_HOUR.replace('"5"', '"0"'), 'trace.csv': 't\n0\n' },
      stderr:
        'so.yaml:1: spec.triggers[0].metadata.desiredReplicas: must be an integer greater than 0, got "0"\n',
    },
    {
      label: 'an unsupported trigger type',
      files: {
        'so.yaml': OFFICE_HOUR.replace('type: cron', 'type: prometheus'),
        'trace.csv': 't,prometheus\n0,1\n',
      },
      stderr: 'so.yaml:1: spec.triggers[0].type: trigger type "prometheus" is not supported yet\n',
    },
    {
      label: 'a file with no ScaledObject',
      files: { 'so.yaml': 'apiVersion: v1\nkind: ConfigMap\n', 'trace.csv': 't\n0\n' },
      stderr: 'so.yaml: expected one ScaledObject, found 0\n',
    },
    {
      label: 'a missing trace',
      files: { 'so.yaml': OFFICE_HOUR },
      stderr: 'trace.csv: cannot read: no such file or directory\n',
    },
  ])('stops with a clear error on $label', async ({ files, stderr }) => {
    const run = await ebb(
      files,
      'simulate',
      '--scaledobject',
      'so.yaml',
      '--metrics',
      'trace.csv',
      '--start',
      '2024-06-03T07:00:00Z',
    );
    expect(run.stderr).toBe(stderr);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(1);
  });
});

describe('readingSources', () => {
  const fake = (key: string, offline: boolean, name?: string): ResolvedTrigger => ({
    index: 0,
    trigger: { type: 'kafka', metadata: {}, ...(name === undefined ? {} : { name }) },
    key,
    metric: { name: key, target: 5, metricType: 'AverageValue' },
    activationThreshold: 0,
    offline,
    create: () => {
      throw new Error('a source without a column must not be created');
    },
  });

  it('refuses a trigger that has no column and cannot be read offline', () => {
    const trace = parseTrace('t\n0\n', 'tr.csv');
    if (!trace.ok) throw new Error('trace');
    expect(readingSources([fake('orders', false, 'orders')], trace.value.columns, 'tr.csv')).toEqual({
      ok: false,
      errors: [
        'tr.csv: no column for spec.triggers[0] (kafka "orders"), which cannot be evaluated offline; add a column "orders"',
      ],
    });
  });

  it('refuses two columns naming the same trigger', () => {
    expect(readingSources([fake('s0-kafka-orders', false)], ['s0-kafka-orders', 'kafka'], 'tr.csv')).toEqual({
      ok: false,
      errors: ['tr.csv: columns "s0-kafka-orders" and "kafka" both name spec.triggers[0] (kafka)'],
    });
  });
});

describe('ebb simulate (spawned)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-simulate-'));
  const so = join(dir, 'so.yaml');
  writeFileSync(so, OFFICE_HOUR);
  const spawn = (trace: string) => {
    const file = join(dir, 'trace.csv');
    writeFileSync(file, trace);
    return spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/main.ts',
        'simulate',
        '--scaledobject',
        so,
        '--metrics',
        file,
        '--start',
        '2024-06-03T09:00:00Z',
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
  };

  it('prints the CSV and exits 0', () => {
    const run = spawn('t\n0\n30\n');
    expect(run.stdout).toBe('t,replicas,active\n0,1,true\n30,5,true\n');
    expect(run.status).toBe(0);
  });

  it('exits 1 on a bad CSV with a line naming the place, and no stack trace', () => {
    const run = spawn('t,cron\n0,1\n-30,2\n');
    expect(run.stderr).toBe(`${join(dir, 'trace.csv')}:3: t must be a number of seconds >= 0, got "-30"\n`);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(1);
  });
});

describe('ebb simulate --plot, as a user runs it', () => {
  const run = (...argv: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulate', ...argv], {
      cwd: REPO,
      encoding: 'utf8',
    });

  it('writes the committed docs/simulate-burst.svg from the examples, byte for byte', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ebb-plot-')), 'burst.svg');
    const result = run(
      '--scaledobject',
      'examples/simulate/fast.yaml',
      '--metrics',
      'examples/simulate/burst.csv',
      '--plot',
      out,
      '--compare',
      'examples/simulate/slow.yaml',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${out}\n`);
    expect(result.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(REPO, 'docs', 'simulate-burst.svg'), 'utf8'));
  });

  it('refuses --compare without --plot, naming the flag', () => {
    const result = run(
      '--scaledobject',
      'examples/simulate/fast.yaml',
      '--metrics',
      'examples/simulate/burst.csv',
      '--compare',
      'examples/simulate/slow.yaml',
    );
    expect(result.stderr).toBe('--compare: needs --plot FILE.svg (the comparison is drawn, not printed)\n');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
  });
});
