// scalingModifiers.formula, step 1: expr-lang source -> a loop-free program, in one pass over
// the characters (lexing, parsing, type checking and code generation together), so compiling is
// linear in the formula's length. Anything outside KEDA's documented scalar subset is refused
// with the construct and its offset: lists, maps, member access, strings, macros, pipes, `let`.
//
// Grammar and precedence are expr-lang's (parser/operator/operator.go), lowest first:
//   c ? a : b   (right associative)
//   || or  10,  && and  15,  == != < <= > >=  20,  + -  30,  * / %  60,  ??  500 (left)
//   unary: ! not  50,  - +  90   (`-a ?? 1` is `-(a ?? 1)`, `!a == b` is `(!a) == b`)
// and expr-lang's two rules on top: `??` is not mixed with another binary operator on one
// level without parentheses, and comparisons do not chain (ebb refuses `a < b < c`).
//
// Tokens come from formula-lex.ts. The program (formula.ts evaluates it) is a list of
// instructions over a value stack; jumps only go forward, so no evaluation runs more
// instructions than the program has.

import { describeToken, lex, Refusal, type Token } from './formula-lex.ts';

/** Static types; at run time a `number` may also be nil (a trigger beyond its fallback threshold). */
export type ValueType = 'number' | 'bool' | 'nil';
export type Value = number | boolean | null;

export const OP = {
  CONST: 0,
  LOAD: 1,
  NEG: 2,
  NOT: 3,
  ADD: 4,
  SUB: 5,
  MUL: 6,
  DIV: 7,
  MOD: 8,
  LT: 9,
  LE: 10,
  GT: 11,
  GE: 12,
  EQ: 13,
  NE: 14,
  /** `&&`: top false or nil -> jump to a (keeping it), else pop. */
  AND: 15,
  /** `||`: top true or nil -> jump to a (keeping it), else pop. */
  OR: 16,
  /** `??`: top not nil -> jump to a (keeping it), else pop. */
  COALESCE: 17,
  /** `c ? x : y`: pop c; nil -> push nil, jump to b; false -> jump to a; true -> go on. */
  BRANCH: 18,
  JUMP: 19,
  /** Function a (FUNCTIONS index) over the top b values. */
  CALL: 20,
} as const;

export interface Instruction {
  readonly op: number;
  /** LOAD: variable index; CALL: function; jumps: target. */
  a: number;
  /** CALL: argument count; BRANCH: the nil target. */
  b: number;
  /** CONST: the value. */
  readonly k: Value;
}

/** expr-lang's numeric builtins ebb supports, in CALL's index order. */
export const FUNCTIONS = ['abs', 'ceil', 'float', 'floor', 'int', 'max', 'min', 'round'] as const;
const VARIADIC: ReadonlySet<string> = new Set(['max', 'min']);

export interface ParsedFormula {
  readonly code: readonly Instruction[];
  /** Variable names in LOAD index order. */
  readonly names: readonly string[];
  /** Upper bound on evaluation steps: one per instruction, plus one per function argument. */
  readonly cost: number;
  readonly type: ValueType;
}

/** A refusal: what is wrong, and where (a UTF-16 offset into the formula; absent: the whole). */
export interface ParseError {
  readonly message: string;
  readonly offset?: number;
}

const BINARY: Readonly<Record<string, { readonly precedence: number; readonly op: number }>> = {
  '||': { precedence: 10, op: OP.OR },
  or: { precedence: 10, op: OP.OR },
  '&&': { precedence: 15, op: OP.AND },
  and: { precedence: 15, op: OP.AND },
  '==': { precedence: 20, op: OP.EQ },
  '!=': { precedence: 20, op: OP.NE },
  '<': { precedence: 20, op: OP.LT },
  '<=': { precedence: 20, op: OP.LE },
  '>': { precedence: 20, op: OP.GT },
  '>=': { precedence: 20, op: OP.GE },
  '+': { precedence: 30, op: OP.ADD },
  '-': { precedence: 30, op: OP.SUB },
  '*': { precedence: 60, op: OP.MUL },
  '/': { precedence: 60, op: OP.DIV },
  '%': { precedence: 60, op: OP.MOD },
  '??': { precedence: 500, op: OP.COALESCE },
};
const COMPARISON_PRECEDENCE = 20;

export interface ParseLimits {
  /** Static cost (evaluation steps) above which the formula is refused. */
  readonly cost: number;
  /** Nesting (recursion) depth above which the formula is refused. */
  readonly depth: number;
}

/** Parses, type-checks and compiles `source`; the cost is checked once the whole is read. */
export const parseFormula = (
  source: string,
  limits: ParseLimits,
): { ok: true; value: ParsedFormula } | { ok: false; error: ParseError } => {
  try {
    const parser = new Parser(source, limits.depth);
    const type = parser.parse();
    return { ok: true, value: { code: parser.code, names: parser.names, cost: parser.cost(), type } };
  } catch (error) {
    if (error instanceof Refusal) {
      return {
        ok: false,
        error:
          error.offset === undefined
            ? { message: error.message }
            : { message: error.message, offset: error.offset },
      };
    }
    throw error;
  }
};

class Parser {
  readonly code: Instruction[] = [];
  readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private arguments = 0;
  private depth = 0;
  private token: Token;

  constructor(
    private readonly source: string,
    private readonly maxDepth: number,
  ) {
    this.token = lex(source, 0);
  }

  cost(): number {
    return this.code.length + this.arguments;
  }

  parse(): ValueType {
    const type = this.expression(0);
    if (this.token.kind !== 'end')
      throw new Refusal(`unexpected ${describeToken(this.token)} after a complete expression`, this.token.at);
    return type;
  }

  private next(): Token {
    const current = this.token;
    this.token = lex(this.source, current.at + current.text.length);
    return current;
  }

  private isOp(text: string): boolean {
    return this.token.kind === 'op' && this.token.text === text;
  }

  private emit(op: number, a = 0, b = 0, k: Value = null): Instruction {
    const instruction: Instruction = { op, a, b, k };
    this.code.push(instruction);
    return instruction;
  }

  /** expr-lang's parseExpression: operators of at least `precedence`, then `?:` at level 0. */
  private expression(precedence: number): ValueType {
    if (++this.depth > this.maxDepth)
      throw new Refusal(`nests deeper than ${this.maxDepth} levels`, this.token.at);
    let left = this.unary();
    let previous = '';
    for (;;) {
      const t = this.token;
      const binary = t.kind === 'op' ? BINARY[t.text] : undefined;
      if (binary === undefined || binary.precedence < precedence) break;
      if (previous === '??' && t.text !== '??')
        throw new Refusal(`?? cannot be mixed with ${t.text} without parentheses`, t.at);
      if (
        BINARY[previous]?.precedence === COMPARISON_PRECEDENCE &&
        binary.precedence === COMPARISON_PRECEDENCE
      )
        throw new Refusal('chained comparisons are not supported; write a < b && b < c', t.at);
      this.next();
      left = this.binary(t, binary.op, binary.precedence, left);
      previous = t.text;
    }
    if (precedence === 0 && this.isOp('?')) left = this.conditional(left);
    this.depth--;
    return left;
  }

  private binary(t: Token, op: number, precedence: number, left: ValueType): ValueType {
    const name = t.text === 'and' ? '&&' : t.text === 'or' ? '||' : t.text;
    if (op === OP.AND || op === OP.OR || op === OP.COALESCE) {
      // Short-circuit: the right operand is skipped when the left decides.
      const jump = this.emit(op);
      const right = this.expression(precedence + 1);
      jump.a = this.code.length;
      if (op === OP.COALESCE)
        return unify(left, right, () => `?? needs operands of one type, got ${left} and ${right}`, t.at);
      if (left !== 'bool' || right !== 'bool')
        throw new Refusal(`${name} needs bools, got ${left} and ${right}`, t.at);
      return 'bool';
    }
    const right = this.expression(precedence + 1);
    this.emit(op);
    if (op === OP.EQ || op === OP.NE) {
      if (left !== right && left !== 'nil' && right !== 'nil')
        throw new Refusal(`${name} compares values of one type, got ${left} and ${right}`, t.at);
      return 'bool';
    }
    if (left !== 'number' || right !== 'number')
      throw new Refusal(`${name} needs numbers, got ${left} and ${right}`, t.at);
    return precedence === COMPARISON_PRECEDENCE ? 'bool' : 'number';
  }

  /** `cond ? a : b`, with `cond` already compiled. */
  private conditional(condition: ValueType): ValueType {
    const question = this.next();
    if (this.isOp(':')) throw new Refusal('the ?: shorthand is not supported; write c ? a : b', question.at);
    if (condition !== 'bool')
      throw new Refusal(`the condition before ? must be a bool, got ${condition}`, question.at);
    const branch = this.emit(OP.BRANCH);
    const then = this.expression(0);
    if (!this.isOp(':'))
      throw new Refusal(`expected ":" of ? :, found ${describeToken(this.token)}`, this.token.at);
    this.next();
    const skip = this.emit(OP.JUMP);
    branch.a = this.code.length;
    const otherwise = this.expression(0);
    skip.a = this.code.length;
    branch.b = this.code.length;
    return unify(
      then,
      otherwise,
      () => `the branches of ? : must have one type, got ${then} and ${otherwise}`,
      question.at,
    );
  }

  private unary(): ValueType {
    const t = this.token;
    if (t.kind === 'op' && (t.text === '!' || t.text === 'not' || t.text === '-' || t.text === '+')) {
      this.next();
      const logical = t.text === '!' || t.text === 'not';
      const type = this.expression(logical ? 50 : 90);
      if (logical) {
        if (type !== 'bool') throw new Refusal(`${t.text} needs a bool, got ${type}`, t.at);
        this.emit(OP.NOT);
      } else {
        if (type !== 'number') throw new Refusal(`unary ${t.text} needs a number, got ${type}`, t.at);
        if (t.text === '-') this.emit(OP.NEG);
      }
      return type;
    }
    const type = this.primary();
    // Postfix forms of expr-lang ebb does not support.
    if (this.isOp('.')) throw new Refusal('member access (.) is not supported', this.token.at);
    if (this.isOp('[')) throw new Refusal('indexing ([]) is not supported', this.token.at);
    return type;
  }

  private primary(): ValueType {
    const t = this.next();
    if (t.kind === 'number') {
      this.emit(OP.CONST, 0, 0, t.value);
      return 'number';
    }
    if (t.kind === 'name') {
      if (t.text === 'true' || t.text === 'false') {
        this.emit(OP.CONST, 0, 0, t.text === 'true');
        return 'bool';
      }
      if (t.text === 'nil') {
        this.emit(OP.CONST);
        return 'nil';
      }
      if (this.isOp('(')) return this.call(t);
      let index = this.nameIndex.get(t.text);
      if (index === undefined) {
        index = this.names.length;
        this.names.push(t.text);
        this.nameIndex.set(t.text, index);
      }
      this.emit(OP.LOAD, index);
      return 'number';
    }
    if (t.kind === 'op' && t.text === '(') {
      const type = this.expression(0);
      if (!this.isOp(')'))
        throw new Refusal(`expected ")", found ${describeToken(this.token)}`, this.token.at);
      this.next();
      return type;
    }
    if (t.kind === 'op' && t.text === '[') throw new Refusal('list literals are not supported', t.at);
    if (t.kind === 'op' && t.text === '.') throw new Refusal('member access (.) is not supported', t.at);
    if (t.kind === 'end') throw new Refusal('unexpected end of the formula, expected an operand', t.at);
    throw new Refusal(`unexpected ${describeToken(t)}, expected an operand`, t.at);
  }

  private call(name: Token): ValueType {
    const fn = (FUNCTIONS as readonly string[]).indexOf(name.text);
    if (fn < 0)
      throw new Refusal(
        `function ${name.text} is not supported (supported: ${FUNCTIONS.join(', ')})`,
        name.at,
      );
    this.next(); // (
    let count = 0;
    if (this.isOp(')')) this.next();
    else {
      for (;;) {
        const type = this.expression(0);
        if (type !== 'number') throw new Refusal(`${name.text} needs numbers, got ${type}`, name.at);
        count++;
        if (this.isOp(')')) {
          this.next();
          break;
        }
        if (!this.isOp(','))
          throw new Refusal(
            `expected "," or ")" in the call of ${name.text}, found ${describeToken(this.token)}`,
            this.token.at,
          );
        this.next();
      }
    }
    if (VARIADIC.has(name.text)) {
      if (count === 0) throw new Refusal(`${name.text} needs at least one argument`, name.at);
    } else if (count !== 1) {
      throw new Refusal(`${name.text} takes one argument, got ${count}`, name.at);
    }
    this.arguments += count;
    this.emit(OP.CALL, fn, count);
    return 'number';
  }
}

/** The type of `a ?? b` and of `c ? a : b`: one type, where nil goes with any. */
const unify = (a: ValueType, b: ValueType, message: () => string, at: number): ValueType => {
  if (a === b || b === 'nil') return a;
  if (a === 'nil') return b;
  throw new Refusal(message(), at);
};
