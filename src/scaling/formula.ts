// scalingModifiers.formula: KEDA writes it in expr-lang; ebb evaluates it with CEL
// (@marcbachmann/cel-js, never eval) after a small, token-level translation. Compiled once per
// formula and set of trigger names (memoized), evaluated per poll.
//
// The supported subset (what KEDA's documented formulas use):
// - numbers, trigger names as variables (always doubles: integer literals become doubles, so
//   `qlen / 1000` and `(a + b) / 2` divide as in expr-lang, never as integer division)
// - + - * / %  (% on doubles, like fmod), unary - and !
// - == != < <= > >=, && || ! (and expr-lang's `and`, `or`, `not`), ternary `c ? a : b`, parentheses
// - max(a, b, ...) and min(a, b, ...) with 1..16 arguments, abs(x), ceil(x), floor(x), round(x)
//   (half away from zero, as Go's math.Round), float(x)
// - `nil` and the nil-coalescing `a ?? b` (binds tighter than arithmetic, as in expr-lang), for
//   fallback.behavior: scalingModifiers, where a trigger beyond its failure threshold reads as nil
// Not supported: ** / ^ (power), member access, arrays, strings in arithmetic, `let`, expr-lang's
// other builtins; `int(x)` is CEL's and yields an integer that does not mix with doubles.
import { Environment } from '@marcbachmann/cel-js';
import { fail, InvalidSpec, ok, type Problem, type Result } from '../api/reasons.ts';

export const FORMULA_PATH = 'spec.advanced.scalingModifiers.formula';

export type FormulaValue =
  | { readonly ok: true; readonly value: number | null }
  | { readonly ok: false; readonly message: string };

export interface CompiledFormula {
  readonly formula: string;
  /** The CEL source actually evaluated (after translation). */
  readonly cel: string;
  /** Trigger names the formula reads. */
  readonly references: readonly string[];
  /**
   * Evaluates with one value per referenced trigger; null is expr-lang's nil (a trigger beyond
   * its fallback threshold). A nil the formula does not absorb with `??` makes the result nil.
   */
  evaluate(values: Readonly<Record<string, number | null>>): FormulaValue;
}

type TokenKind = 'number' | 'ident' | 'string' | 'punct';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const PUNCTUATION = [
  '??',
  '&&',
  '||',
  '==',
  '!=',
  '<=',
  '>=',
  '?',
  ':',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '!',
];
const KEYWORDS: Readonly<Record<string, string>> = { and: '&&', or: '||', not: '!', nil: 'null' };
const LITERALS: ReadonlySet<string> = new Set(['true', 'false', 'null']);
const MAX_ARGUMENTS = 16;

/** Splits an expr-lang formula into tokens; integer literals become double literals. */
const tokenize = (formula: string): Result<Token[], string> => {
  const tokens: Token[] = [];
  let i = 0;
  while (i < formula.length) {
    const rest = formula.slice(i);
    const space = /^\s+/.exec(rest);
    if (space !== null) {
      i += space[0].length;
      continue;
    }
    const number = /^(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?/.exec(rest);
    if (number !== null) {
      let text = number[0].replaceAll('_', '');
      if (!/[.eE]/.test(text)) text = `${text}.0`;
      else if (text.endsWith('.')) text = `${text}0`;
      else if (text.startsWith('.')) text = `0${text}`;
      tokens.push({ kind: 'number', text });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (ident !== null) {
      const word = ident[0];
      const keyword = KEYWORDS[word];
      if (keyword === undefined) tokens.push({ kind: 'ident', text: word });
      else tokens.push({ kind: keyword === 'null' ? 'ident' : 'punct', text: keyword });
      i += word.length;
      continue;
    }
    const string = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/.exec(rest);
    if (string !== null) {
      tokens.push({ kind: 'string', text: string[0] });
      i += string[0].length;
      continue;
    }
    if (rest.startsWith('**') || rest.startsWith('^'))
      return fail(`power ("${rest[0] === '^' ? '^' : '**'}") is not supported`);
    const punct = PUNCTUATION.find((p) => rest.startsWith(p));
    if (punct === undefined) return fail(`unexpected character "${rest[0]}" at position ${i + 1}`);
    tokens.push({ kind: 'punct', text: punct });
    i += punct.length;
  }
  return ok(tokens);
};

const isPunct = (t: Token | undefined, text: string): boolean => t?.kind === 'punct' && t.text === text;

/** Index of the bracket matching tokens[from] ('(' forward or ')' backward), or -1. */
const matching = (tokens: readonly Token[], from: number, step: 1 | -1): number => {
  const [open, close] = step === 1 ? ['(', ')'] : [')', '('];
  let depth = 0;
  for (let i = from; i >= 0 && i < tokens.length; i += step) {
    if (isPunct(tokens[i], open)) depth++;
    else if (isPunct(tokens[i], close) && --depth === 0) return i;
  }
  return -1;
};

/** First index of the operand (name, number, call or parenthesized group) ending at `end`. */
const operandStart = (tokens: readonly Token[], end: number): number => {
  const t = tokens[end];
  if (t === undefined) return -1;
  if (isPunct(t, ')')) {
    const open = matching(tokens, end, -1);
    return open > 0 && tokens[open - 1]?.kind === 'ident' ? open - 1 : open;
  }
  return t.kind === 'punct' ? -1 : end;
};

/** Last index of the operand starting at `start` (unary - ! + allowed in front). */
const operandEnd = (tokens: readonly Token[], start: number): number => {
  let i = start;
  while (isPunct(tokens[i], '-') || isPunct(tokens[i], '!') || isPunct(tokens[i], '+')) i++;
  const t = tokens[i];
  if (t === undefined) return -1;
  if (isPunct(t, '(')) return matching(tokens, i, 1);
  if (t.kind === 'ident' && isPunct(tokens[i + 1], '(')) return matching(tokens, i + 1, 1);
  return t.kind === 'punct' ? -1 : i;
};

/** `a ?? b` -> `coalesce(a, b)`, left to right (expr-lang gives ?? the tightest binary precedence). */
const rewriteCoalesce = (input: readonly Token[]): Result<Token[], string> => {
  let tokens = [...input];
  for (
    let at = tokens.findIndex((t) => isPunct(t, '??'));
    at >= 0;
    at = tokens.findIndex((t) => isPunct(t, '??'))
  ) {
    const start = operandStart(tokens, at - 1);
    const end = operandEnd(tokens, at + 1);
    if (start < 0 || end < 0)
      return fail('"??" needs a name, number, call or parenthesized expression on each side');
    tokens = [
      ...tokens.slice(0, start),
      { kind: 'ident', text: 'coalesce' },
      { kind: 'punct', text: '(' },
      ...tokens.slice(start, at),
      { kind: 'punct', text: ',' },
      ...tokens.slice(at + 1, end + 1),
      { kind: 'punct', text: ')' },
      ...tokens.slice(end + 1),
    ];
  }
  return ok(tokens);
};

/** Names used as variables: identifiers that are not called, not members, not literals. */
const variableNames = (tokens: readonly Token[]): string[] => {
  const names = new Set<string>();
  tokens.forEach((t, i) => {
    if (t.kind !== 'ident' || LITERALS.has(t.text)) return;
    if (isPunct(tokens[i + 1], '(') || isPunct(tokens[i - 1], '.')) return;
    names.add(t.text);
  });
  return [...names];
};

/** expr-lang formula -> CEL source, or why not. */
export const toCel = (
  formula: string,
): Result<{ cel: string; references: string[]; nullable: boolean }, string> => {
  const tokens = tokenize(formula);
  if (!tokens.ok) return tokens;
  const nullable = tokens.value.some((t) => isPunct(t, '??'));
  const rewritten = rewriteCoalesce(tokens.value);
  if (!rewritten.ok) return rewritten;
  return ok({
    cel: rewritten.value.map((t) => t.text).join(' '),
    references: variableNames(tokens.value),
    nullable,
  });
};

// Go's math.Round: half away from zero.
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

const baseEnvironment = (() => {
  const env = new Environment()
    .registerFunction('abs(double): double', (x: number) => Math.abs(x))
    .registerFunction('ceil(double): double', (x: number) => Math.ceil(x))
    .registerFunction('floor(double): double', (x: number) => Math.floor(x))
    .registerFunction('round(double): double', roundHalfAway)
    .registerFunction('float(double): double', (x: number) => x)
    .registerFunction('coalesce(dyn, dyn): dyn', (a: unknown, b: unknown) => a ?? b)
    .registerOperator('double % double', (a: number, b: number) => a % b);
  for (let n = 1; n <= MAX_ARGUMENTS; n++) {
    const params = Array.from({ length: n }, () => 'double').join(', ');
    env.registerFunction(`max(${params}): double`, (...xs: number[]) => Math.max(...xs));
    env.registerFunction(`min(${params}): double`, (...xs: number[]) => Math.min(...xs));
  }
  return env;
})();

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? 'unknown error';

const problem = (message: string): Problem[] => [{ path: FORMULA_PATH, reason: InvalidSpec, message }];

const NUMERIC_RESULTS: ReadonlySet<string> = new Set(['double', 'int', 'uint', 'dyn']);

/**
 * Compiles a formula against the trigger names it may use. Problems (at
 * spec.advanced.scalingModifiers.formula) name an unknown trigger, a syntax or type error.
 */
export const compileFormula = (formula: string, triggerNames: readonly string[]): Result<CompiledFormula> => {
  const translated = toCel(formula);
  if (!translated.ok) return fail(problem(`${translated.error} in "${formula}"`));
  const { cel, references, nullable } = translated.value;
  const known = new Set(triggerNames);
  const unknown = references.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    const list = triggerNames.length > 0 ? triggerNames.join(', ') : 'none with a name';
    return fail(
      problem(
        `${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length === 1 ? 'is not a trigger name' : 'are not trigger names'} (triggers: ${list})`,
      ),
    );
  }
  const env = baseEnvironment.clone();
  for (const name of references) env.registerVariable(name, nullable ? 'dyn' : 'double');
  let program: ReturnType<Environment['parse']>;
  try {
    program = env.parse(cel);
  } catch (error) {
    return fail(problem(`syntax error in "${formula}": ${firstLine(error)}`));
  }
  const checked = program.check();
  if (!checked.valid) return fail(problem(`${firstLine(checked.error)} in "${formula}"`));
  if (checked.type !== undefined && !NUMERIC_RESULTS.has(checked.type)) {
    return fail(problem(`must evaluate to a number, not ${checked.type}: "${formula}"`));
  }
  const evaluate = (values: Readonly<Record<string, number | null>>): FormulaValue => {
    const context: Record<string, number | null> = {};
    let sawNil = false;
    for (const name of references) {
      const value = values[name];
      if (value === undefined) return { ok: false, message: `formula: no value for trigger "${name}"` };
      if (value === null) sawNil = true;
      context[name] = value;
    }
    // Without `??` a nil operand is an error in expr-lang; the composite then falls back.
    if (sawNil && !nullable) return { ok: true, value: null };
    let result: unknown;
    try {
      result = program(context);
    } catch (error) {
      return sawNil ? { ok: true, value: null } : { ok: false, message: `formula: ${firstLine(error)}` };
    }
    if (result === null) return { ok: true, value: null };
    if (typeof result === 'bigint') return { ok: true, value: Number(result) };
    if (typeof result === 'number') return { ok: true, value: result };
    return { ok: false, message: `formula: must evaluate to a number, got ${typeof result}` };
  };
  return ok({ formula, cel, references, evaluate });
};

const compiled = new Map<string, Result<CompiledFormula>>();
const CACHE_LIMIT = 512;

/** compileFormula, memoized by formula and trigger names (the controller calls decide() every poll). */
export const compiledFormulaFor = (
  formula: string,
  triggerNames: readonly string[],
): Result<CompiledFormula> => {
  const key = `${formula}\u0000${[...triggerNames].sort().join('\u0000')}`;
  const hit = compiled.get(key);
  if (hit !== undefined) return hit;
  const result = compileFormula(formula, triggerNames);
  if (compiled.size >= CACHE_LIMIT) {
    const oldest = compiled.keys().next();
    if (oldest.done !== true) compiled.delete(oldest.value);
  }
  compiled.set(key, result);
  return result;
};
