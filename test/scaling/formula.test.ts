import { describe, expect, it } from 'vitest';
import { compiledFormulaFor, compileFormula, FORMULA_PATH, toCel } from '../../src/scaling/formula.ts';

const compile = (formula: string, names: string[]) => {
  const result = compileFormula(formula, names);
  if (!result.ok) throw new Error(`did not compile: ${result.error.map((p) => p.message).join('; ')}`);
  return result.value;
};

describe('formula translation (expr-lang -> CEL)', () => {
  const cases: Array<[string, string]> = [
    ['max(p2d_ratio, qlen/1000)', 'max ( p2d_ratio , qlen / 1000.0 )'],
    ['(a + b) / 2', '( a + b ) / 2.0'],
    ['a > 2 and b < 1.5 or not c', 'a > 2.0 && b < 1.5 || ! c'],
    ['a ?? 0', 'coalesce ( a , 0.0 )'],
    ['a ?? b ?? 3', 'coalesce ( coalesce ( a , b ) , 3.0 )'],
    ['(a ?? 1) * 2 + max(b, c) ?? 0', '( coalesce ( a , 1.0 ) ) * 2.0 + coalesce ( max ( b , c ) , 0.0 )'],
    ['-a ?? 1', '- coalesce ( a , 1.0 )'],
    ['a == nil ? 1 : a', 'a == null ? 1.0 : a'],
    ['1_000 * .5 + 2.', '1000.0 * 0.5 + 2.0'],
  ];
  it.each(cases)('%s', (formula, cel) => {
    expect(toCel(formula)).toMatchObject({ ok: true, value: { cel } });
  });
});

describe('compileFormula + evaluate', () => {
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
    {
      label: 'integer division is real division, as in expr-lang',
      formula: '(a + b) / 2',
      values: { a: 1, b: 2 },
      expected: 1.5,
    },
    { label: 'literal-only arithmetic', formula: '7 / 2 + a', values: { a: 0 }, expected: 3.5 },
    { label: 'ternary', formula: 'a > 2 ? a + b : 1', values: { a: 3, b: 4 }, expected: 7 },
    { label: 'ternary, else branch', formula: 'a > 2 ? a + b : 1', values: { a: 1, b: 4 }, expected: 1 },
    {
      label: 'comparisons and logic',
      formula: 'a >= 1 && b != 2 ? 10 : 20',
      values: { a: 1, b: 3 },
      expected: 10,
    },
    {
      label: 'expr-lang keywords',
      formula: 'a > 1 and not (b > 1) ? 1 : 0',
      values: { a: 2, b: 0 },
      expected: 1,
    },
    { label: 'min with three arguments', formula: 'min(a, b, 10)', values: { a: 30, b: 20 }, expected: 10 },
    { label: 'max with one argument', formula: 'max(a)', values: { a: 3 }, expected: 3 },
    { label: 'abs', formula: 'abs(a - b)', values: { a: 1, b: 5 }, expected: 4 },
    { label: 'ceil', formula: 'ceil(a / 3)', values: { a: 10 }, expected: 4 },
    { label: 'floor', formula: 'floor(a / 3)', values: { a: 10 }, expected: 3 },
    {
      label: 'round half away from zero (Go math.Round)',
      formula: 'round(a) + round(b)',
      values: { a: 2.5, b: -2.5 },
      expected: 0,
    },
    { label: 'modulo on doubles', formula: 'a % 3', values: { a: 10 }, expected: 1 },
    { label: 'unary minus', formula: '-a + 10', values: { a: 4 }, expected: 6 },
    { label: 'float() is accepted', formula: 'float(a) * 2', values: { a: 4 }, expected: 8 },
    { label: '?? with a value keeps the value', formula: 'a ?? 0', values: { a: 4 }, expected: 4 },
    {
      label: '?? with nil takes the default',
      formula: '(a ?? 10) + b',
      values: { a: null, b: 1 },
      expected: 11,
    },
    {
      label: 'a nil operand without ?? makes the result nil',
      formula: 'a + b',
      values: { a: null, b: 1 },
      expected: null,
    },
    {
      label: 'a nil the ?? formula does not absorb is nil',
      formula: 'a + (b ?? 1)',
      values: { a: null, b: 1 },
      expected: null,
    },
    { label: 'a formula may itself yield nil', formula: 'a ?? nil', values: { a: null }, expected: null },
  ];
  it.each(cases)('$label', ({ formula, values, expected }) => {
    const compiled = compile(formula, Object.keys(values));
    expect(compiled.evaluate(values)).toEqual({ ok: true, value: expected });
  });

  it('division by zero yields Infinity (the caller clamps it)', () => {
    expect(compile('a / b', ['a', 'b']).evaluate({ a: 1, b: 0 })).toEqual({
      ok: true,
      value: Number.POSITIVE_INFINITY,
    });
  });

  it('a missing value is an error', () => {
    expect(compile('a + b', ['a', 'b']).evaluate({ a: 1 })).toEqual({
      ok: false,
      message: 'formula: no value for trigger "b"',
    });
  });

  it('reads only the triggers it names', () => {
    expect(compile('max(a, c)', ['a', 'b', 'c']).references).toEqual(['a', 'c']);
  });
});

describe('compileFormula problems (at spec.advanced.scalingModifiers.formula)', () => {
  const cases: Array<{ label: string; formula: string; names: string[]; message: RegExp }> = [
    {
      label: 'unknown trigger',
      formula: 'orders + payments',
      names: ['orders'],
      message: /"payments" is not a trigger name \(triggers: orders\)/,
    },
    {
      label: 'two unknown triggers',
      formula: 'x + y',
      names: ['orders'],
      message: /"x", "y" are not trigger names/,
    },
    { label: 'no named triggers at all', formula: 'x', names: [], message: /triggers: none with a name/ },
    { label: 'syntax error', formula: 'orders +', names: ['orders'], message: /syntax error in "orders \+"/ },
    { label: 'unbalanced parentheses', formula: 'max(orders', names: ['orders'], message: /syntax error/ },
    {
      label: 'unknown function',
      formula: 'sqrt(orders)',
      names: ['orders'],
      message: /no matching overload for 'sqrt/,
    },
    {
      label: 'power is not supported',
      formula: 'orders ** 2',
      names: ['orders'],
      message: /power \("\*\*"\) is not supported/,
    },
    {
      label: 'a boolean result',
      formula: 'orders > 1',
      names: ['orders'],
      message: /must evaluate to a number, not bool/,
    },
    {
      label: 'a stray character',
      formula: 'orders # 2',
      names: ['orders'],
      message: /unexpected character "#"/,
    },
    {
      label: '?? without an operand',
      formula: 'orders ??',
      names: ['orders'],
      message: /"\?\?" needs a name/,
    },
  ];
  it.each(cases)('$label', ({ formula, names, message }) => {
    const result = compileFormula(formula, names);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual([
      { path: FORMULA_PATH, reason: 'InvalidSpec', message: expect.stringMatching(message) },
    ]);
  });
});

describe('compiledFormulaFor', () => {
  it('compiles once per formula and set of names', () => {
    const first = compiledFormulaFor('a + b', ['a', 'b']);
    expect(compiledFormulaFor('a + b', ['b', 'a'])).toBe(first);
    expect(compiledFormulaFor('a + b', ['a', 'b', 'c'])).not.toBe(first);
  });
});
