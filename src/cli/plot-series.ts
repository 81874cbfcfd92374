// The series `ebb simulate --plot` draws, fed one point at a time while the simulation runs, in
// memory bounded by the plot's width rather than by the number of polls.
//
// A series of at most EXACT_POINTS points is kept as it is. A longer one (a million polls) is
// downsampled with M4 (Jugel et al., "M4: A Visualization-Oriented Time Series Data
// Aggregation", VLDB 2014): per pixel column, the first, last, smallest and largest value, in
// the order they occurred, plus the first failed read and a failed read that ends the column.
// A line through those points covers the same pixels as a line through all of them, so a burst
// of one poll still shows as a spike to its full height. The CSV (without --plot) has every poll.
import type { SimulationPoll, SimulationStep } from '../scaling/simulate.ts';
import type { ScalingSpec } from '../scaling/types.ts';

type MetricType = 'AverageValue' | 'Value';

/** A point of a step series: the value holds from `t` to the next point (undefined: failed read). */
export interface SeriesPoint {
  readonly t: number;
  readonly value: number | undefined;
}

export interface Series {
  readonly name: string;
  readonly points: readonly SeriesPoint[];
  /** The largest value of all points fed (0 when none), for the value axis. */
  readonly max: number;
  /** How many points were fed, when `points` is their M4 downsample. */
  readonly sampledFrom?: number;
}

/** Pixel columns of a panel's plot area (plot.ts draws at this width). */
export const PLOT_COLUMNS = 900;
/** Series up to this many points are drawn exactly; longer ones are downsampled. */
export const EXACT_POINTS = 2 * PLOT_COLUMNS;

interface Candidate {
  readonly n: number;
  readonly t: number;
  readonly value: number | undefined;
}

/** Collects one series. `expected` (the number of points that will be fed) picks exact or M4. */
export class SeriesSampler {
  private readonly points: SeriesPoint[] = [];
  private readonly exact: boolean;
  private fed = 0;
  private max = 0;
  private column = -1;
  private first: Candidate | undefined;
  private low: Candidate | undefined;
  private high: Candidate | undefined;
  private last: Candidate | undefined;
  private firstGap: Candidate | undefined;
  private lastPoint: Candidate | undefined;

  constructor(
    private readonly name: string,
    expected: number,
    private readonly endT: number,
    private readonly columns = PLOT_COLUMNS,
  ) {
    this.exact = expected <= EXACT_POINTS;
  }

  add(t: number, value: number | undefined): void {
    const n = this.fed++;
    if (value !== undefined && value > this.max) this.max = value;
    if (this.exact) {
      this.points.push({ t, value });
      return;
    }
    // column = floor(t / endT × columns), the pixel column t is drawn in
    const column = Math.min(this.columns - 1, Math.floor((t / this.endT) * this.columns));
    if (column !== this.column) {
      this.flush();
      this.column = column;
    }
    const point = { n, t, value };
    this.lastPoint = point;
    if (value === undefined) {
      this.firstGap ??= point;
      return;
    }
    this.first ??= point;
    this.last = point;
    if (this.low === undefined || value < (this.low.value as number)) this.low = point;
    if (this.high === undefined || value > (this.high.value as number)) this.high = point;
  }

  series(): Series {
    this.flush();
    const { name, points, max } = this;
    return this.exact ? { name, points, max } : { name, points, max, sampledFrom: this.fed };
  }

  /** The column's candidates, each once, in the order they were fed. */
  private flush(): void {
    const picked = [this.first, this.low, this.high, this.last, this.firstGap, this.lastPoint]
      .filter((c): c is Candidate => c !== undefined)
      .sort((a, b) => a.n - b.n);
    let previous = -1;
    for (const c of picked) {
      if (c.n !== previous) this.points.push({ t: c.t, value: c.value });
      previous = c.n;
    }
    this.first = this.low = this.high = this.last = this.firstGap = this.lastPoint = undefined;
  }
}

/** One trigger of one run, as drawn in its metric panel. */
export interface TriggerPlot {
  readonly key: string;
  /** The panel: the trace column that drives the trigger, else the trigger's key. */
  readonly panel: string;
  /** From the first reading: what one replica absorbs, and how. */
  readonly target: number;
  readonly metricType: MetricType;
  /** The trigger's own readings, when a scaler read it (no trace column). */
  readonly metric: Series | undefined;
  /** target × replicas after each poll (AverageValue) or the target (Value); none with scalingModifiers. */
  readonly capacity: Series | undefined;
}

/** One ScaledObject's simulation of the trace, as the plot needs it. */
export interface SimulatedRun {
  /** The ScaledObject's file, as given on the command line. */
  readonly file: string;
  readonly spec: ScalingSpec;
  readonly triggers: readonly TriggerPlot[];
  readonly replicas: Series;
}

interface TriggerSamplers {
  readonly key: string;
  readonly panel: string;
  readonly target: number;
  readonly metricType: MetricType;
  readonly metric: SeriesSampler | undefined;
  readonly capacity: SeriesSampler | undefined;
}

/** Records one run poll by poll; `polls` is how many there will be, `endT` the time axis' end. */
export class RunRecorder {
  private readonly triggers = new Map<string, TriggerSamplers>();
  private readonly replicas: SeriesSampler;

  constructor(
    private readonly file: string,
    private readonly name: string,
    private readonly spec: ScalingSpec,
    /** Trigger key → the trace column that drives it. */
    private readonly columns: ReadonlyMap<string, string>,
    private readonly polls: number,
    private readonly endT: number,
  ) {
    this.replicas = new SeriesSampler(`replicas:${name}`, polls, endT);
  }

  add(poll: SimulationPoll, step: SimulationStep): void {
    for (const reading of poll.readings) {
      let trigger = this.triggers.get(reading.trigger);
      if (trigger === undefined) {
        const panel = this.columns.get(reading.trigger) ?? reading.trigger;
        trigger = {
          key: reading.trigger,
          panel,
          target: reading.target,
          metricType: reading.metricType,
          metric: this.columns.has(reading.trigger)
            ? undefined
            : new SeriesSampler(`metric:${panel}`, this.polls, this.endT),
          capacity:
            this.spec.modifiers === undefined
              ? new SeriesSampler(`capacity:${this.name}:${panel}`, this.polls, this.endT)
              : undefined,
        };
        this.triggers.set(reading.trigger, trigger);
      }
      trigger.metric?.add(poll.t, reading.ok ? reading.value : undefined);
      trigger.capacity?.add(
        poll.t,
        reading.metricType === 'Value' ? reading.target : reading.target * step.replicas,
      );
    }
    this.replicas.add(step.t, step.replicas);
  }

  run(): SimulatedRun {
    return {
      file: this.file,
      spec: this.spec,
      triggers: [...this.triggers.values()].map((t) => ({
        key: t.key,
        panel: t.panel,
        target: t.target,
        metricType: t.metricType,
        metric: t.metric?.series(),
        capacity: t.capacity?.series(),
      })),
      replicas: this.replicas.series(),
    };
  }
}
