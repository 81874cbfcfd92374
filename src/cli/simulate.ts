// `ebb simulate --scaledobject FILE --metrics TRACE.csv`: replays a metrics trace through the
// scaling core (src/scaling/simulate.ts, the same decide() the controller runs) and prints
// `t,replicas,active` for every poll at t = 0, p, 2p, ... (p = pollingInterval) up to the
// trace's last t. Replicas are ready at once.
//
// Columns are matched to triggers by `name`, or for an unnamed trigger by its metric name
// (`s0-cron-...`) or its `type`. A column value is the trigger's metric; it is active above the
// trigger's activation threshold (0 unless its scaler registers one), and `error` is a failed
// read. A trigger without a column is read by its own scaler at start + t when it needs nothing
// but the clock (cron); any other trigger without a column is an error.
//
// `--plot FILE.svg` writes the simulation as an SVG (src/cli/plot.ts) instead of printing the
// CSV, and prints the file's path; `--compare OTHER.yaml` (only with --plot) replays the same
// trace through a second ScaledObject and draws both.
//
// Bounded work: the ScaledObject file within MANIFEST_LIMITS, the trace within TRACE_LIMITS
// (streamed into one array of numbers per column), at most MAX_POLLS polls. Polls are decided
// one at a time and not kept: each CSV line is written as it is decided, and the plot keeps a
// downsample per series (plot-series.ts); memory does not grow with the number of polls.

import { writeFile } from 'node:fs/promises';
import { createScalerDeps, type ResolvedTrigger } from '../../scalers/index.ts';
import { type Problem, type ReadErrorReason, TriggerError } from '../api/reasons.ts';
import { KIND } from '../api/scaledobject.ts';
import { admitScaledObject } from '../controller/admission.ts';
import type { Scaler } from '../scaler.ts';
import { triggerReading } from '../scaling/readings.ts';
import { type SimulationPoll, type SimulationStep, simulation } from '../scaling/simulate.ts';
import type { ScalingSpec, TriggerReading } from '../scaling/types.ts';
import { describeManifestReadError, kindOf, MANIFEST_LIMITS, yamlDocuments } from './documents.ts';
import { type CliIO, chunksOf, describeError, writeDrained } from './io.ts';
import { plotEndT, plotSvg, runNames } from './plot.ts';
import { RunRecorder, type SimulatedRun } from './plot-series.ts';
import { describeTraceReadError, TRACE_LIMITS, type Trace, TraceReader, valueAt } from './trace.ts';
import { problemLine } from './validate.ts';

export interface SimulateOptions {
  readonly scaledObjectFile: string;
  readonly traceFile: string;
  /** Replicas before the first poll; default: the ScaledObject's minimum. */
  readonly initialReplicas: number | undefined;
  /** The wall-clock time of t = 0 (cron triggers read it). */
  readonly start: Date;
  /** Adds an `explanation` column: why each decision was made. */
  readonly explain?: boolean;
  /** Write an SVG plot to this file instead of printing the CSV. */
  readonly plot?: string | undefined;
  /** A second ScaledObject file: the same trace through it, drawn beside (needs `plot`). */
  readonly compare?: string | undefined;
}

/** Writes a UTF-8 file (tests pass their own). */
export type WriteText = (file: string, text: string) => Promise<void>;

const writeUtf8: WriteText = (file, text) => writeFile(file, text, 'utf8');

/** Where a trigger's readings come from: a trace column, or its own scaler on the trace clock. */
export type ReadingSource =
  | { readonly trigger: ResolvedTrigger; readonly column: number }
  | { readonly trigger: ResolvedTrigger; readonly scaler: Scaler };

/** At most this many polls (a day at 1 s is 86 400; 1,000,000 at 1 s is 11.6 days). */
export const MAX_POLLS = 1_000_000;

type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: string[] };

const describeTrigger = (t: ResolvedTrigger): string =>
  `spec.triggers[${t.index}] (${t.trigger.type}${t.trigger.name ? ` "${t.trigger.name}"` : ''})`;

/** The triggers a column header names: by `name`, else unnamed ones by metric name, else by type. */
const triggersNamedBy = (header: string, triggers: readonly ResolvedTrigger[]): ResolvedTrigger[] => {
  const byName = triggers.filter((t) => t.trigger.name === header);
  if (byName.length > 0) return byName;
  const unnamed = triggers.filter((t) => t.trigger.name === undefined || t.trigger.name === '');
  const byMetric = unnamed.filter((t) => t.metric.name === header);
  return byMetric.length > 0 ? byMetric : unnamed.filter((t) => t.trigger.type === header);
};

/** Matches trace columns to triggers; every trigger needs a column or an offline scaler. */
export const readingSources = (
  triggers: readonly ResolvedTrigger[],
  columns: readonly string[],
  traceFile: string,
): Outcome<ReadingSource[]> => {
  const errors: string[] = [];
  const columnOf = new Map<ResolvedTrigger, number>();
  columns.forEach((header, column) => {
    const named = triggersNamedBy(header, triggers);
    if (named.length === 0) {
      const known = triggers.map((t) => t.key).join(', ');
      errors.push(`${traceFile}: column "${header}" names no trigger (known: ${known})`);
    } else if (named.length > 1) {
      errors.push(
        `${traceFile}: column "${header}" matches ${named.length} triggers (${named.map(describeTrigger).join(', ')}); give them names`,
      );
    } else {
      const [trigger] = named as [ResolvedTrigger];
      const previous = columnOf.get(trigger);
      if (previous !== undefined) {
        errors.push(
          `${traceFile}: columns "${columns[previous]}" and "${header}" both name ${describeTrigger(trigger)}`,
        );
      } else columnOf.set(trigger, column);
    }
  });
  const sources: ReadingSource[] = [];
  // Offline triggers only (cron): no pool is ever opened.
  const deps = createScalerDeps();
  for (const trigger of triggers) {
    const column = columnOf.get(trigger);
    if (column !== undefined) sources.push({ trigger, column });
    else if (trigger.offline) sources.push({ trigger, scaler: trigger.create(deps) });
    else {
      errors.push(
        `${traceFile}: no column for ${describeTrigger(trigger)}, which cannot be evaluated offline; add a column "${trigger.key}"`,
      );
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: sources };
};

const failedReading = (
  trigger: ResolvedTrigger,
  reason: ReadErrorReason,
  message: string,
): TriggerReading => ({
  ok: false,
  trigger: trigger.key,
  metricName: trigger.metric.name,
  target: trigger.metric.target,
  metricType: trigger.metric.metricType,
  reason,
  message,
});

/** A value through the same boundary as the controller's (src/scaling/readings.ts). */
const reading = (trigger: ResolvedTrigger, value: number, active: boolean): TriggerReading =>
  triggerReading(
    {
      trigger: trigger.key,
      metricName: trigger.metric.name,
      target: trigger.metric.target,
      metricType: trigger.metric.metricType,
    },
    value,
    active,
  );

/** Every trigger's reading at trace time `t` (seconds), in spec order. */
export const readingsAt = async (
  sources: readonly ReadingSource[],
  trace: Trace,
  t: number,
  startMs: number,
  signal: AbortSignal,
): Promise<TriggerReading[]> =>
  Promise.all(
    sources.map(async (source): Promise<TriggerReading> => {
      const { trigger } = source;
      if ('scaler' in source) {
        const read = await source.scaler.read(new Date(startMs + t * 1000), signal);
        return read.ok
          ? reading(trigger, read.value.value, read.value.active)
          : failedReading(trigger, read.error.reason, read.error.message);
      }
      const value = valueAt(trace, source.column, t);
      if (value === undefined || Number.isNaN(value)) {
        return failedReading(trigger, TriggerError, `the trace says the read failed at t=${t}`);
      }
      return reading(trigger, value, value > trigger.activationThreshold);
    }),
  );

const csvField = (text: string): string => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

const readScaledObject = async (
  file: string,
  io: CliIO,
): Promise<Outcome<{ doc: number; value: unknown }>> => {
  let text: string;
  try {
    text = await io.readText(file, MANIFEST_LIMITS.fileBytes);
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read: ${describeManifestReadError(error)}`] };
  }
  const broken: string[] = [];
  const objects: { doc: number; value: unknown }[] = [];
  for (const d of yamlDocuments(text)) {
    if (!d.ok) broken.push(`${file}:${d.doc}: ${d.message}`);
    else if (kindOf(d.value) === undefined || kindOf(d.value) === KIND) objects.push(d);
  }
  if (broken.length > 0) return { ok: false, errors: broken };
  const [object] = objects;
  if (object === undefined || objects.length > 1) {
    return { ok: false, errors: [`${file}: expected one ScaledObject, found ${objects.length}`] };
  }
  return { ok: true, value: object };
};

/** Streams the trace into a TraceReader; stops reading when the reader stops (errors, a limit). */
const readTrace = async (file: string, io: CliIO): Promise<Outcome<Trace>> => {
  const reader = new TraceReader(file);
  try {
    for await (const chunk of chunksOf(io, file, TRACE_LIMITS.bytes)) {
      reader.push(chunk);
      if (!reader.reading) break;
    }
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read: ${describeTraceReadError(error)}`] };
  }
  const trace = reader.end();
  return trace.ok ? trace : { ok: false, errors: trace.error };
};

/** Flag combinations that cannot work, each naming its flag. */
const flagErrors = (options: SimulateOptions): string[] => {
  const errors: string[] = [];
  if (options.compare !== undefined && options.plot === undefined) {
    errors.push('--compare: needs --plot FILE.svg (the comparison is drawn, not printed)');
  }
  if (options.plot !== undefined && !/\.svg$/i.test(options.plot)) {
    errors.push(`--plot: must name a .svg file, got "${options.plot}"`);
  }
  if (options.plot !== undefined && options.explain === true) {
    errors.push('--explain: adds a column to the CSV, which --plot does not print');
  }
  return errors;
};

interface AdmittedObject {
  readonly file: string;
  readonly spec: ScalingSpec;
  readonly triggers: readonly ResolvedTrigger[];
}

/** Reads and admits a ScaledObject file as the controller would. */
const loadScaledObject = async (file: string, io: CliIO): Promise<Outcome<AdmittedObject>> => {
  const document = await readScaledObject(file, io);
  if (!document.ok) return document;
  const problemsAt = (problems: readonly Problem[]) => ({
    ok: false as const,
    errors: problems.map((p) => problemLine(file, document.value.doc, p)),
  });
  const admission = admitScaledObject(document.value.value);
  if (!admission.ok) return problemsAt(admission.problems);
  return { ok: true, value: { file, spec: admission.spec, triggers: admission.triggers } };
};

/** How one admitted ScaledObject reads the trace: its reading sources and its polls. */
interface Replay {
  readonly object: AdmittedObject;
  readonly sources: readonly ReadingSource[];
  /** Polls at t = 0, p, 2p, ... up to the trace's last t. */
  readonly polls: number;
  /** Trigger key → the trace column that drives it. */
  readonly columns: ReadonlyMap<string, string>;
}

const planReplay = (object: AdmittedObject, trace: Trace, traceFile: string): Outcome<Replay> => {
  const sources = readingSources(object.triggers, trace.columns, traceFile);
  if (!sources.ok) return sources;
  const lastT = trace.times[trace.length - 1] ?? 0;
  const interval = object.spec.pollingIntervalSeconds;
  const polls = Math.floor(lastT / interval) + 1;
  if (polls > MAX_POLLS) {
    return {
      ok: false,
      errors: [
        `${traceFile}: ${lastT} s at a ${interval} s polling interval is ${polls} polls, more than the ${MAX_POLLS} ebb simulate runs; shorten the trace or poll less often`,
      ],
    };
  }
  const columns = new Map(
    sources.value.flatMap((s) => ('column' in s ? [[s.trigger.key, trace.columns[s.column] ?? '']] : [])),
  );
  return { ok: true, value: { object, sources: sources.value, polls, columns } };
};

/** Decides every poll in turn and hands it to `onStep`; nothing is kept here. */
const replay = async (
  plan: Replay,
  trace: Trace,
  options: SimulateOptions,
  onStep: (poll: SimulationPoll, step: SimulationStep) => Promise<void> | undefined,
): Promise<void> => {
  const { spec } = plan.object;
  const startMs = options.start.getTime();
  const step = simulation(spec, options.initialReplicas ?? spec.minReplicas, startMs);
  const signal = new AbortController().signal;
  try {
    for (let k = 0; k < plan.polls; k++) {
      const t = k * spec.pollingIntervalSeconds;
      const poll = { t, readings: await readingsAt(plan.sources, trace, t, startMs, signal) };
      const written = onStep(poll, step(poll));
      if (written !== undefined) await written;
    }
  } finally {
    await Promise.all(plan.sources.map((s) => ('scaler' in s ? s.scaler.close() : undefined)));
  }
};

/**
 * Buffers CSV lines and writes them in 64 KB pieces; a piece the output has to queue (a pipe to
 * a slower reader) is waited for, so the simulation never runs ahead of its reader in memory.
 */
const csvWriter = (io: CliIO) => {
  let buffer = '';
  return {
    line(text: string): Promise<void> | undefined {
      buffer += `${text}\n`;
      if (buffer.length < 65_536) return undefined;
      const written = writeDrained(io.stdout, buffer);
      buffer = '';
      return written;
    },
    async flush(): Promise<void> {
      if (buffer !== '') await writeDrained(io.stdout, buffer);
      buffer = '';
    },
  };
};

/** The trace through one ScaledObject, recorded for the plot. */
const record = async (
  plan: Replay,
  name: string,
  trace: Trace,
  options: SimulateOptions,
): Promise<SimulatedRun> => {
  const { file, spec } = plan.object;
  const recorder = new RunRecorder(file, name, spec, plan.columns, plan.polls, plotEndT(trace));
  await replay(plan, trace, options, (poll, step) => {
    recorder.add(poll, step);
    return undefined;
  });
  return recorder.run();
};

/**
 * Runs `ebb simulate`; returns the exit code. Errors go to stderr; the CSV, or with `--plot` the
 * SVG file's path, to stdout.
 */
export const runSimulate = async (
  options: SimulateOptions,
  io: CliIO,
  write: WriteText = writeUtf8,
): Promise<number> => {
  const stop = (errors: readonly string[]): number => {
    for (const line of errors) io.stderr.write(`${line}\n`);
    return 1;
  };
  const misuse = flagErrors(options);
  if (misuse.length > 0) return stop(misuse);

  // The ScaledObject is read before the trace so its problems come first.
  const object = await loadScaledObject(options.scaledObjectFile, io);
  if (!object.ok) return stop(object.errors);
  const trace = await readTrace(options.traceFile, io);
  if (!trace.ok) return stop(trace.errors);
  const plan = planReplay(object.value, trace.value, options.traceFile);
  if (!plan.ok) return stop(plan.errors);

  if (options.plot === undefined) {
    const explain = options.explain === true;
    const csv = csvWriter(io);
    csv.line(explain ? 't,replicas,active,explanation' : 't,replicas,active');
    await replay(plan.value, trace.value, options, (_poll, row) => {
      const base = `${row.t},${row.replicas},${row.active}`;
      return csv.line(explain ? `${base},${csvField(row.decision.explanation)}` : base);
    });
    await csv.flush();
    return 0;
  }

  const names = runNames([
    options.scaledObjectFile,
    ...(options.compare === undefined ? [] : [options.compare]),
  ]);
  const runs = [await record(plan.value, names[0] ?? '', trace.value, options)];
  if (options.compare !== undefined) {
    const compare = await loadScaledObject(options.compare, io);
    const other = compare.ok ? planReplay(compare.value, trace.value, options.traceFile) : compare;
    if (!other.ok) return stop(other.errors.map((line) => `--compare: ${line}`));
    runs.push(await record(other.value, names[1] ?? '', trace.value, options));
  }
  const svg = plotSvg({ traceFile: options.traceFile, trace: trace.value, runs });
  try {
    await write(options.plot, svg);
  } catch (error) {
    return stop([`--plot: cannot write ${options.plot}: ${describeError(error)}`]);
  }
  io.stdout.write(`${options.plot}\n`);
  return 0;
};
