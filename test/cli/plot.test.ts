// `ebb simulate --plot`: the SVG's series are read back from their data-series/data-points
// attributes and compared with the simulation and the trace; the document must be well-formed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/io.ts';
import { niceStep, timeTicks, valueTicks } from '../../src/cli/plot.ts';
import { runSimulate, type SimulateOptions } from '../../src/cli/simulate.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Queue depth, 20 per replica, poll 15 s; `BEHAVIOR` is replaced by each test. */
const QUEUE = `
apiVersion: autoscaling.ebb.dev/v1alpha1
kind: ScaledObject
metadata: {name: orders}
spec:
  scaleTargetRef: {name: worker}
  pollingInterval: 15
  minReplicaCount: 1
  maxReplicaCount: 20
  advanced: {horizontalPodAutoscalerConfig: {behavior: BEHAVIOR}}
  triggers:
  - type: rabbitmq
    name: orders
    metadata: {host: "amqp://rabbitmq:5672/", queueName: orders, mode: QueueLength, value: "20"}
`;
const FAST = QUEUE.replace('BEHAVIOR', '{scaleUp: {stabilizationWindowSeconds: 0}}');
const SLOW = QUEUE.replace(
  'BEHAVIOR',
  '{scaleUp: {stabilizationWindowSeconds: 60, policies: [{type: Pods, value: 1, periodSeconds: 60}]}}',
);
const BURST = 't,orders\n0,10\n60,300\n120,error\n150,200\n300,0\n';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly written: Map<string, string>;
}

/** Runs the command in-process; files come from `files`, else from the repository. */
const simulate = async (
  files: Record<string, string>,
  options: Partial<SimulateOptions>,
  writeFails = false,
): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  const written = new Map<string, string>();
  const io: CliIO = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    now: () => new Date('2024-06-03T08:00:00Z'),
    readText: async (file) => files[file] ?? readFile(join(REPO, file), 'utf8'),
  };
  const code = await runSimulate(
    {
      scaledObjectFile: 'fast.yaml',
      traceFile: 'burst.csv',
      initialReplicas: undefined,
      start: new Date('2024-06-03T08:00:00Z'),
      ...options,
    },
    io,
    async (file, text) => {
      if (writeFails)
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), {
          code: 'ENOENT',
        });
      written.set(file, text);
    },
  );
  return { code, stdout, stderr, written };
};

type Point = readonly [number, number | 'error'];

/** data-series name → its points, read back from the SVG. */
const seriesOf = (svg: string): Map<string, Point[]> => {
  const found = new Map<string, Point[]>();
  for (const match of svg.matchAll(/<path data-series="([^"]*)" data-points="([^"]*)"/g)) {
    const points = (match[2] ?? '').split(' ').map((pair): Point => {
      const [t, v] = pair.split(',');
      return [Number(t), v === 'error' ? 'error' : Number(v)];
    });
    found.set(match[1] ?? '', points);
  }
  return found;
};

/** Problems with the XML: unbalanced tags, raw `<`/`&` in text or attributes. Empty: well-formed. */
const xmlProblems = (svg: string): string[] => {
  const problems: string[] = [];
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let at = 0;
  let roots = 0;
  while (at < body.length) {
    const next = body.indexOf('<', at);
    const textPart = body.slice(at, next === -1 ? body.length : next);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(textPart)) problems.push(`raw & in text: ${textPart}`);
    if (next === -1) break;
    tag.lastIndex = next;
    const m = tag.exec(body);
    if (m === null) {
      problems.push(`not a tag at ${next}: ${body.slice(next, next + 40)}`);
      break;
    }
    const [, closing, name = '', attributes = '', selfClosing] = m;
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(attributes)) problems.push(`raw & in <${name}${attributes}>`);
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots += 1;
      stack.push(name);
    } else if (stack.length === 0) roots += 1;
    at = tag.lastIndex;
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
};

/** The CSV's replicas column as [t, replicas]. */
const csvReplicas = (csv: string): Point[] =>
  csv
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [t, replicas] = line.split(',');
      return [Number(t), Number(replicas)];
    });

describe('ebb simulate --plot', () => {
  it('draws the replicas the simulation printed, the trace as given and target × replicas', async () => {
    const files = { 'fast.yaml': FAST, 'burst.csv': BURST };
    const csv = await simulate(files, {});
    const run = await simulate(files, { plot: 'out.svg' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('out.svg\n');
    const svg = run.written.get('out.svg') ?? '';
    expect(xmlProblems(svg)).toEqual([]);

    const series = seriesOf(svg);
    expect([...series.keys()].sort()).toEqual([
      'capacity:fast.yaml:orders',
      'metric:orders',
      'replicas:fast.yaml',
    ]);
    const replicas = series.get('replicas:fast.yaml') ?? [];
    expect(replicas).toEqual(csvReplicas(csv.stdout));
    expect(replicas.map((p) => p[1])).toContain(15); // ceil(300 / 20) in one step: no window, no limit hit
    expect(series.get('metric:orders')).toEqual([
      [0, 10],
      [60, 300],
      [120, 'error'],
      [150, 200],
      [300, 0],
    ]);
    expect(series.get('capacity:fast.yaml:orders')).toEqual(replicas.map(([t, n]) => [t, 20 * Number(n)]));
    expect(svg.match(/class="read-error"/g)).toHaveLength(1); // 120..150
    expect(svg).toContain('orders · target 20 per replica');
    expect(svg).toContain('<title>ebb simulate: burst.csv through fast.yaml</title>');
  });

  it('draws one band for a run of failed reads (a downsampled series has one failed read per pixel column)', async () => {
    const trace = 't,orders\n0,10\n60,error\n75,error\n90,error\n150,200\n165,error\n300,0\n';
    const run = await simulate({ 'fast.yaml': FAST, 'burst.csv': trace }, { plot: 'out.svg' });
    expect(run.stderr).toBe('');
    const svg = run.written.get('out.svg') ?? '';
    const bands = [...svg.matchAll(/<rect class="read-error" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)];
    const x = (t: number) => Math.round((72 + (t / 300) * 900) * 10) / 10;
    expect(bands.map((b) => [Number(b[1]), Number(b[2])])).toEqual([
      [x(60), Math.round((x(150) - x(60)) * 10) / 10],
      [x(165), Math.round((x(300) - x(165)) * 10) / 10],
    ]);
  });

  it('--compare draws both ScaledObjects over the same trace; different behaviors, different replicas', async () => {
    const run = await simulate(
      { 'fast.yaml': FAST, 'slow.yaml': SLOW, 'burst.csv': BURST },
      { plot: 'out.svg', compare: 'slow.yaml' },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const svg = run.written.get('out.svg') ?? '';
    expect(xmlProblems(svg)).toEqual([]);
    const series = seriesOf(svg);
    const fast = series.get('replicas:fast.yaml') ?? [];
    const slow = series.get('replicas:slow.yaml') ?? [];
    const slowCsv = await simulate({ 'fast.yaml': SLOW, 'burst.csv': BURST }, {});
    expect(slow).toEqual(csvReplicas(slowCsv.stdout));
    expect(fast.map((p) => p[0])).toEqual(slow.map((p) => p[0]));
    expect(fast).not.toEqual(slow);
    expect(slow.find(([t]) => t === 75)).toEqual([75, 1]); // held by the 60 s window
    expect(fast.find(([t]) => t === 75)).toEqual([75, 10]); // max(100 %, 4 pods) per 15 s: 1 → 5 → 10
    expect(series.has('capacity:slow.yaml:orders')).toBe(true);
    expect(series.get('metric:orders')).toHaveLength(5); // one metric: the same trace
    expect(svg).toContain('through fast.yaml vs slow.yaml');
    expect(svg).toContain('up 1 pod/60 s, 60 s window');
  });

  it('names a run by its path when two files share a base name, and escapes text', async () => {
    const run = await simulate(
      { 'a/so.yaml': FAST, 'b/so.yaml': SLOW, 'q&a <1>.csv': BURST.replace('orders', 'orders') },
      { scaledObjectFile: 'a/so.yaml', compare: 'b/so.yaml', traceFile: 'q&a <1>.csv', plot: 'o.svg' },
    );
    const svg = run.written.get('o.svg') ?? '';
    expect(xmlProblems(svg)).toEqual([]);
    expect([...seriesOf(svg).keys()]).toContain('replicas:b/so.yaml');
    expect(svg).toContain('q&amp;a &lt;1&gt;.csv');
  });

  it('draws a trigger its scaler reads (cron) from the readings at each poll', async () => {
    const cron = `
apiVersion: autoscaling.ebb.dev/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: cron
    metadata: {timezone: Etc/UTC, start: "1 8 * * *", end: "0 9 * * *", desiredReplicas: "4"}
`;
    const run = await simulate({ 'fast.yaml': cron, 'burst.csv': 't\n0\n120\n' }, { plot: 'o.svg' });
    expect(run.stderr).toBe('');
    const series = seriesOf(run.written.get('o.svg') ?? '');
    expect(series.get('metric:s0-cron-Etc-UTC-18xxx-09xxx')).toEqual([
      [0, 0],
      [30, 0],
      [60, 4],
      [90, 4],
      [120, 4],
    ]);
  });

  it('plots the committed sample exactly as docs/simulate-burst.svg (regenerate it when this fails)', async () => {
    const run = await simulate(
      {},
      {
        scaledObjectFile: 'examples/simulate/fast.yaml',
        traceFile: 'examples/simulate/burst.csv',
        compare: 'examples/simulate/slow.yaml',
        plot: 'docs/simulate-burst.svg',
      },
    );
    expect(run.stderr).toBe('');
    const svg = run.written.get('docs/simulate-burst.svg') ?? '';
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toBe(await readFile(join(REPO, 'docs/simulate-burst.svg'), 'utf8'));
    const series = seriesOf(svg);
    const peak = (name: string) => Math.max(...(series.get(name) ?? []).map((p) => Number(p[1])));
    expect([peak('replicas:fast.yaml'), peak('replicas:slow.yaml')]).toEqual([30, 14]);
  });

  it.each([
    {
      label: '--compare without --plot',
      options: { compare: 'slow.yaml' },
      stderr: '--compare: needs --plot FILE.svg (the comparison is drawn, not printed)\n',
    },
    {
      label: '--plot to a file that is not .svg',
      options: { plot: 'out.png' },
      stderr: '--plot: must name a .svg file, got "out.png"\n',
    },
    {
      label: '--explain with --plot',
      options: { plot: 'out.svg', explain: true },
      stderr: '--explain: adds a column to the CSV, which --plot does not print\n',
    },
    {
      label: 'a --compare ScaledObject that is not admitted',
      options: { plot: 'out.svg', compare: 'slow.yaml' },
      files: { 'slow.yaml': SLOW.replace('value: "20"', 'value: "-1"') },
      stderr: /^--compare: slow\.yaml:1: spec\.triggers\[0\]\.metadata\.value: /,
    },
    {
      label: 'a --compare ScaledObject the trace has no column for',
      options: { plot: 'out.svg', compare: 'slow.yaml' },
      files: { 'slow.yaml': SLOW.replace('  name: orders\n', '  name: payments\n') },
      stderr:
        '--compare: burst.csv: column "orders" names no trigger (known: payments)\n' +
        '--compare: burst.csv: no column for spec.triggers[0] (rabbitmq "payments"), which cannot be evaluated offline; add a column "payments"\n',
    },
    {
      label: 'a --compare file that does not exist',
      options: { plot: 'out.svg', compare: 'nowhere.yaml' },
      stderr: '--compare: nowhere.yaml: cannot read: no such file or directory\n',
    },
  ])('stops with an error naming the flag: $label', async ({ options, files, stderr }) => {
    const run = await simulate(
      { 'fast.yaml': FAST, 'slow.yaml': SLOW, 'burst.csv': BURST, ...files },
      options,
    );
    if (typeof stderr === 'string') expect(run.stderr).toBe(stderr);
    else expect(run.stderr).toMatch(stderr);
    expect(run.stdout).toBe('');
    expect(run.written.size).toBe(0);
    expect(run.code).toBe(1);
  });

  it('reports a file it cannot write, naming --plot', async () => {
    const run = await simulate({ 'fast.yaml': FAST, 'burst.csv': BURST }, { plot: 'no/dir/out.svg' }, true);
    expect(run.stderr).toBe('--plot: cannot write no/dir/out.svg: no such file or directory\n');
    expect(run.stdout).toBe('');
    expect(run.code).toBe(1);
  });
});

describe('the well-formedness check itself', () => {
  it.each([
    { svg: '<svg><g></g><path d="M0,0"/></svg>', problems: [] },
    { svg: '<svg><g></svg>', problems: ['</svg> closes <g>', 'unclosed: svg'] },
    { svg: '<svg><text>a & b</text></svg>', problems: ['raw & in text: a & b'] },
    {
      svg: '<svg><text>a < b</text></svg>',
      problems: ['not a tag at 13: < b</text></svg>', 'unclosed: svg, text'],
    },
    { svg: '<svg/><svg/>', problems: ['2 root elements'] },
  ])('$svg', ({ svg, problems }) => {
    expect(xmlProblems(svg)).toEqual(problems);
  });
});

describe('axis ticks', () => {
  it.each([
    { max: 620, whole: false, ticks: [0, 200, 400, 600, 800] },
    { max: 1, whole: false, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1, 1.2] },
    { max: 0.7, whole: false, ticks: [0, 0.2, 0.4, 0.6, 0.8] },
    { max: 0, whole: false, ticks: [0, 1] },
    { max: 30, whole: true, ticks: [0, 10, 20, 30, 40] },
    { max: 3, whole: true, ticks: [0, 1, 2, 3, 4] },
    { max: 12, whole: true, ticks: [0, 5, 10, 15] },
    { max: 1230, whole: false, ticks: [0, 250, 500, 750, 1000, 1250] },
  ])('values up to $max (whole: $whole)', ({ max, whole, ticks }) => {
    expect(valueTicks(max, whole)).toEqual(ticks);
  });

  it('never steps below one whole replica', () => {
    expect(niceStep(2, 5, true)).toBe(1);
  });

  it.each([
    { endT: 1800, unit: 'min', ticks: [0, 300, 600, 900, 1200, 1500, 1800] },
    { endT: 120, unit: 's', ticks: [0, 15, 30, 45, 60, 75, 90, 105, 120] },
    { endT: 86400, unit: 'h', ticks: [0, 10800, 21600, 32400, 43200, 54000, 64800, 75600, 86400] },
  ])('time up to $endT s in $unit', ({ endT, unit, ticks }) => {
    expect(timeTicks(endT)).toMatchObject({ unit, ticks });
  });
});
