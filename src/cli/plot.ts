// `ebb simulate --plot FILE.svg [--compare OTHER.yaml]`: one or two simulations of the same trace
// drawn as a hand-written SVG (pure: simulations in, SVG text out). Panels share the time axis:
// one per trigger metric, then one for the replicas.
//
// - Metric panel: the metric as the trace gives it (a step line; a failed read is a gap over a
//   red band), and per ScaledObject a dashed `target × replicas` line: what the replicas running
//   after each poll absorb at the target. Where the metric is above it the workload is behind;
//   the vertical gap is the burst the behavior has not caught up with yet. A `Value` trigger's
//   dashed line is its target itself. With scalingModifiers the triggers' own targets do not
//   decide, so no dashed line is drawn.
// - Replicas panel: each ScaledObject's replicas after each poll, a step line, overlaid in its
//   own colour (a comparison reads as the horizontal distance between the two steps).
//
// Every series element carries `data-series="<name>"` and `data-points="t,value t,value ..."`
// in trace units (seconds; a failed read is `t,error`), so tests read the series back exactly.
// Names: `metric:<panel>`, `capacity:<file>:<panel>`, `replicas:<file>`. A series of more points
// than the plot is wide is drawn from its M4 downsample (plot-series.ts); then `data-points` are
// the points drawn, and `data-sampled-from` says how many there were.
import type { ScalingRules, ScalingSpec } from '../scaling/types.ts';
import {
  PLOT_COLUMNS,
  type Series,
  type SeriesPoint,
  SeriesSampler,
  type SimulatedRun,
} from './plot-series.ts';
import { READ_ERROR, type Trace } from './trace.ts';

export interface PlotInput {
  readonly traceFile: string;
  readonly trace: Trace;
  /** One, or two to compare (the first is the reference); recorded with RunRecorder. */
  readonly runs: readonly SimulatedRun[];
}

interface MetricPanel {
  readonly name: string;
  /** `target 20 per replica`, or per run when the runs' targets differ. */
  readonly target: string;
  readonly metric: Series;
  /** One per run that has a dashed line in this panel, with the run's index (its colour). */
  readonly capacity: readonly (Series & { readonly run: number; readonly label: string })[];
}

const LEFT = 72;
const RIGHT = 28;
const PLOT_WIDTH = PLOT_COLUMNS; // a pixel column each
const WIDTH = LEFT + PLOT_WIDTH + RIGHT;
const PANEL_HEADER = 34;
const METRIC_HEIGHT = 200;
const REPLICAS_HEIGHT = 170;
const PANEL_GAP = 14;
const AXIS_SPACE = 46;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Okabe–Ito blue and vermillion: distinct for colour-blind readers too. */
const RUN_COLOURS = ['#0072B2', '#D55E00'] as const;
const METRIC_COLOUR = '#333333';
const ERROR_FILL = '#f4c7c3';

export const escapeXml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

const baseName = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

/** Distinct names for the runs' files: their base names, else their paths, else `file (2)`. */
export const runNames = (files: readonly string[]): string[] => {
  const bases = files.map(baseName);
  if (new Set(bases).size === bases.length) return bases;
  return files.map((file, i) => (files.slice(0, i).includes(file) ? `${file} (${i + 1})` : file));
};

/** The end of the time axis: the trace's last t (at least 1 s). */
export const plotEndT = (trace: Trace): number => Math.max(trace.times[trace.length - 1] ?? 0, 1);

const policy = (p: ScalingRules['policies'][number]): string =>
  `${p.value}${p.type === 'Percent' ? ' %' : p.value === 1 ? ' pod' : ' pods'}/${p.periodSeconds} s`;

const rulesSummary = (r: ScalingRules): string => {
  if (r.selectPolicy === 'Disabled') return 'disabled';
  const policies = r.policies.map(policy);
  const rate =
    policies.length > 1 ? `${r.selectPolicy.toLowerCase()}(${policies.join(', ')})` : policies.join('');
  return `${rate}, ${r.stabilizationWindowSeconds} s window`;
};

/** One line: the knobs that shape a burst's response. */
export const behaviorSummary = (spec: ScalingSpec): string =>
  `${spec.minReplicas}–${spec.maxReplicas} replicas, poll ${spec.pollingIntervalSeconds} s, ` +
  `cooldown ${spec.cooldownSeconds} s; up ${rulesSummary(spec.scaleUp)}; down ${rulesSummary(spec.scaleDown)}`;

/** The metric panels: trace columns in header order, then triggers read by their own scaler. */
export const metricPanels = (input: PlotInput): MetricPanel[] => {
  const names = runNames(input.runs.map((run) => run.file));
  const { trace } = input;
  const endT = plotEndT(trace);
  const panels = new Map<
    string,
    { metric: Series; capacity: MetricPanel['capacity'][number][]; targets: string[] }
  >();
  input.trace.columns.forEach((column, i) => {
    const sampler = new SeriesSampler(`metric:${column}`, trace.length, endT);
    const values = trace.values[i] as Float64Array;
    for (let row = 0; row < trace.length; row++) {
      const value = values[row] as number;
      sampler.add(trace.times[row] as number, Number.isNaN(value) ? undefined : value);
    }
    panels.set(column, { metric: sampler.series(), capacity: [], targets: [] });
  });
  input.runs.forEach((run, r) => {
    for (const trigger of run.triggers) {
      let panel = panels.get(trigger.panel);
      if (panel === undefined) {
        const metric = trigger.metric ?? { name: `metric:${trigger.panel}`, points: [], max: 0 };
        panel = { metric, capacity: [], targets: [] };
        panels.set(trigger.panel, panel);
      }
      const value = trigger.metricType === 'Value';
      panel.targets.push(`${label(trigger.target)}${value ? '' : ' per replica'} (${names[r]})`);
      if (trigger.capacity === undefined) continue;
      panel.capacity.push({
        ...trigger.capacity,
        run: r,
        label: `${value ? 'target' : 'target × replicas'} (${names[r]})`,
      });
    }
  });
  return [...panels].map(([name, { metric, capacity, targets }]) => {
    const distinct = new Set(targets.map((t) => t.replace(/ \([^)]*\)$/, '')));
    const [only] = distinct;
    const target = distinct.size === 1 && only !== undefined ? only : targets.join(', ');
    return { name, target: target === '' ? '' : `target ${target}`, metric, capacity };
  });
};

// ---- scales and ticks ----

const round1 = (n: number): number => Math.round(n * 10) / 10;
/** 0.30000000000000004 -> 0.3 */
const tidy = (n: number): number => Number(n.toPrecision(12));

/** The smallest of 1, 2, 2.5, 5 × 10^k (or 1, 2, 5 × 10^k for whole numbers) >= max / count. */
export const niceStep = (max: number, count: number, whole: boolean): number => {
  const raw = max / count;
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const factors = whole && magnitude === 1 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = (factors.find((f) => f * magnitude >= raw - 1e-12) ?? 10) * magnitude;
  return whole ? Math.max(1, Math.round(step)) : tidy(step);
};

/** Ticks 0, step, ..., up to the first one above max (a line at the maximum stays off the frame). */
export const valueTicks = (max: number, whole: boolean): number[] => {
  const step = niceStep(max, 5, whole);
  const top = (Math.floor(tidy(max / step)) + 1) * step;
  return Array.from({ length: Math.round(top / step) + 1 }, (_, k) => tidy(k * step));
};

const TIME_STEPS: readonly number[] = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/** Round time ticks (about 10 at most) and the unit their labels use. */
export const timeTicks = (endT: number): { ticks: number[]; unit: 's' | 'min' | 'h'; perUnit: number } => {
  const step = TIME_STEPS.find((s) => endT / s <= 10) ?? Math.ceil(endT / 10 / 86400) * 86400;
  const ticks = Array.from({ length: Math.floor(endT / step) + 1 }, (_, k) => k * step);
  if (step % 3600 === 0) return { ticks, unit: 'h', perUnit: 3600 };
  if (step % 60 === 0) return { ticks, unit: 'min', perUnit: 60 };
  return { ticks, unit: 's', perUnit: 1 };
};

const label = (n: number): string => {
  if (n >= 1e6 && n % 1e5 === 0) return `${tidy(n / 1e6)}M`;
  if (n >= 1e4 && n % 100 === 0) return `${tidy(n / 1e3)}k`;
  return String(tidy(n));
};

// ---- SVG ----

const text = (x: number, y: number, content: string, attrs = ''): string =>
  `<text x="${round1(x)}" y="${round1(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;

const pointsAttribute = (points: readonly SeriesPoint[]): string =>
  points.map((p) => `${p.t},${p.value === undefined ? READ_ERROR : p.value}`).join(' ');

/** A step-after path to `endT`; a point without a value breaks the line. */
const stepPath = (
  points: readonly SeriesPoint[],
  endT: number,
  x: (t: number) => number,
  y: (v: number) => number,
): string => {
  let d = '';
  let drawing = false;
  points.forEach((p, i) => {
    if (p.value === undefined) {
      drawing = false;
      return;
    }
    const next = Math.min(points[i + 1]?.t ?? endT, endT);
    d += drawing ? `V${round1(y(p.value))}` : `M${round1(x(p.t))},${round1(y(p.value))}`;
    d += `H${round1(x(next))}`;
    drawing = true;
  });
  return d === '' ? 'M0,0' : d;
};

const seriesPath = (
  series: Series,
  endT: number,
  x: (t: number) => number,
  y: (v: number) => number,
  style: string,
): string =>
  `<path data-series="${escapeXml(series.name)}" data-points="${pointsAttribute(series.points)}" ` +
  (series.sampledFrom === undefined ? '' : `data-sampled-from="${series.sampledFrom}" `) +
  `d="${stepPath(series.points, endT, x, y)}" fill="none" ${style}/>`;

/** Bands where the metric is missing: one per run of failed reads, from the first to the next value. */
const readErrorBands = (
  points: readonly SeriesPoint[],
  endT: number,
  x: (t: number) => number,
  top: number,
): string[] => {
  const bands: string[] = [];
  for (let i = 0; i < points.length; i++) {
    const start = points[i] as SeriesPoint;
    if (start.value !== undefined) continue;
    while (points[i + 1]?.value === undefined && i + 1 < points.length) i++;
    const next = Math.min(points[i + 1]?.t ?? endT, endT);
    bands.push(
      `<rect class="read-error" x="${round1(x(start.t))}" y="${top}" width="${round1(Math.max(x(next) - x(start.t), 2))}" ` +
        `height="${METRIC_HEIGHT}" fill="${ERROR_FILL}" opacity="0.7"/>`,
    );
  }
  return bands;
};

interface LegendItem {
  readonly label: string;
  readonly colour: string;
  readonly dashed: boolean;
  readonly width: number;
}

/** Right-aligned from `right`, last item first; widths estimated at 7 px per character. */
const legend = (items: readonly LegendItem[], right: number, y: number): string => {
  let x = right;
  const parts: string[] = [];
  for (const item of [...items].reverse()) {
    x -= item.label.length * 7;
    parts.push(text(x, y + 4, item.label, 'font-size="12" fill="#333"'));
    parts.push(
      `<line x1="${round1(x - 30)}" y1="${y}" x2="${round1(x - 6)}" y2="${y}" stroke="${item.colour}" ` +
        `stroke-width="${item.width}"${item.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    x -= 30 + 20;
  }
  return parts.join('\n');
};

interface Frame {
  readonly top: number;
  readonly height: number;
  readonly title: string;
  readonly legend: readonly LegendItem[];
  readonly ticks: readonly number[];
  readonly timeTicks: readonly number[];
  readonly x: (t: number) => number;
}

/** Panel title, legend, grid lines and y tick labels. */
const frame = (f: Frame): string => {
  const bottom = f.top + f.height;
  const max = f.ticks.at(-1) ?? 1;
  const y = (v: number) => bottom - (v / max) * f.height;
  const parts = [
    text(LEFT, f.top - 12, f.title, 'font-size="14" font-weight="600" fill="#222"'),
    legend(f.legend, LEFT + PLOT_WIDTH, f.top - 16),
    ...f.timeTicks.map(
      (t) =>
        `<line x1="${round1(f.x(t))}" y1="${f.top}" x2="${round1(f.x(t))}" y2="${bottom}" stroke="#eee"/>`,
    ),
    ...f.ticks.map(
      (v) =>
        `<line x1="${LEFT}" y1="${round1(y(v))}" x2="${LEFT + PLOT_WIDTH}" y2="${round1(y(v))}" stroke="#e2e2e2"/>\n` +
        text(LEFT - 8, y(v) + 4, label(v), 'font-size="12" fill="#555" text-anchor="end"'),
    ),
    `<rect x="${LEFT}" y="${f.top}" width="${PLOT_WIDTH}" height="${f.height}" fill="none" stroke="#999"/>`,
  ];
  return parts.join('\n');
};

/** The SVG document (UTF-8, standalone) for one simulation, or two compared. */
export const plotSvg = (input: PlotInput): string => {
  const names = runNames(input.runs.map((run) => run.file));
  const endT = plotEndT(input.trace);
  const time = timeTicks(endT);
  const x = (t: number) => LEFT + (t / endT) * PLOT_WIDTH;
  const panels = metricPanels(input);
  const replicas = input.runs.map((run) => run.replicas);

  const title =
    input.runs.length > 1
      ? `ebb simulate: ${input.traceFile} through ${names.join(' vs ')}`
      : `ebb simulate: ${input.traceFile} through ${names[0] ?? ''}`;
  const headerHeight = 40 + 18 * input.runs.length + 16;
  const body: string[] = [text(LEFT, 28, title, 'font-size="18" font-weight="700" fill="#111"')];
  input.runs.forEach((run, r) => {
    const y = 40 + 18 * r + 12;
    body.push(
      `<rect x="${LEFT}" y="${y - 9}" width="10" height="10" fill="${RUN_COLOURS[r % 2]}"/>`,
      text(LEFT + 16, y, `${names[r]}: ${behaviorSummary(run.spec)}`, 'font-size="12.5" fill="#333"'),
    );
  });

  let top = headerHeight + PANEL_HEADER;
  for (const panel of panels) {
    const ticks = valueTicks(Math.max(panel.metric.max, ...panel.capacity.map((c) => c.max)), false);
    const max = ticks.at(-1) ?? 1;
    const y = (v: number) => top + METRIC_HEIGHT - (v / max) * METRIC_HEIGHT;
    body.push(
      frame({
        top,
        height: METRIC_HEIGHT,
        title: panel.target === '' ? panel.name : `${panel.name} · ${panel.target}`,
        ticks,
        timeTicks: time.ticks,
        x,
        legend: [
          { label: 'metric (trace)', colour: METRIC_COLOUR, dashed: false, width: 2 },
          ...(panel.metric.points.some((p) => p.value === undefined)
            ? [{ label: 'failed read', colour: ERROR_FILL, dashed: false, width: 10 }]
            : []),
          ...panel.capacity.map((c) => ({
            label: c.label,
            colour: RUN_COLOURS[c.run % 2]!,
            dashed: true,
            width: 2,
          })),
        ],
      }),
    );
    body.push(...readErrorBands(panel.metric.points, endT, x, top));
    for (const c of panel.capacity) {
      body.push(
        seriesPath(
          c,
          endT,
          x,
          y,
          `stroke="${RUN_COLOURS[c.run % 2]}" stroke-width="2" stroke-dasharray="6 4" stroke-linejoin="round"`,
        ),
      );
    }
    body.push(seriesPath(panel.metric, endT, x, y, `stroke="${METRIC_COLOUR}" stroke-width="2.2"`));
    top += METRIC_HEIGHT + PANEL_GAP + PANEL_HEADER;
  }

  const most = Math.max(1, ...replicas.map((s) => s.max));
  const ticks = valueTicks(most, true);
  const max = ticks.at(-1) ?? 1;
  const y = (v: number) => top + REPLICAS_HEIGHT - (v / max) * REPLICAS_HEIGHT;
  body.push(
    frame({
      top,
      height: REPLICAS_HEIGHT,
      title: 'replicas',
      ticks,
      timeTicks: time.ticks,
      x,
      legend: replicas.map((s, r) => ({
        label: names[r] ?? s.name,
        colour: RUN_COLOURS[r % 2]!,
        dashed: false,
        width: 2.5,
      })),
    }),
  );
  replicas.forEach((s, r) => {
    // the second run is drawn slightly thinner so equal stretches show both colours
    const width = r === 0 ? 3.5 : 2;
    body.push(seriesPath(s, endT, x, y, `stroke="${RUN_COLOURS[r % 2]}" stroke-width="${width}"`));
  });
  const bottom = top + REPLICAS_HEIGHT;
  for (const t of time.ticks) {
    body.push(
      `<line x1="${round1(x(t))}" y1="${bottom}" x2="${round1(x(t))}" y2="${bottom + 5}" stroke="#999"/>`,
      text(
        x(t),
        bottom + 19,
        label(tidy(t / time.perUnit)),
        'font-size="12" fill="#555" text-anchor="middle"',
      ),
    );
  }
  body.push(
    text(
      LEFT + PLOT_WIDTH / 2,
      bottom + 38,
      `time since start (${time.unit})`,
      'font-size="12.5" fill="#333" text-anchor="middle"',
    ),
  );
  const height = bottom + AXIS_SPACE;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
};
