// Properties of the formula compiler: whatever a user (or an attacker) writes is either refused
// at admission with a problem at the formula, or evaluates within the budget to a finite number,
// nil, or a failed read. Nothing throws, and evaluation agrees with a reference interpreter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFormula, FORMULA_PATH, MAX_FORMULA_COST } from '../../src/scaling/formula.ts';

const NAMES = ['a', 'b', 'c'];

/** Trigger values as the boundary hands them over (finite, >= 0, or nil), plus hostile extremes. */
const value = fc.oneof(
  fc.constant(null),
  fc.double({ min: 0, max: 1e6, noNaN: true }),
  fc.constantFrom(0, 1, 1e308, Number.MIN_VALUE, -5),
);
const values = fc.record({ a: value, b: value, c: value });

const number = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }).map(String),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((x) => String(x)),
  fc.constantFrom('0.5', '.5', '2.', '1_000', '1e3', '1e999', '0x10', '1e'),
);

/** Formulas from expr-lang's grammar: the subset and what lies around it, mixed freely. */
const { formula } = fc.letrec<{ formula: string }>((tie) => {
  const sub = tie('formula');
  return {
    formula: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(...NAMES, 'zz', 'true', 'false', 'nil', 'null'),
      number,
      fc.tuple(fc.constantFrom('-', '+', '!', 'not '), sub).map(([op, x]) => `${op}${x}`),
      fc
        .tuple(
          sub,
          fc.constantFrom(
            '+',
            '-',
            '*',
            '/',
            '%',
            '<',
            '<=',
            '>',
            '>=',
            '==',
            '!=',
            '&&',
            '||',
            'and',
            'or',
            '??',
          ),
          sub,
        )
        .map(([x, op, y]) => `${x} ${op} ${y}`),
      fc.tuple(sub, sub, sub).map(([c, x, y]) => `${c} ? ${x} : ${y}`),
      sub.map((x) => `(${x})`),
      fc
        .tuple(
          fc.constantFrom(
            'max',
            'min',
            'abs',
            'ceil',
            'floor',
            'round',
            'int',
            'float',
            'count',
            'sqrt',
            'exists',
          ),
          fc.array(sub, { maxLength: 4 }),
        )
        .map(([fn, args]) => `${fn}(${args.join(', ')})`),
      // outside the subset
      fc.array(sub, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
      fc
        .tuple(sub, fc.constantFrom('.x', '[0]', '?.y', ' ** 2', ' ^ 2', '..3', ' | max', ' in a', '; a'))
        .map(([x, tail]) => `${x}${tail}`),
      fc.constantFrom("'s'", '"s"', '{a: 1}', '#', 'let x = 1; x', '?:'),
    ),
  };
});

describe('every formula is refused at admission, or evaluates to a finite number, nil or a failed read', () => {
  it('from the grammar', () => {
    fc.assert(
      fc.property(formula, values, (text, input) => {
        const compiled = compileFormula(text, NAMES);
        if (!compiled.ok) {
          expect(compiled.error).toHaveLength(1);
          expect(compiled.error[0]).toMatchObject({ path: FORMULA_PATH, reason: 'InvalidSpec' });
          return;
        }
        expect(compiled.value.cost).toBeLessThanOrEqual(MAX_FORMULA_COST);
        const result = compiled.value.evaluate(input);
        if (result.ok) {
          if (result.value !== null) expect(Number.isFinite(result.value)).toBe(true);
        } else expect(result.reason).toBe('MetricNotFinite'); // never the budget: admitted means within it
      }),
      { numRuns: 3000 },
    );
  });

  it('from arbitrary text over the formula alphabet (offsets point into the text)', () => {
    const alphabet = fc.constantFrom(...'ab 0123456789.+-*/%<>=!&|?:()[]{},;#\'"`^_eExnot'.split(''));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 40 }).map((cs) => cs.join('')),
        values,
        (text, input) => {
          const compiled = compileFormula(text, NAMES);
          if (!compiled.ok) {
            const offset = /\(at offset (\d+)\)$/.exec(compiled.error[0]?.message ?? '');
            if (offset !== null) expect(Number(offset[1])).toBeLessThanOrEqual(text.length);
            return;
          }
          const result = compiled.value.evaluate(input);
          if (result.ok && result.value !== null) expect(Number.isFinite(result.value)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// A reference interpreter over a small AST, rendered fully parenthesized: the compiled program
// must agree with it on every input (nil propagation, short-circuits, ternaries, functions).
type Expr =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'nil' }
  | { k: 'arith'; op: '+' | '-' | '*' | '/'; x: Expr; y: Expr }
  | { k: 'fn'; fn: 'max' | 'min' | 'abs' | 'round'; args: Expr[] }
  | { k: 'coalesce'; x: Expr; y: Expr }
  | { k: 'if'; a: Expr; cmp: '<' | '>=' | '=='; b: Expr; logic: '&&' | '||' | ''; yes: Expr; no: Expr };

const { expr } = fc.letrec<{ expr: Expr }>((tie) => {
  const sub = tie('expr');
  return {
    expr: fc.oneof(
      { depthSize: 'small' },
      fc.integer({ min: 0, max: 100 }).map((v): Expr => ({ k: 'num', v })),
      fc.constantFrom(...NAMES).map((name): Expr => ({ k: 'var', name })),
      fc.constant<Expr>({ k: 'nil' }),
      fc
        .tuple(fc.constantFrom('+' as const, '-' as const, '*' as const, '/' as const), sub, sub)
        .map(([op, x, y]): Expr => ({ k: 'arith', op, x, y })),
      fc
        .tuple(fc.constantFrom('max' as const, 'min' as const, 'abs' as const, 'round' as const), sub, sub)
        .map(([fn, x, y]): Expr => ({ k: 'fn', fn, args: fn === 'abs' || fn === 'round' ? [x] : [x, y] })),
      fc.tuple(sub, sub).map(([x, y]): Expr => ({ k: 'coalesce', x, y })),
      fc
        .record({
          a: sub,
          cmp: fc.constantFrom('<' as const, '>=' as const, '==' as const),
          b: sub,
          logic: fc.constantFrom('&&' as const, '||' as const, '' as const),
          yes: sub,
          no: sub,
        })
        .map((r): Expr => ({ k: 'if', ...r })),
    ),
  };
});

const render = (e: Expr): string => {
  switch (e.k) {
    case 'num':
      return String(e.v);
    case 'var':
      return e.name;
    case 'nil':
      return 'nil';
    case 'arith':
      return `(${render(e.x)} ${e.op} ${render(e.y)})`;
    case 'fn':
      return `${e.fn}(${e.args.map(render).join(', ')})`;
    case 'coalesce':
      return `(${render(e.x)} ?? ${render(e.y)})`;
    case 'if': {
      const condition = `(${render(e.a)} ${e.cmp} ${render(e.b)})`;
      const full = e.logic === '' ? condition : `(${condition} ${e.logic} (${render(e.b)} < 50))`;
      return `(${full} ? ${render(e.yes)} : ${render(e.no)})`;
    }
  }
};

type Ref = number | boolean | null;
const reference = (e: Expr, env: Record<string, number | null>): Ref => {
  const num = (x: Expr): number | null => reference(x, env) as number | null;
  switch (e.k) {
    case 'num':
      return e.v;
    case 'var':
      return env[e.name] ?? null;
    case 'nil':
      return null;
    case 'arith': {
      const x = num(e.x);
      const y = num(e.y);
      if (x === null || y === null) return null;
      return e.op === '+' ? x + y : e.op === '-' ? x - y : e.op === '*' ? x * y : x / y;
    }
    case 'fn': {
      const args = e.args.map(num);
      if (args.some((x) => x === null)) return null;
      const xs = args as number[];
      if (e.fn === 'abs') return Math.abs(xs[0] as number);
      if (e.fn === 'round') return Math.sign(xs[0] as number) * Math.round(Math.abs(xs[0] as number));
      return e.fn === 'max' ? Math.max(...xs) : Math.min(...xs);
    }
    case 'coalesce':
      return num(e.x) ?? num(e.y);
    case 'if': {
      const a = num(e.a);
      const b = num(e.b);
      let c: boolean | null =
        e.cmp === '==' ? a === b : a === null || b === null ? null : e.cmp === '<' ? a < b : a >= b;
      if (e.logic !== '') {
        const d = b === null ? null : b < 50;
        if (e.logic === '&&') c = c === null || c === false ? c : d;
        else c = c === null || c === true ? c : d;
      }
      return c === null ? null : c ? num(e.yes) : num(e.no);
    }
  }
};

/** Only well-typed trees: `nil` may not stand where arithmetic, a function or a comparison needs a number. */
const typed = (e: Expr): 'number' | 'nil' | undefined => {
  const all = (xs: Expr[]) => xs.every((x) => typed(x) === 'number');
  switch (e.k) {
    case 'num':
    case 'var':
      return 'number';
    case 'nil':
      return 'nil';
    case 'arith':
      return all([e.x, e.y]) ? 'number' : undefined;
    case 'fn':
      return all(e.args) ? 'number' : undefined;
    case 'coalesce': {
      const x = typed(e.x);
      const y = typed(e.y);
      return x === undefined || y === undefined
        ? undefined
        : x === 'number' || y === 'number'
          ? 'number'
          : 'nil';
    }
    case 'if': {
      const comparable = e.cmp === '==' ? typed(e.a) !== undefined : typed(e.a) === 'number';
      const ok = comparable && typed(e.b) === 'number';
      const t = typed(e.yes);
      const f = typed(e.no);
      if (!ok || t === undefined || f === undefined) return undefined;
      return t === 'number' || f === 'number' ? 'number' : 'nil';
    }
  }
};

describe('evaluation agrees with a reference interpreter', () => {
  it('on well-typed formulas and every input', () => {
    fc.assert(
      fc.property(
        expr.filter((e) => typed(e) === 'number'),
        values,
        (e, input) => {
          const text = render(e);
          const compiled = compileFormula(text, NAMES);
          if (!compiled.ok) {
            // Only the limits may refuse a well-typed formula.
            expect(compiled.error[0]?.message).toMatch(/evaluation steps|nests deeper|characters long/);
            return;
          }
          const expected = reference(e, input);
          const result = compiled.value.evaluate(input);
          if (expected === null) expect(result).toEqual({ ok: true, value: null });
          else if (typeof expected === 'number' && Number.isFinite(expected))
            expect(result).toEqual({ ok: true, value: expected });
          else expect(result).toMatchObject({ ok: false, reason: 'MetricNotFinite' });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
