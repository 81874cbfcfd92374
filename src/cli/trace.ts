// A metrics trace for `ebb simulate`: CSV with the header `t,<trigger>,...`. `t` is seconds
// from the start (0 first, strictly increasing); each other column is one trigger's metric
// value from that `t` on, until the next row (a step function), a finite number >= 0 (a metric
// is never negative: a negative cell is refused with its line, not read as 0). A cell may say
// `error` for a failed read (to replay fallback); blank lines and lines starting with `#` are
// skipped.
//
// Read as a stream, line by line, into one Float64Array per column (8 bytes a value, no object
// per row), within TRACE_LIMITS; the first MAX_ERRORS broken lines are reported, then reading stops.

import { fail, ok, type Result } from '../api/reasons.ts';
import { MAX_TRIGGERS } from '../api/scaledobject.ts';
import { describeError, InputTooLarge } from './io.ts';

export const READ_ERROR = 'error';

export const TRACE_LIMITS = {
  /** Bytes in the file, checked from its size before reading. */
  bytes: 64 * 1024 * 1024,
  /** Characters in one line. */
  lineChars: 64 * 1024,
  /** Rows: as many as `ebb simulate` polls at most. */
  rows: 1_000_000,
  /** Value columns: a column names a trigger, and a ScaledObject has at most MAX_TRIGGERS. */
  columns: MAX_TRIGGERS,
  /** Values (rows × value columns): 32 MB of numbers. */
  values: 4_000_000,
} as const;

export type TraceLimits = { readonly [K in keyof typeof TRACE_LIMITS]: number };

/** Broken lines reported before reading stops. */
const MAX_ERRORS = 20;

export interface Trace {
  /** The trigger columns (the header without `t`). */
  readonly columns: readonly string[];
  /** Rows read. */
  readonly length: number;
  /** Each row's `t` in seconds, increasing. */
  readonly times: Float64Array;
  /** Per column, each row's value; NaN is a failed read (`error`). */
  readonly values: readonly Float64Array[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const grown = (array: Float64Array<ArrayBuffer>, length: number): Float64Array<ArrayBuffer> => {
  if (length <= array.length) return array;
  const bigger = new Float64Array(Math.max(length, array.length * 2));
  bigger.set(array);
  return bigger;
};

/** A trace read chunk by chunk: `push` each chunk of text, then `end`. */
export class TraceReader {
  private readonly errors: string[] = [];
  private carry = '';
  private lineNumber = 0;
  private names: string[] | undefined;
  private columns: string[] = [];
  private length = 0;
  private times: Float64Array<ArrayBuffer> = new Float64Array(1024);
  private values: Float64Array<ArrayBuffer>[] = [];
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly limits: TraceLimits = TRACE_LIMITS,
  ) {}

  /** False once reading has stopped (too many errors, or a limit): the caller may stop reading. */
  get reading(): boolean {
    return !this.stopped;
  }

  push(chunk: string): void {
    let text = this.carry + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1 && !this.stopped; end = text.indexOf('\n', start)) {
      this.line(text.slice(start, end));
      start = end + 1;
    }
    text = text.slice(start);
    if (!this.stopped && text.length > this.limits.lineChars) {
      this.stop(
        `${this.file}:${this.lineNumber + 1}: a line longer than ${this.limits.lineChars} characters, the most a trace line may have`,
      );
    }
    this.carry = this.stopped ? '' : text;
  }

  end(): Result<Trace, string[]> {
    if (!this.stopped && this.carry !== '') this.line(this.carry);
    this.carry = '';
    const { errors, file } = this;
    if (this.names === undefined && errors.length === 0)
      return fail([`${file}: empty trace, expected a header "t,<trigger>,..."`]);
    if (errors.length === 0 && this.length === 0) errors.push(`${file}: the trace has a header but no rows`);
    if (errors.length > 0) return fail(errors);
    return ok({
      columns: this.columns,
      length: this.length,
      times: this.times.subarray(0, this.length),
      values: this.values.map((v) => v.subarray(0, this.length)),
    });
  }

  private error(message: string): void {
    this.errors.push(message);
    if (this.errors.length >= MAX_ERRORS)
      this.stop(`${this.file}: stopped reading after ${MAX_ERRORS} errors`);
  }

  private stop(message: string): void {
    if (this.stopped) return;
    this.errors.push(message);
    this.stopped = true;
  }

  private line(raw: string): void {
    const number = ++this.lineNumber;
    const line = raw.trim(); // also drops the \r of \r\n
    if (line === '' || line.startsWith('#')) return;
    if (this.names === undefined) this.header(line, number);
    else this.row(line, number);
  }

  private header(line: string, number: number): void {
    const names = line.split(',').map((c) => c.trim());
    this.names = names;
    const at = `${this.file}:${number}`;
    if (names[0] !== 't')
      this.error(`${at}: the first column must be "t" (seconds from the start), got "${names[0]}"`);
    const columns = names.slice(1);
    if (columns.length > this.limits.columns) {
      this.stop(
        `${at}: ${columns.length} columns, more than ${this.limits.columns} (a column names a trigger, and a ScaledObject has at most ${MAX_TRIGGERS})`,
      );
      return;
    }
    columns.forEach((name, i) => {
      if (name === '') this.error(`${at}: column ${i + 2} has no name`);
      else if (columns.indexOf(name) !== i) this.error(`${at}: column "${name}" appears twice`);
    });
    this.columns = columns;
    this.values = columns.map(() => new Float64Array(1024));
  }

  private row(line: string, number: number): void {
    const names = this.names ?? [];
    const at = `${this.file}:${number}`;
    const cells = line.split(',');
    if (cells.length !== names.length) {
      this.error(`${at}: expected ${names.length} values (${names.join(',')}), got ${cells.length}`);
      return;
    }
    const tCell = cells[0]?.trim() ?? '';
    const t = NUMBER.test(tCell) ? Number(tCell) : Number.NaN;
    const previous = this.length > 0 ? this.times[this.length - 1] : undefined;
    if (!Number.isFinite(t) || t < 0) {
      this.error(`${at}: t must be a number of seconds >= 0, got "${tCell}"`);
      return;
    }
    if (previous === undefined && t !== 0) this.error(`${at}: the first row must be at t = 0, got ${t}`);
    if (previous !== undefined && t <= previous) {
      this.error(`${at}: t must increase from row to row, got ${t} after ${previous}`);
      return;
    }
    if (this.length >= this.limits.rows) {
      this.stop(
        `${at}: more than ${this.limits.rows} rows, the most a trace may have; record at a coarser step`,
      );
      return;
    }
    if ((this.length + 1) * this.columns.length > this.limits.values) {
      this.stop(
        `${at}: more than ${this.limits.values} values (rows × columns), the most a trace may have; record at a coarser step or fewer columns`,
      );
      return;
    }
    const row = this.length;
    this.times = grown(this.times, row + 1);
    this.times[row] = t;
    for (let i = 1; i < cells.length; i++) {
      const cell = cells[i]?.trim() ?? '';
      const value = cellValue(cell);
      if (value === undefined)
        this.error(`${at}: ${this.columns[i - 1]}: must be a number or "${READ_ERROR}", got "${cell}"`);
      else if (value < 0)
        this.error(
          `${at}: ${this.columns[i - 1]}: must be a number >= 0 (a metric is never negative), got "${cell}"`,
        );
      const column = grown(this.values[i - 1] as Float64Array<ArrayBuffer>, row + 1);
      this.values[i - 1] = column;
      column[row] = value ?? Number.NaN;
    }
    this.length++;
  }
}

/** A cell's value: a finite number, NaN for `error`, undefined when it is neither. */
const cellValue = (cell: string): number | undefined => {
  if (cell.toLowerCase() === READ_ERROR) return Number.NaN;
  const value = NUMBER.test(cell) ? Number(cell) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
};

/** Parses a whole trace; errors are `<file>:<line>: <what is wrong>`, one per broken line. */
export const parseTrace = (text: string, file: string, limits?: TraceLimits): Result<Trace, string[]> => {
  const reader = new TraceReader(file, limits);
  reader.push(text);
  return reader.end();
};

/** Why a trace file was not read, with what to do. */
export const describeTraceReadError = (error: unknown): string =>
  error instanceof InputTooLarge
    ? `${error.message}, the most a trace may have; record at a coarser step`
    : describeError(error);

/** The index of the row in force at `t`: the last one at or before it (a step function); -1 before the first. */
export const rowAt = (trace: Trace, t: number): number => {
  let lo = 0;
  let hi = trace.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((trace.times[mid] as number) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
};

/** Column `column`'s value in force at `t`: a number, NaN for a failed read, undefined before the first row. */
export const valueAt = (trace: Trace, column: number, t: number): number | undefined => {
  const row = rowAt(trace, t);
  return row < 0 ? undefined : trace.values[column]?.[row];
};
