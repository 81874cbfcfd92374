// A metrics trace for `ebb simulate`: CSV with the header `t,<trigger>,...`. `t` is seconds
// from the start (0 first, strictly increasing); each other column is one trigger's metric
// value from that `t` on, until the next row (a step function), a finite number >= 0 (a metric
// is never negative: a negative cell is refused with its line, not read as 0). A cell may say
// `error` for a failed read (to replay fallback); blank lines and lines starting with `#` are
// skipped.
import { fail, ok, type Result } from '../api/reasons.ts';

export const READ_ERROR = 'error';

/** A metric value, or a failed read. */
export type TraceValue = number | typeof READ_ERROR;

export interface TraceRow {
  readonly t: number;
  /** One value per column, in header order. */
  readonly values: readonly TraceValue[];
}

export interface Trace {
  /** The trigger columns (the header without `t`). */
  readonly columns: readonly string[];
  readonly rows: readonly TraceRow[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a trace; errors are `<file>:<line>: <what is wrong>`, one per broken line. */
export const parseTrace = (text: string, file: string): Result<Trace, string[]> => {
  const errors: string[] = [];
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), number: i + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'));
  const header = lines[0];
  if (header === undefined) return fail([`${file}: empty trace, expected a header "t,<trigger>,..."`]);
  const names = header.line.split(',').map((c) => c.trim());
  if (names[0] !== 't') {
    errors.push(
      `${file}:${header.number}: the first column must be "t" (seconds from the start), got "${names[0]}"`,
    );
  }
  const columns = names.slice(1);
  columns.forEach((name, i) => {
    if (name === '') errors.push(`${file}:${header.number}: column ${i + 2} has no name`);
    else if (columns.indexOf(name) !== i)
      errors.push(`${file}:${header.number}: column "${name}" appears twice`);
  });

  const rows: TraceRow[] = [];
  for (const { line, number } of lines.slice(1)) {
    const at = `${file}:${number}`;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== names.length) {
      errors.push(`${at}: expected ${names.length} values (${names.join(',')}), got ${cells.length}`);
      continue;
    }
    const [tCell = '', ...valueCells] = cells;
    const t = NUMBER.test(tCell) ? Number(tCell) : Number.NaN;
    const previous = rows.at(-1);
    if (!Number.isFinite(t) || t < 0) {
      errors.push(`${at}: t must be a number of seconds >= 0, got "${tCell}"`);
      continue;
    }
    if (previous === undefined && t !== 0) errors.push(`${at}: the first row must be at t = 0, got ${t}`);
    if (previous !== undefined && t <= previous.t) {
      errors.push(`${at}: t must increase from row to row, got ${t} after ${previous.t}`);
      continue;
    }
    const values: TraceValue[] = [];
    valueCells.forEach((cell, i) => {
      if (cell.toLowerCase() === READ_ERROR) values.push(READ_ERROR);
      else if (!NUMBER.test(cell) || !Number.isFinite(Number(cell)))
        errors.push(`${at}: ${columns[i]}: must be a number or "${READ_ERROR}", got "${cell}"`);
      else if (Number(cell) < 0)
        errors.push(
          `${at}: ${columns[i]}: must be a number >= 0 (a metric is never negative), got "${cell}"`,
        );
      else values.push(Number(cell));
    });
    rows.push({ t, values });
  }
  if (errors.length === 0 && rows.length === 0) errors.push(`${file}: the trace has a header but no rows`);
  return errors.length > 0 ? fail(errors) : ok({ columns, rows });
};

/** The row in force at `t`: the last one at or before it (a step function); binary search. */
export const rowAt = (trace: Trace, t: number): TraceRow | undefined => {
  let lo = 0;
  let hi = trace.rows.length - 1;
  let found: TraceRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const row = trace.rows[mid]!;
    if (row.t <= t) {
      found = row;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
};
