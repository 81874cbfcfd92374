// Bounded work for every input (README "Limits"): manifests, traces and plots over their limits
// are refused with a message naming the file, the limit and what to do, before they are parsed;
// FIFOs and devices are refused, standard input is cut off; a million polls are simulated and
// drawn in a small heap. The commands run as a user runs them, in a child process, where the
// input must be a real file, a FIFO or /dev/zero.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MANIFEST_LIMITS } from '../../src/cli/documents.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { runSimulate } from '../../src/cli/simulate.ts';
import { TRACE_LIMITS } from '../../src/cli/trace.ts';
import { runValidate } from '../../src/cli/validate.ts';
import { capturedIO } from './captured-io.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ebb-limits-'));
const MiB = 1024 * 1024;

interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `ebb ...` in a child with a small heap: work that grows with the input dies there. */
const ebb = (args: readonly string[], opts: { stdin?: number; heapMb?: number } = {}): Ran => {
  const run = spawnSync(
    process.execPath,
    [`--max-old-space-size=${opts.heapMb ?? 96}`, '--import', 'tsx', 'src/main.ts', ...args],
    {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
      killSignal: 'SIGKILL',
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * MiB,
    },
  );
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
};

const SCALED_OBJECT = `apiVersion: autoscaling.ebb.dev/v1alpha1
kind: ScaledObject
metadata: {name: orders-N}
spec:
  scaleTargetRef: {name: worker}
  pollingInterval: 1
  minReplicaCount: 1
  maxReplicaCount: 100
  triggers:
  - type: rabbitmq
    name: orders
    metadata: {host: "amqp://rabbitmq:5672/", queueName: orders, mode: QueueLength, value: "20"}
`;

/** A file of valid ScaledObjects, about `bytes` long. */
const manifests = (name: string, bytes: number): string => {
  const path = join(dir, name);
  const docs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const doc = `${SCALED_OBJECT.replace('N', String(i))}---\n`;
    docs.push(doc);
    size += doc.length;
  }
  writeFileSync(path, docs.join(''));
  return path;
};

const fifo = (name: string): string => {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo: ${made.stderr}`);
  return path;
};

describe('ebb validate: manifests within MANIFEST_LIMITS', () => {
  it('refuses 50 MB of manifests from its size, before parsing, naming the file and the limit', () => {
    const big = manifests('big.yaml', 50_000_000);
    const run = ebb(['validate', big], { heapMb: 64 });
    expect(run.stdout).toBe(
      `${big}: cannot read: 47.7 MiB, more than 8 MiB, the most a manifest file may have; split it into smaller files\n`,
    );
    expect(run.stderr).toBe('ebb validate: 0 ScaledObjects checked, 0 with problems; 1 file with errors\n');
    expect(run.status).toBe(1);
  });

  it('refuses /dev/zero and a FIFO (which nothing writes to) instead of reading forever', () => {
    const pipe = fifo('manifests.fifo');
    const run = ebb(['validate', '/dev/zero', pipe]);
    expect(run.stdout).toBe(
      '/dev/zero: cannot read: a character device, not a regular file; give a file, or pipe the text to standard input ("-")\n' +
        `${pipe}: cannot read: a FIFO, not a regular file; give a file, or pipe the text to standard input ("-")\n`,
    );
    expect(run.status).toBe(1);
  });

  it('cuts standard input off at the limit (`ebb validate - < /dev/zero`)', () => {
    const zero = openSync('/dev/zero', 'r');
    try {
      const run = ebb(['validate', '-'], { stdin: zero });
      expect(run.stdout).toBe(
        '-: cannot read: more than 8 MiB on standard input, the most a manifest file may have; split it into smaller files\n',
      );
      expect(run.status).toBe(1);
    } finally {
      closeSync(zero);
    }
  });

  it('reads at most 10,000 documents of a file, and says where it stopped', () => {
    const many = join(dir, 'many.yaml');
    writeFileSync(
      many,
      `${SCALED_OBJECT.replace('N', '0')}${'---\nkind: ConfigMap\n'.repeat(MANIFEST_LIMITS.documents)}`,
    );
    const run = ebb(['validate', many]);
    expect(run.stdout).toBe(
      `${many}:20011:1: more than 10000 documents in one file, the most ebb reads; split the file\n`,
    );
    expect(run.stderr).toBe(
      'ebb validate: 1 ScaledObject checked, 0 with problems; 1 file with errors; skipped 9999 documents of other kinds (ConfigMap)\n',
    );
    expect(run.status).toBe(1);
  });

  it('refuses nesting deeper than 100 levels at its place, without overflowing the stack', () => {
    const deep = join(dir, 'deep.yaml');
    const flow = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const block = Array.from({ length: 101 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    writeFileSync(deep, `${SCALED_OBJECT.replace('N', '0')}---\nspec: ${flow}\n---\n${block} 1\n`);
    const run = ebb(['validate', deep]);
    expect(run.stdout).toBe(
      `${deep}:14:106: invalid YAML: nested deeper than 100 levels, the most ebb reads\n` +
        `${deep}:116:101: invalid YAML: nested deeper than 100 levels, the most ebb reads\n`,
    );
    expect(run.status).toBe(1);
  });

  it('refuses aliases that expand beyond the limit ("billion laughs")', () => {
    const laughs = join(dir, 'laughs.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i);
      const previous = String.fromCharCode(96 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    writeFileSync(laughs, `${levels.join('\n')}\n`);
    const run = ebb(['validate', laughs]);
    expect(run.stdout).toBe(
      `${laughs}:1:1: invalid YAML: its aliases (*name) expand beyond 100 nodes, the most ebb reads; write the values out\n`,
    );
    expect(run.status).toBe(1);
  });

  it('stops at the total a run reads: the file that would pass it is refused from its size', async () => {
    const files = ['a', 'b', 'c'].map((name) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `${SCALED_OBJECT.replace('N', name)}#${'-'.repeat(600)}\n`);
      return path;
    });
    const captured = capturedIO();
    const limits = { ...MANIFEST_LIMITS, fileBytes: 1000, totalBytes: 2500 };
    expect(await runValidate(files, captured.io, limits)).toBe(1);
    const stdout = captured.stdout();
    const stderr = captured.stderr();
    // (a.yaml and b.yaml scale one target: the cross-document check names b.yaml's.)
    expect(stdout.split('\n').filter((l) => !l.includes('ScaleTargetInUse'))).toEqual([
      `${files[2]}: cannot read: 938 bytes after 1.8 KiB from the files before it, more than the 2.4 KiB one ebb validate run reads; validate it in another run`,
      '',
    ]);
    expect(stderr).toBe('ebb validate: 2 ScaledObjects checked, 1 with problems; 1 file with errors\n');
  });
});

describe('ebb simulate: traces within TRACE_LIMITS, polls within MAX_POLLS', () => {
  const scaledObject = join(dir, 'orders.yaml');
  writeFileSync(scaledObject, SCALED_OBJECT.replace('N', '0'));

  it('refuses a trace over 64 MiB from its size, and /dev/zero as a trace', () => {
    const big = join(dir, 'big.csv');
    writeFileSync(big, 't,orders\n0,1\n');
    truncateSync(big, 70 * MiB);
    const run = ebb(['simulate', '--scaledobject', scaledObject, '--metrics', big]);
    expect(run.stderr).toBe(
      `${big}: cannot read: 70 MiB, more than 64 MiB, the most a trace may have; record at a coarser step\n`,
    );
    expect(run.status).toBe(1);
    const zero = ebb(['simulate', '--scaledobject', scaledObject, '--metrics', '/dev/zero']);
    expect(zero.stderr).toBe(
      '/dev/zero: cannot read: a character device, not a regular file; give a file, or pipe the text to standard input ("-")\n',
    );
    expect(zero.status).toBe(1);
  });

  it('draws 999,999 polls in a 64 MB heap: the SVG downsampled (min/max per pixel column keeps a one-poll burst), the CSV complete', async () => {
    // 999,999 polls at 1 s; one poll of 900 messages in the middle: 5 replicas (the default
    // behavior's max(4 pods, 100 %) per 15 s from 1), held 300 s by the scale-down window.
    const trace = join(dir, 'long.csv');
    writeFileSync(trace, 't,orders\n0,5\n500000,900\n500001,5\n999998,7\n');
    const svg = join(dir, 'long.svg');
    const plot = ebb(['simulate', '--scaledobject', scaledObject, '--metrics', trace, '--plot', svg], {
      heapMb: 64,
    });
    expect(plot.stderr).toBe('');
    expect(plot.stdout).toBe(`${svg}\n`);
    expect(plot.status).toBe(0);
    const drawn = (await import('node:fs')).readFileSync(svg, 'utf8');
    const replicas =
      /data-series="replicas:orders.yaml" data-points="([^"]*)" data-sampled-from="(\d+)"/.exec(drawn);
    expect(replicas?.[2]).toBe('999999');
    const points = (replicas?.[1] ?? '').split(' ').map((p) => p.split(',').map(Number) as [number, number]);
    expect(points.length).toBeLessThanOrEqual(6 * 900);
    // the burst's pixel column: 1 → 5 at t = 500000, then 1 again by the column's end
    expect(points.filter(([, n]) => n === 5).map(([t]) => t)).toEqual([500000]);
    expect(Math.max(...points.map(([, n]) => n))).toBe(5);

    // The CSV of the same run, streamed: every poll, in the same small heap.
    const csv = await new Promise<{ lines: number; peak: number; code: number | null }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--max-old-space-size=64',
          '--import',
          'tsx',
          'src/main.ts',
          'simulate',
          '--scaledobject',
          scaledObject,
          '--metrics',
          trace,
        ],
        { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let lines = 0;
      let peak = 0;
      let rest = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          lines++;
          peak = Math.max(peak, Number(line.split(',')[1]) || 0);
        }
      });
      child.on('close', (code) => resolve({ lines, peak, code }));
    });
    expect(csv).toEqual({ lines: 1 + 999_999, peak: 5, code: 0 });
  }, 300_000);

  it('refuses more polls than MAX_POLLS before printing any, with what to do', () => {
    const trace = join(dir, 'too-long.csv');
    writeFileSync(trace, 't,orders\n0,5\n1000000,7\n');
    const run = ebb(['simulate', '--scaledobject', scaledObject, '--metrics', trace]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `${trace}: 1000000 s at a 1 s polling interval is 1000001 polls, more than the 1000000 ebb simulate runs; shorten the trace or poll less often\n`,
    );
    expect(run.status).toBe(1);
  });

  it.each([
    {
      label: 'more rows than the limit',
      text: () =>
        `t,orders\n${Array.from({ length: TRACE_LIMITS.rows + 1 }, (_, i) => `${i},1`).join('\n')}\n`,
      error: `trace.csv:${TRACE_LIMITS.rows + 2}: more than 1000000 rows, the most a trace may have; record at a coarser step`,
    },
    {
      label: 'more values than the limit',
      text: () => `t,a,b,c,d,e\n${Array.from({ length: 800_001 }, (_, i) => `${i},1,2,3,4,5`).join('\n')}\n`,
      error:
        'trace.csv:800002: more than 4000000 values (rows × columns), the most a trace may have; record at a coarser step or fewer columns',
    },
    {
      label: 'a line longer than the limit',
      text: () => `t,orders\n0,${'1'.repeat(TRACE_LIMITS.lineChars + 1)}`,
      error: 'trace.csv:2: a line longer than 65536 characters, the most a trace line may have',
    },
    {
      label: 'more columns than a ScaledObject has triggers',
      text: () => `t,${Array.from({ length: 101 }, (_, i) => `c${i}`).join(',')}\n0${',1'.repeat(101)}\n`,
      error:
        'trace.csv:1: 101 columns, more than 100 (a column names a trigger, and a ScaledObject has at most 100)',
    },
  ])('stops reading a trace with $label, naming the line and the limit', async ({ text, error }) => {
    let stderr = '';
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      now: () => new Date(0),
      readText: async (file) => (file === 'trace.csv' ? text() : SCALED_OBJECT.replace('N', '0')),
    };
    const code = await runSimulate(
      { scaledObjectFile: 'so.yaml', traceFile: 'trace.csv', initialReplicas: undefined, start: new Date(0) },
      io,
    );
    expect(stderr).toBe(`${error}\n`);
    expect(code).toBe(1);
  });

  it('reports the first 20 broken lines of a trace, then stops reading', async () => {
    let stderr = '';
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      now: () => new Date(0),
      readText: async (file) =>
        file === 'trace.csv'
          ? `t,orders\n0,1\n${Array.from({ length: 100_000 }, (_, i) => `${i + 1},lots`).join('\n')}`
          : SCALED_OBJECT.replace('N', '0'),
    };
    const code = await runSimulate(
      { scaledObjectFile: 'so.yaml', traceFile: 'trace.csv', initialReplicas: undefined, start: new Date(0) },
      io,
    );
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe('trace.csv:3: orders: must be a number or "error", got "lots"');
    expect(lines[20]).toBe('trace.csv: stopped reading after 20 errors');
    expect(code).toBe(1);
  });
});
