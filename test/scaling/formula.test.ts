// scalingModifiers.formula: evaluation, the cost limit at admission, the runtime budget, linear
// compilation (the subset itself: formula-subset.test.ts; properties: formula-properties.test.ts).
import { describe, expect, it } from 'vitest';
import {
  compiledFormulaFor,
  compileFormula,
  FORMULA_LIMITS,
  MAX_FORMULA_COST,
  MAX_FORMULA_DEPTH,
  MAX_FORMULA_LENGTH,
} from '../../src/scaling/formula.ts';
import { compile, refusal } from './formula-helpers.ts';

describe('evaluation', () => {
  const cases: Array<{
    label: string;
    formula: string;
    values: Record<string, number | null>;
    expected: number | null;
  }> = [
    {
      label: 'the corpus example mixes integer and double: max(p2d_ratio, qlen/1000)',
      formula: 'max(p2d_ratio, qlen/1000)',
      values: { p2d_ratio: 1.5, qlen: 4000 },
      expected: 4,
    },
    { label: 'division is real division', formula: '(a + b) / 2', values: { a: 1, b: 2 }, expected: 1.5 },
    { label: 'precedence: * before +', formula: '1 + a * 2', values: { a: 3 }, expected: 7 },
    { label: 'left associativity', formula: 'a - 2 - 3', values: { a: 10 }, expected: 5 },
    { label: 'unary minus binds tighter than *', formula: '-a * 2', values: { a: 3 }, expected: -6 },
    { label: 'ternary', formula: 'a > 2 ? a + b : 1', values: { a: 3, b: 4 }, expected: 7 },
    { label: 'ternary, else branch', formula: 'a > 2 ? a + b : 1', values: { a: 1, b: 4 }, expected: 1 },
    { label: 'nested ternary', formula: 'a > 10 ? 3 : a > 5 ? 2 : 1', values: { a: 7 }, expected: 2 },
    { label: 'and/or/not', formula: 'a > 1 and not (b > 1) ? 1 : 0', values: { a: 2, b: 0 }, expected: 1 },
    { label: '|| short-circuits', formula: 'a > 1 || b > 1 ? 1 : 0', values: { a: 2, b: 0 }, expected: 1 },
    { label: 'min with three arguments', formula: 'min(a, b, 10)', values: { a: 30, b: 20 }, expected: 10 },
    { label: 'max with one argument', formula: 'max(a)', values: { a: 3 }, expected: 3 },
    { label: 'abs', formula: 'abs(a - b)', values: { a: 1, b: 5 }, expected: 4 },
    { label: 'ceil', formula: 'ceil(a / 3)', values: { a: 10 }, expected: 4 },
    { label: 'floor', formula: 'floor(a / 3)', values: { a: 10 }, expected: 3 },
    {
      label: 'round half away from zero (Go)',
      formula: 'round(a) + round(b)',
      values: { a: 2.5, b: -2.5 },
      expected: 0,
    },
    {
      label: 'int() truncates toward zero',
      formula: 'int(a) + int(b)',
      values: { a: 2.7, b: -2.7 },
      expected: 0,
    },
    { label: 'modulo on doubles', formula: 'a % 3', values: { a: 10 }, expected: 1 },
    { label: '?? with a value keeps the value', formula: 'a ?? 0', values: { a: 4 }, expected: 4 },
    { label: '?? binds tighter than +', formula: '1 + a ?? 10', values: { a: null }, expected: 11 },
    {
      label: '?? with nil takes the default',
      formula: '(a ?? 10) + b',
      values: { a: null, b: 1 },
      expected: 11,
    },
    {
      label: 'a nil operand makes the result nil',
      formula: 'a + b',
      values: { a: null, b: 1 },
      expected: null,
    },
    {
      label: 'a nil ?? does not absorb is nil',
      formula: 'a + (b ?? 1)',
      values: { a: null, b: 1 },
      expected: null,
    },
    { label: 'a nil condition is nil', formula: 'a > 1 ? 1 : 2', values: { a: null }, expected: null },
    { label: 'nil in a function is nil', formula: 'max(a, 1)', values: { a: null }, expected: null },
    { label: 'comparing with nil', formula: 'a == nil ? 5 : a', values: { a: null }, expected: 5 },
    { label: 'a formula may yield nil', formula: 'a ?? nil', values: { a: null }, expected: null },
  ];
  it.each(cases)('$label', ({ formula, values, expected }) => {
    expect(compile(formula, Object.keys(values)).evaluate(values)).toEqual({ ok: true, value: expected });
  });

  it.each([
    { formula: 'a / b', values: { a: 1, b: 0 }, shown: 'Infinity' },
    { formula: 'a / b', values: { a: -1, b: 0 }, shown: '-Infinity' },
    { formula: 'a / b', values: { a: 0, b: 0 }, shown: 'NaN' },
  ])('$formula with $values is a failed read (MetricNotFinite), never 0', ({ formula, values, shown }) => {
    expect(compile(formula, ['a', 'b']).evaluate(values)).toEqual({
      ok: false,
      reason: 'MetricNotFinite',
      message: `formula evaluated to ${shown}, not a finite number`,
    });
  });

  it('a non-finite step inside is fine when the result is finite (IEEE 754, as Go)', () => {
    expect(compile('a / b > 1 ? 1 : 2', ['a', 'b']).evaluate({ a: 1, b: 0 })).toEqual({ ok: true, value: 1 });
  });

  it('a missing value is a failed read', () => {
    expect(compile('a + b', ['a', 'b']).evaluate({ a: 1 })).toEqual({
      ok: false,
      reason: 'TriggerError',
      message: 'formula: no value for trigger "b"',
    });
  });

  it('reads only the triggers it names', () => {
    expect(compile('max(a, c)', ['a', 'b', 'c']).references).toEqual(['a', 'c']);
  });
});

/** `a + a + ... ` with n terms: n loads and n - 1 additions, cost 2n - 1. */
const sum = (n: number): string => Array.from({ length: n }, () => 'a').join(' + ');

describe('the cost limit (a static bound on evaluation steps, checked at admission)', () => {
  it.each([
    { formula: 'a', cost: 1 },
    { formula: 'a + 1', cost: 3 },
    { formula: '-a', cost: 2 },
    { formula: 'max(a, b, 1)', cost: 7 }, // 3 operands + the call + one step per argument
    { formula: 'a > 1 ? a : 0', cost: 7 }, // the condition (3), its jump, a, the jump over the else, 0
    { formula: 'a ?? 0', cost: 3 },
    { formula: 'a > 1 && b > 1 ? 1 : 0', cost: 11 },
  ])('$formula costs $cost', ({ formula, cost }) => {
    expect(compile(formula, ['a', 'b']).cost).toBe(cost);
  });

  it(`a formula at the limit (${MAX_FORMULA_COST}) is admitted and evaluates; one step more is refused`, () => {
    const atLimit = `-${sum(MAX_FORMULA_COST / 2)}`; // 2n - 1 + 1 for the minus
    const compiled = compile(atLimit, ['a']);
    expect(compiled.cost).toBe(MAX_FORMULA_COST);
    expect(compiled.evaluate({ a: 1 })).toEqual({ ok: true, value: MAX_FORMULA_COST / 2 - 2 });
    expect(refusal(`-${sum(MAX_FORMULA_COST / 2)} + 1`, ['a'])).toBe(
      `costs ${MAX_FORMULA_COST + 2} evaluation steps; the limit is ${MAX_FORMULA_COST}`,
    );
  });

  it(`a formula longer than ${MAX_FORMULA_LENGTH} characters is refused before it is parsed`, () => {
    const long = `a${' '.repeat(MAX_FORMULA_LENGTH)}`;
    expect(refusal(long, ['a'])).toBe(
      `is ${MAX_FORMULA_LENGTH + 1} characters long; the limit is ${MAX_FORMULA_LENGTH}`,
    );
    expect(refusal(`${'('.repeat(3_000_000)}a`, ['a'])).toMatch(/^is 3000001 characters long/);
  });

  it(`nesting deeper than ${MAX_FORMULA_DEPTH} is refused (the parser's recursion is bounded)`, () => {
    const nested = (n: number) => `${'('.repeat(n)}a${')'.repeat(n)}`;
    expect(compile(nested(10), ['a']).evaluate({ a: 2 })).toEqual({ ok: true, value: 2 });
    expect(refusal(nested(MAX_FORMULA_DEPTH), ['a'])).toMatch(
      new RegExp(`^nests deeper than ${MAX_FORMULA_DEPTH} levels \\(at offset \\d+\\)$`),
    );
    expect(refusal(`${'-'.repeat(MAX_FORMULA_DEPTH + 1)}a`, ['a'])).toMatch(/^nests deeper than/);
  });

  it('the formulas of the issue are refused at admission, before any evaluation', () => {
    // Three nested `exists` over 1,000-element lists: about 1e9 steps per poll under CEL.
    const list = `[${Array.from({ length: 1000 }, (_, i) => 1000 + i).join(',')}]`;
    const exists = `${list}.exists(x, ${list}.exists(y, ${list}.exists(z, x + y + z == q))) ? 1 : 0`;
    expect(exists.length).toBeGreaterThan(12_000);
    expect(refusal(exists, ['q'])).toMatch(/characters long; the limit is/);
    const lifted = compileFormula(exists, ['q'], { ...FORMULA_LIMITS, length: Number.POSITIVE_INFINITY });
    expect(lifted.ok ? undefined : lifted.error[0]?.message).toBe(
      'list literals are not supported (at offset 0)',
    );
    const small = '[1, 2, 3].map(x, [1, 2, 3].map(y, x * y)).size() + q';
    expect(refusal(small, ['q'])).toBe('list literals are not supported (at offset 0)');
  });
});

describe('the runtime budget (per evaluation)', () => {
  it('stops a program that would run more steps than the budget: a failed read, not a hang', () => {
    const raised = { ...FORMULA_LIMITS, cost: 10 * MAX_FORMULA_COST };
    const result = compileFormula(sum(MAX_FORMULA_COST), ['a'], raised);
    if (!result.ok) throw new Error('compiles under raised limits');
    expect(result.value.cost).toBe(2 * MAX_FORMULA_COST - 1);
    expect(result.value.evaluate({ a: 1 })).toEqual({
      ok: false,
      reason: 'FormulaCostExceeded',
      message: `formula: stopped after ${MAX_FORMULA_COST} evaluation steps (the budget per evaluation)`,
    });
    expect(result.value.evaluate({ a: 1 }, 2 * MAX_FORMULA_COST)).toEqual({
      ok: true,
      value: MAX_FORMULA_COST,
    });
  });

  it('a short-circuit costs less than the bound: the bound is an upper limit', () => {
    const compiled = compile('a > 1 || b > 1 ? 1 : 0', ['a', 'b']);
    expect(compiled.evaluate({ a: 2, b: 0 }, compiled.cost)).toEqual({ ok: true, value: 1 });
  });
});

describe('compilation is linear in the formula', () => {
  it('20,000 chained ?? compile (with the length limit lifted) and evaluate', { timeout: 10_000 }, () => {
    const names = ['a', 'b'];
    const formula = `${Array.from({ length: 20_000 }, (_, i) => (i % 2 === 0 ? 'a' : 'b')).join(' ?? ')} ?? 7`;
    const unlimited = {
      length: Number.POSITIVE_INFINITY,
      cost: Number.POSITIVE_INFINITY,
      depth: MAX_FORMULA_DEPTH,
    };
    const result = compileFormula(formula, names, unlimited);
    if (!result.ok) throw new Error(result.error.map((p) => p.message).join('; '));
    expect(result.value.evaluate({ a: null, b: null }, result.value.cost)).toEqual({ ok: true, value: 7 });
    // With the limits in force the same formula is refused at once, by its length.
    expect(refusal(formula, names)).toMatch(/characters long/);
  });
});

describe('compiledFormulaFor', () => {
  it('compiles once per formula and set of names', () => {
    const first = compiledFormulaFor('a + b', ['a', 'b']);
    expect(compiledFormulaFor('a + b', ['b', 'a'])).toBe(first);
    expect(compiledFormulaFor('a + b', ['a', 'b', 'c'])).not.toBe(first);
  });
});
