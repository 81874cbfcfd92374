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

import { writeFile } from 'node:fs/promises';
import { createScalerDeps, type ResolvedTrigger } from '../../scalers/index.ts';
import { type Problem, type ReadErrorReason, TriggerError } from '../api/reasons.ts';
import { KIND } from '../api/scaledobject.ts';
import { admitScaledObject } from '../controller/admission.ts';
import type { Scaler } from '../scaler.ts';
import { triggerReading } from '../scaling/readings.ts';
import { type SimulationPoll, simulate } from '../scaling/simulate.ts';
import type { ScalingSpec, TriggerReading } from '../scaling/types.ts';
import { kindOf, yamlDocuments } from './documents.ts';
import { type CliIO, describeError } from './io.ts';
import { plotSvg, type SimulatedRun } from './plot.ts';
import { parseTrace, READ_ERROR, rowAt, type Trace } from './trace.ts';
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

/** At most this many polls (a day at 1 s is 86 400). */
const MAX_POLLS = 1_000_000;

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
      const value = rowAt(trace, t)?.values[source.column];
      if (value === undefined || value === READ_ERROR) {
        return failedReading(trigger, TriggerError, `the trace says the read failed at t=${t}`);
      }
      return reading(trigger, value, value > trigger.activationThreshold);
    }),
  );

/** Poll times t = 0, p, 2p, ... up to the trace's last t. */
export const pollTimes = (lastT: number, pollingIntervalSeconds: number): number[] => {
  const count = Math.floor(lastT / pollingIntervalSeconds) + 1;
  return Array.from({ length: Math.min(count, MAX_POLLS) }, (_, k) => k * pollingIntervalSeconds);
};

const csvField = (text: string): string => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

const readScaledObject = async (
  file: string,
  io: CliIO,
): Promise<Outcome<{ doc: number; value: unknown }>> => {
  let text: string;
  try {
    text = await io.readText(file);
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read: ${describeError(error)}`] };
  }
  const documents = yamlDocuments(text);
  const broken = documents.flatMap((d) => (d.ok ? [] : [`${file}:${d.doc}: invalid YAML: ${d.message}`]));
  if (broken.length > 0) return { ok: false, errors: broken };
  const objects = documents.flatMap((d) => {
    if (!d.ok) return [];
    const kind = kindOf(d.value);
    return kind === undefined || kind === KIND ? [{ doc: d.doc, value: d.value }] : [];
  });
  const [object] = objects;
  if (object === undefined || objects.length > 1) {
    return { ok: false, errors: [`${file}: expected one ScaledObject, found ${objects.length}`] };
  }
  return { ok: true, value: object };
};

const readTrace = async (file: string, io: CliIO): Promise<Outcome<Trace>> => {
  let text: string;
  try {
    text = await io.readText(file);
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot read: ${describeError(error)}`] };
  }
  const trace = parseTrace(text, file);
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

/** The trace through one admitted ScaledObject: reading sources, polls, decisions. */
const replay = async (
  object: AdmittedObject,
  trace: Trace,
  options: SimulateOptions,
): Promise<Outcome<SimulatedRun>> => {
  const { file, spec } = object;
  const sources = readingSources(object.triggers, trace.columns, options.traceFile);
  if (!sources.ok) return sources;

  const lastT = trace.rows.at(-1)?.t ?? 0;
  const interval = spec.pollingIntervalSeconds;
  if (lastT / interval >= MAX_POLLS) {
    return {
      ok: false,
      errors: [
        `${options.traceFile}: ${lastT} s at a ${interval} s polling interval is more than ${MAX_POLLS} polls`,
      ],
    };
  }
  const startMs = options.start.getTime();
  const signal = new AbortController().signal;
  const polls: SimulationPoll[] = [];
  try {
    for (const t of pollTimes(lastT, interval)) {
      polls.push({ t, readings: await readingsAt(sources.value, trace, t, startMs, signal) });
    }
  } finally {
    await Promise.all(sources.value.map((s) => ('scaler' in s ? s.scaler.close() : undefined)));
  }
  const steps = simulate(spec, {
    initialReplicas: options.initialReplicas ?? spec.minReplicas,
    polls,
    startMs,
  });
  const columns = new Map(
    sources.value.flatMap((s) => ('column' in s ? [[s.trigger.key, trace.columns[s.column] ?? '']] : [])),
  );
  return { ok: true, value: { file, spec, polls, steps, columns } };
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
  const run = await replay(object.value, trace.value, options);
  if (!run.ok) return stop(run.errors);

  if (options.plot === undefined) {
    const explain = options.explain === true;
    io.stdout.write(explain ? 't,replicas,active,explanation\n' : 't,replicas,active\n');
    for (const row of run.value.steps) {
      const base = `${row.t},${row.replicas},${row.active}`;
      io.stdout.write(explain ? `${base},${csvField(row.decision.explanation)}\n` : `${base}\n`);
    }
    return 0;
  }

  const runs = [run.value];
  if (options.compare !== undefined) {
    const compare = await loadScaledObject(options.compare, io);
    const other = compare.ok ? await replay(compare.value, trace.value, options) : compare;
    if (!other.ok) return stop(other.errors.map((line) => `--compare: ${line}`));
    runs.push(other.value);
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
