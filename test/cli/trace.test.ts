import { describe, expect, it } from 'vitest';
import { parseTrace, rowAt, type Trace, valueAt } from '../../src/cli/trace.ts';

/** The trace as rows, `error` for a failed read. */
const rowsOf = (trace: Trace) =>
  Array.from(trace.times, (t, row) => ({
    t,
    values: trace.values.map((column) => (Number.isNaN(column[row]) ? 'error' : column[row])),
  }));

describe('parseTrace', () => {
  it('reads a header, numbers, failed reads, comments and blank lines', () => {
    const trace = parseTrace(
      '# lag per trigger\nt, orders ,payments\r\n0,0,1.5\n\n60,120,error\n90,1e3,0',
      'tr.csv',
    );
    if (!trace.ok) throw new Error(trace.error.join('\n'));
    expect(trace.value.columns).toEqual(['orders', 'payments']);
    expect(rowsOf(trace.value)).toEqual([
      { t: 0, values: [0, 1.5] },
      { t: 60, values: [120, 'error'] },
      { t: 90, values: [1000, 0] },
    ]);
  });

  it.each([
    {
      label: 'an empty file',
      text: '',
      errors: ['tr.csv: empty trace, expected a header "t,<trigger>,..."'],
    },
    { label: 'a header only', text: 't,orders\n', errors: ['tr.csv: the trace has a header but no rows'] },
    {
      label: 'a first column that is not t',
      text: 'time,orders\n0,1\n',
      errors: ['tr.csv:1: the first column must be "t" (seconds from the start), got "time"'],
    },
    { label: 'a column twice', text: 't,a,a\n0,1,2\n', errors: ['tr.csv:1: column "a" appears twice'] },
    { label: 'an unnamed column', text: 't,,b\n0,1,2\n', errors: ['tr.csv:1: column 2 has no name'] },
    {
      label: 'a short row',
      text: 't,a,b\n0,1\n',
      errors: ['tr.csv:2: expected 3 values (t,a,b), got 2'],
    },
    {
      label: 'a first row after 0',
      text: 't,a\n5,1\n',
      errors: ['tr.csv:2: the first row must be at t = 0, got 5'],
    },
    {
      label: 't going back',
      text: 't,a\n0,1\n30,2\n30,3\n',
      errors: ['tr.csv:4: t must increase from row to row, got 30 after 30'],
    },
    {
      label: 'a negative t',
      text: 't,a\n-1,1\n',
      errors: ['tr.csv:2: t must be a number of seconds >= 0, got "-1"'],
    },
    {
      label: 'a value that is not a number',
      text: 't,a\n0,lots\n10,NaN\n',
      errors: [
        'tr.csv:2: a: must be a number or "error", got "lots"',
        'tr.csv:3: a: must be a number or "error", got "NaN"',
      ],
    },
    {
      label: 'a negative value',
      text: 't,a,b\n0,1,0\n10,-2,-0.5\n',
      errors: [
        'tr.csv:3: a: must be a number >= 0 (a metric is never negative), got "-2"',
        'tr.csv:3: b: must be a number >= 0 (a metric is never negative), got "-0.5"',
      ],
    },
  ])('rejects $label', ({ text, errors }) => {
    expect(parseTrace(text, 'tr.csv')).toEqual({ ok: false, error: errors });
  });
});

describe('rowAt (a step function)', () => {
  const parsed = parseTrace('t,a\n0,1\n60,2\n120,3\n', 'tr.csv');
  if (!parsed.ok) throw new Error('trace');
  it.each([
    [0, 1],
    [59.9, 1],
    [60, 2],
    [119, 2],
    [120, 3],
    [10_000, 3],
  ])('at t=%s the value is %s', (t, value) => {
    expect(valueAt(parsed.value, 0, t)).toBe(value);
  });
  it('has no row before the first', () => {
    expect(rowAt(parsed.value, -1)).toBe(-1);
    expect(valueAt(parsed.value, 0, -1)).toBeUndefined();
  });
});
