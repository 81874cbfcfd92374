// scalingModifiers.formula: KEDA writes it in expr-lang. ebb compiles KEDA's documented scalar
// subset itself (formula-parse.ts: one linear pass, never eval) into a loop-free program and
// evaluates it here against the triggers' values, once per poll. Compiled once per formula and
// set of trigger names (memoized).
//
// The subset (what KEDA's documented formulas use):
// - numbers (`1_000`, `.5`, `1e3`; all doubles, so `qlen / 1000` divides as in expr-lang), trigger
//   names, `true`, `false`, `nil`
// - + - * / %  (% on doubles, like fmod), unary - + ! and `not`
// - == != < <= > >=, && || (and expr-lang's `and`, `or`), `c ? a : b`, parentheses
// - max(a, ...) and min(a, ...), abs, ceil, floor, round (half away from zero, Go's math.Round),
//   int (toward zero), float
// - `a ?? b` (binds tighter than arithmetic, as in expr-lang), for fallback.behavior
//   scalingModifiers, where a trigger beyond its failure threshold reads as nil. A nil reaching
//   any other operator, a function or a condition makes the result nil (`==`/`!=` compare it).
// Refused, naming the construct and its offset: lists, maps, indexing, member access, strings,
// power, ranges, pipes, `let`, `in`/`matches`/..., every other builtin (the macros included).
//
// Limits (why: the controller evaluates every object's formula on one event loop, and in `ebb
// local` the activator shares that loop, so one formula must cost microseconds, never seconds;
// the costliest admitted formula measured about 13 µs per evaluation and 0.3 ms to compile on a
// shared 2-core machine):
//   length  <= 4096 characters   checked before parsing; the parser is linear, so this bounds
//                                 admission work (KEDA's documented formulas are < 100)
//   cost    <= 1000 steps        static: one step per instruction plus one per function
//                                 argument. Programs are loop-free and jump only forward, so no
//                                 evaluation runs more steps: the cost is linear in the AST and
//                                 exact as an upper bound, as Kubernetes' CEL cost estimation is
//                                 for CRD rules (there, 1 unit ≈ 50-100 ns; 1000 ≈ 0.1 ms at worst)
//   depth   <= 64 levels          bounds the parser's recursion (parentheses, unary operators,
//                                 operands of tighter operators and ?: chains each count one)
// and at run time a budget of 1000 steps per evaluation, counted as it runs: a program compiled
// under other limits is stopped there (FormulaCostExceeded), never run to completion.
import {
  FormulaCostExceeded,
  fail,
  InvalidSpec,
  MetricNotFinite,
  ok,
  type Problem,
  type ReadErrorReason,
  type Result,
  TriggerError,
} from '../api/reasons.ts';
import { MAX_FORMULA_LENGTH } from '../api/scaledobject.ts';
import { type Instruction, OP, type ParseLimits, parseFormula, type Value } from './formula-parse.ts';

export { MAX_FORMULA_LENGTH };
export const FORMULA_PATH = 'spec.advanced.scalingModifiers.formula';
export const MAX_FORMULA_COST = 1000;
export const MAX_FORMULA_DEPTH = 64;

export interface FormulaLimits extends ParseLimits {
  /** Characters; longer formulas are refused before they are parsed. */
  readonly length: number;
}

export const FORMULA_LIMITS: Readonly<FormulaLimits> = {
  length: MAX_FORMULA_LENGTH,
  cost: MAX_FORMULA_COST,
  depth: MAX_FORMULA_DEPTH,
};

export type FormulaValue =
  | { readonly ok: true; readonly value: number | null }
  | { readonly ok: false; readonly reason: ReadErrorReason; readonly message: string };

export interface CompiledFormula {
  readonly formula: string;
  /** Trigger names the formula reads. */
  readonly references: readonly string[];
  /** The static bound on evaluation steps (admission refuses more than MAX_FORMULA_COST). */
  readonly cost: number;
  /**
   * Evaluates with one value per referenced trigger; null is expr-lang's nil (a trigger beyond
   * its fallback threshold). Stops after `budget` steps. A result that is NaN or infinite is a
   * failed read (MetricNotFinite), never a number.
   */
  evaluate(values: Readonly<Record<string, number | null>>, budget?: number): FormulaValue;
}

const problem = (message: string): Problem[] => [{ path: FORMULA_PATH, reason: InvalidSpec, message }];

const at = (message: string, offset: number | undefined): string =>
  offset === undefined ? message : `${message} (at offset ${offset})`;

/**
 * Compiles a formula against the trigger names it may use. Problems (at
 * spec.advanced.scalingModifiers.formula) name the limit, the construct and its offset, the
 * unknown trigger, or the type.
 */
export const compileFormula = (
  formula: string,
  triggerNames: readonly string[],
  limits: FormulaLimits = FORMULA_LIMITS,
): Result<CompiledFormula> => {
  if (formula.length > limits.length)
    return fail(problem(`is ${formula.length} characters long; the limit is ${limits.length}`));
  const parsed = parseFormula(formula, limits);
  if (!parsed.ok) return fail(problem(at(parsed.error.message, parsed.error.offset)));
  const { code, names, cost, type } = parsed.value;
  const known = new Set(triggerNames);
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    const list = triggerNames.length > 0 ? triggerNames.join(', ') : 'none with a name';
    return fail(
      problem(
        `${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length === 1 ? 'is not a trigger name' : 'are not trigger names'} (triggers: ${list})`,
      ),
    );
  }
  if (type !== 'number') return fail(problem(`must evaluate to a number, not ${type}`));
  if (cost > limits.cost) return fail(problem(`costs ${cost} evaluation steps; the limit is ${limits.cost}`));

  // One stack and one slot array per formula, reused: evaluation is synchronous.
  const stack: Value[] = new Array<Value>(code.length + 1).fill(null);
  const slots: Array<number | null> = new Array<number | null>(names.length).fill(null);
  const evaluate = (
    values: Readonly<Record<string, number | null>>,
    budget = MAX_FORMULA_COST,
  ): FormulaValue => {
    for (let i = 0; i < names.length; i++) {
      const value = values[names[i] as string];
      if (value === undefined)
        return { ok: false, reason: TriggerError, message: `formula: no value for trigger "${names[i]}"` };
      slots[i] = value;
    }
    const result = run(code, slots, stack, budget);
    if (result === BUDGET_EXCEEDED) {
      return {
        ok: false,
        reason: FormulaCostExceeded,
        message: `formula: stopped after ${budget} evaluation steps (the budget per evaluation)`,
      };
    }
    if (result === null || (typeof result === 'number' && Number.isFinite(result)))
      return { ok: true, value: result };
    return {
      ok: false,
      reason: MetricNotFinite,
      message: `formula evaluated to ${String(result)}, not a finite number`,
    };
  };
  return ok({ formula, references: names, cost, evaluate });
};

const BUDGET_EXCEEDED = Symbol('budget exceeded');

// Go's math.Round: half away from zero.
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));
const UNARY_FUNCTIONS: ReadonlyArray<((x: number) => number) | undefined> = [
  Math.abs, // abs
  Math.ceil, // ceil
  (x) => x, // float
  Math.floor, // floor
  Math.trunc, // int: Go's int(float64) truncates toward zero
  undefined, // max
  undefined, // min
  roundHalfAway, // round
];
const MAX_FUNCTION = 5;

/**
 * Runs the program: every instruction is one step, a call one more per argument; a nil operand
 * makes an operator's, a function's or a condition's result nil (except ==, != and ??).
 * The type checker guarantees operand types, so only nil is tested here.
 */
const run = (
  code: readonly Instruction[],
  slots: readonly (number | null)[],
  stack: Value[],
  budget: number,
): Value | typeof BUDGET_EXCEEDED => {
  let top = -1;
  let steps = 0;
  let pc = 0;
  while (pc < code.length) {
    const ins = code[pc] as Instruction;
    pc++;
    if (++steps > budget) return BUDGET_EXCEEDED;
    switch (ins.op) {
      case OP.CONST:
        stack[++top] = ins.k;
        break;
      case OP.LOAD:
        stack[++top] = slots[ins.a] ?? null;
        break;
      case OP.NEG: {
        const x = stack[top];
        stack[top] = x === null ? null : -(x as number);
        break;
      }
      case OP.NOT: {
        const x = stack[top];
        stack[top] = x === null ? null : !x;
        break;
      }
      case OP.EQ:
      case OP.NE: {
        const b = stack[top--];
        const equal = stack[top] === b;
        stack[top] = ins.op === OP.EQ ? equal : !equal;
        break;
      }
      case OP.AND:
      case OP.OR:
      case OP.COALESCE: {
        const x = stack[top];
        const decided = ins.op === OP.COALESCE ? x !== null : x === null || x === (ins.op === OP.OR);
        if (decided) pc = ins.a;
        else top--;
        break;
      }
      case OP.BRANCH: {
        const c = stack[top--];
        if (c === null) {
          stack[++top] = null;
          pc = ins.b;
        } else if (c === false) pc = ins.a;
        break;
      }
      case OP.JUMP:
        pc = ins.a;
        break;
      case OP.CALL: {
        steps += ins.b;
        if (steps > budget) return BUDGET_EXCEEDED;
        const first = top - ins.b + 1;
        stack[first] = call(ins.a, stack, first, top);
        top = first;
        break;
      }
      default: {
        const b = stack[top--];
        const a = stack[top];
        stack[top] = a === null || b === null ? null : arithmetic(ins.op, a as number, b as number);
      }
    }
  }
  return stack[top] ?? null;
};

const arithmetic = (op: number, a: number, b: number): Value => {
  switch (op) {
    case OP.ADD:
      return a + b;
    case OP.SUB:
      return a - b;
    case OP.MUL:
      return a * b;
    case OP.DIV:
      return a / b;
    case OP.MOD:
      return a % b;
    case OP.LT:
      return a < b;
    case OP.LE:
      return a <= b;
    case OP.GT:
      return a > b;
    default:
      return a >= b;
  }
};

/** Function `fn` over stack[first..last]; nil if any argument is nil. */
const call = (fn: number, stack: readonly Value[], first: number, last: number): Value => {
  for (let i = first; i <= last; i++) if (stack[i] === null) return null;
  const unary = UNARY_FUNCTIONS[fn];
  if (unary !== undefined) return unary(stack[first] as number);
  // Math.max/min: a NaN argument makes the result NaN (as Go's math.Max), which then fails the read.
  let result = stack[first] as number;
  for (let i = first + 1; i <= last; i++)
    result =
      fn === MAX_FUNCTION ? Math.max(result, stack[i] as number) : Math.min(result, stack[i] as number);
  return result;
};

// Shared by every controller in the process on purpose (the one module-level table in src/ and
// scalers/, allowed by test/architecture/module-state.test.ts): it memoizes a pure function, so a
// hit is exactly what the caller would compile itself, and its values are frozen; bounded at
// CACHE_LIMIT entries (the oldest goes first), sharing it costs memory, never correctness.
const compiled = new Map<string, Result<CompiledFormula>>();
const CACHE_LIMIT = 512;

/** compileFormula, memoized by formula and trigger names (the controller calls decide() every poll). */
export const compiledFormulaFor = (
  formula: string,
  triggerNames: readonly string[],
): Result<CompiledFormula> => {
  // An over-long formula is refused at once; it is not worth a cache key of its size.
  if (formula.length > MAX_FORMULA_LENGTH) return compileFormula(formula, triggerNames);
  const key = `${formula}\u0000${[...triggerNames].sort().join('\u0000')}`;
  const hit = compiled.get(key);
  if (hit !== undefined) return hit;
  const result = Object.freeze(compileFormula(formula, triggerNames));
  if (result.ok) Object.freeze(result.value);
  if (compiled.size >= CACHE_LIMIT) {
    const oldest = compiled.keys().next();
    if (oldest.done !== true) compiled.delete(oldest.value);
  }
  compiled.set(key, result);
  return result;
};
