// scalingModifiers.formula, the subset: construct -> accepted, or refused naming the construct
// and its offset (at spec.advanced.scalingModifiers.formula).
import { describe, expect, it } from 'vitest';
import { refusal } from './formula-helpers.ts';

describe('the formula subset: construct -> accepted, or refused at spec.advanced.scalingModifiers.formula', () => {
  const NAMES = ['q', 'p'];
  const rows: Array<{ construct: string; formula: string; refused?: RegExp }> = [
    // accepted: KEDA's documented subset
    { construct: 'names and numbers', formula: 'q + 1_000 * .5 + 2. + 1e3' },
    { construct: 'arithmetic', formula: '(q + p) / 2 - q * 3 % 2' },
    { construct: 'unary minus and plus', formula: '-q + +p' },
    { construct: 'comparisons in a ternary', formula: 'q >= 1 && p != 2 || q < p ? 10 : 20' },
    { construct: "expr-lang's and/or/not", formula: 'q > 1 and not (p > 1) or false ? 1 : 0' },
    { construct: 'nested ternaries', formula: 'q > 10 ? 3 : q > 5 ? 2 : 1' },
    { construct: 'functions', formula: 'max(q, p, 1) + min(q) + abs(q) + ceil(q) + floor(q) + round(q)' },
    { construct: 'float() and int()', formula: 'float(q) + int(p)' },
    { construct: 'nil and ??', formula: 'q ?? p ?? 0' },
    { construct: '?? inside arithmetic', formula: '(q ?? 1) * 2 + max(p, 1) ?? 0' },
    { construct: 'comparison with nil', formula: 'q == nil ? 1 : q' },
    { construct: "KEDA docs' nested conditions", formula: 'q < 2 ? q+p >= 2 ? 5 : 10 : 0' },
    { construct: "KEDA docs' count(), rewritten", formula: '(q > 1 ? 1 : 0) + (p > 1 ? 1 : 0) > 1 ? 5 : 0' },
    {
      construct: "KEDA docs' count() over a list",
      formula: 'count([q,p],{#>1}) > 1 ? 5 : 0',
      refused: /^function count is not supported .* \(at offset 0\)$/,
    },
    // refused: constructs outside the subset, each named with its offset
    {
      construct: 'a list literal',
      formula: 'max([q, p])',
      refused: /^list literals are not supported \(at offset 4\)$/,
    },
    {
      construct: 'indexing',
      formula: 'q[0]',
      refused: /^indexing \(\[\]\) is not supported \(at offset 1\)$/,
    },
    {
      construct: 'member access',
      formula: 'q.size',
      refused: /^member access \(\.\) is not supported \(at offset 1\)$/,
    },
    {
      construct: 'optional member access',
      formula: 'q?.x',
      refused: /^member access \(\?\.\) is not supported \(at offset 1\)$/,
    },
    {
      construct: 'a macro over a list',
      formula: '[1, 2].exists(x, x > q)',
      refused: /^list literals are not supported \(at offset 0\)$/,
    },
    {
      construct: 'a predicate builtin',
      formula: 'count(q, {# > 1})',
      refused:
        /^function count is not supported \(supported: abs, ceil, float, floor, int, max, min, round\) \(at offset 0\)$/,
    },
    {
      construct: 'a map or predicate',
      formula: '{q: 1}',
      refused: /^maps and predicates \(\{\}\) are not supported \(at offset 0\)$/,
    },
    {
      construct: 'a string (single quotes)',
      formula: "'abc'",
      refused: /^strings are not supported \(at offset 0\)$/,
    },
    {
      construct: 'a string (double quotes)',
      formula: 'q + "1"',
      refused: /^strings are not supported \(at offset 4\)$/,
    },
    {
      construct: 'power (**)',
      formula: 'q ** 2',
      refused: /^power \(\*\*\) is not supported \(at offset 2\)$/,
    },
    { construct: 'power (^)', formula: 'q ^ 2', refused: /^power \(\^\) is not supported \(at offset 2\)$/ },
    { construct: 'a range', formula: '1..3', refused: /^ranges \(\.\.\) are not supported \(at offset 1\)$/ },
    { construct: 'a pipe', formula: 'q | max', refused: /^pipes \(\|\) are not supported \(at offset 2\)$/ },
    {
      construct: 'let',
      formula: 'let x = q; x',
      refused: /^variables \(let\) are not supported \(at offset 0\)$/,
    },
    {
      construct: 'a sequence',
      formula: 'q; p',
      refused: /^sequences \(;\) are not supported \(at offset 1\)$/,
    },
    {
      construct: 'operator in',
      formula: 'q in p',
      refused: /^operator in is not supported \(at offset 2\)$/,
    },
    {
      construct: 'operator matches',
      formula: 'q matches p',
      refused: /^operator matches is not supported \(at offset 2\)$/,
    },
    {
      construct: 'a predicate placeholder',
      formula: '# + q',
      refused: /^predicate placeholders \(#\) are not supported \(at offset 0\)$/,
    },
    {
      construct: 'the ?: shorthand',
      formula: 'q ?: 1',
      refused: /^the \?: shorthand is not supported; write c \? a : b \(at offset 2\)$/,
    },
    {
      construct: 'a hex number',
      formula: '0x1F + q',
      refused: /^only decimal numbers are supported, got "0x1F" \(at offset 0\)$/,
    },
    {
      construct: 'a malformed number',
      formula: '1e + q',
      refused: /^malformed number "1e" \(at offset 0\)$/,
    },
    {
      construct: 'a number out of range',
      formula: '1e999 * q',
      refused: /^number "1e999" is out of range \(at offset 0\)$/,
    },
    {
      construct: 'a stray character',
      formula: 'q @ 2',
      refused: /^unexpected character "@" \(at offset 2\)$/,
    },
    // refused: syntax and types
    {
      construct: 'a missing operand',
      formula: 'q +',
      refused: /^unexpected end of the formula, expected an operand \(at offset 3\)$/,
    },
    {
      construct: 'an unclosed call',
      formula: 'max(q',
      refused: /^expected "," or "\)" in the call of max, found the end of the formula \(at offset 5\)$/,
    },
    {
      construct: 'an unclosed parenthesis',
      formula: '(q + 1',
      refused: /^expected "\)", found the end of the formula \(at offset 6\)$/,
    },
    {
      construct: 'two operands in a row',
      formula: 'q p',
      refused: /^unexpected "p" after a complete expression \(at offset 2\)$/,
    },
    {
      construct: 'an unknown name',
      formula: 'nosuch * 2',
      refused: /^"nosuch" is not a trigger name \(triggers: q, p\)$/,
    },
    { construct: 'an unknown function', formula: 'sqrt(q)', refused: /^function sqrt is not supported/ },
    {
      construct: 'max without arguments',
      formula: 'max()',
      refused: /^max needs at least one argument \(at offset 0\)$/,
    },
    {
      construct: 'abs with two arguments',
      formula: 'abs(q, p)',
      refused: /^abs takes one argument, got 2 \(at offset 0\)$/,
    },
    { construct: 'a bool result', formula: 'q > 1', refused: /^must evaluate to a number, not bool$/ },
    { construct: 'a nil result', formula: 'nil', refused: /^must evaluate to a number, not nil$/ },
    {
      construct: 'arithmetic on a bool',
      formula: 'q + true',
      refused: /^\+ needs numbers, got number and bool \(at offset 2\)$/,
    },
    {
      construct: 'arithmetic on nil',
      formula: 'nil * q',
      refused: /^\* needs numbers, got nil and number \(at offset 4\)$/,
    },
    {
      construct: 'a number as condition',
      formula: 'q ? 1 : 2',
      refused: /^the condition before \? must be a bool, got number \(at offset 2\)$/,
    },
    { construct: 'not on a number', formula: '!q', refused: /^! needs a bool, got number \(at offset 0\)$/ },
    {
      construct: 'branches of two types',
      formula: 'q > 1 ? 1 : true',
      refused: /^the branches of \? : must have one type, got number and bool \(at offset 6\)$/,
    },
    {
      construct: '== across types',
      formula: 'q == true ? 1 : 0',
      refused: /^== compares values of one type, got number and bool \(at offset 2\)$/,
    },
    {
      construct: '?? mixed with +',
      formula: 'q ?? 0 + 1',
      refused: /^\?\? cannot be mixed with \+ without parentheses \(at offset 7\)$/,
    },
    {
      construct: 'chained comparisons',
      formula: '1 < q < 3 ? 1 : 0',
      refused: /^chained comparisons are not supported; write a < b && b < c \(at offset 6\)$/,
    },
  ];
  it.each(rows)('$construct: $formula', ({ formula, refused }) => {
    const message = refusal(formula, NAMES);
    if (refused === undefined) expect(message).toBeUndefined();
    else expect(message).toMatch(refused);
  });

  it('names every unknown trigger at once', () => {
    expect(refusal('x + y', ['orders'])).toBe('"x", "y" are not trigger names (triggers: orders)');
    expect(refusal('x', [])).toBe('"x" is not a trigger name (triggers: none with a name)');
  });
});
