// Scope item 1 of issue 12: nothing in src/ or scalers/ keeps mutable state at module level, so
// two controllers (or activators) in one process share nothing. Every file is parsed with the
// TypeScript compiler and each top-level binding is checked:
// - `let` / `var` at top level: refused (a module-wide variable).
// - `const` whose value is a fresh mutable object: refused unless it is typed `Readonly…` /
//   `readonly T[]`, written `as const`, or wrapped in `Object.freeze`. A fresh mutable object is
//   an array or object literal, `new X(…)` for any X but RegExp (a Map, Set, WeakMap, Agent,
//   AbortController…), or a regular expression with the `g`/`y` flag (its `lastIndex` is state).
// - a class's `static` field: refused unless `readonly` with a value the rule above accepts.
// What a function call returns is not judged (a syntax check cannot know); state built by a call
// at module level shows up in review, and factories here return per-instance objects.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readTree, type SourceText } from './tree.ts';

/**
 * `path name` → why it must stay module-wide. (The local Reaper's `groups` and `partial` are not
 * here: they live in the script the Reaper runs as its own process, a string to this module.)
 */
const ALLOWED: Readonly<Record<string, string>> = {
  'src/scaling/formula.ts compiled':
    'the memo of compileFormula, a pure function: values frozen, at most 512 entries; a shared hit is what each controller would compile',
  'src/logging.ts settings':
    "the CLI's --log-level/--log-format: one per process (like its stdout), set once by the command line before any component starts; no controller writes it",
  'src/logging.ts processOut':
    "the process logger's stdout stream (JSON or text, chosen by those settings): one stdout per process",
};

const isReadonlyType = (type: ts.TypeNode | undefined): boolean =>
  type !== undefined &&
  ((ts.isTypeOperatorNode(type) && type.operator === ts.SyntaxKind.ReadonlyKeyword) ||
    (ts.isTypeReferenceNode(type) && /^Readonly/.test(type.typeName.getText())));

const isConstAssertion = (e: ts.Expression): boolean =>
  (ts.isAsExpression(e) || ts.isTypeAssertionExpression(e)) &&
  ts.isTypeReferenceNode(e.type) &&
  e.type.typeName.getText() === 'const';

const isFreeze = (e: ts.Expression): boolean =>
  ts.isCallExpression(e) && e.expression.getText() === 'Object.freeze';

const STATEFUL_FLAGS = /[gy]/;

/** What makes the value of a top-level binding mutable state, or undefined when nothing does. */
const mutableValue = (e: ts.Expression): string | undefined => {
  if (isConstAssertion(e) || isFreeze(e)) return undefined;
  if (ts.isParenthesizedExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e))
    return mutableValue(e.expression);
  if (ts.isAsExpression(e)) return isReadonlyType(e.type) ? undefined : mutableValue(e.expression);
  if (ts.isArrayLiteralExpression(e)) return 'an array literal';
  if (ts.isObjectLiteralExpression(e)) return 'an object literal';
  if (ts.isRegularExpressionLiteral(e)) {
    const flags = e.text.slice(e.text.lastIndexOf('/') + 1);
    return STATEFUL_FLAGS.test(flags) ? `a /${flags} regular expression (lastIndex)` : undefined;
  }
  if (ts.isNewExpression(e)) {
    const name = e.expression.getText();
    if (name !== 'RegExp') return `new ${name}`;
    const flags = e.arguments?.[1];
    return flags !== undefined && (!ts.isStringLiteral(flags) || STATEFUL_FLAGS.test(flags.text))
      ? 'a RegExp with the g/y flag (lastIndex)'
      : undefined;
  }
  // `new AbortController().signal`: the object the chain starts from is shared too.
  if (ts.isPropertyAccessExpression(e)) return mutableValue(e.expression);
  if (ts.isConditionalExpression(e)) return mutableValue(e.whenTrue) ?? mutableValue(e.whenFalse);
  return undefined;
};

/** `path:line name: reason` for every top-level binding that is mutable state. */
const moduleState = (files: readonly SourceText[]): string[] => {
  const out: string[] = [];
  for (const { path, text } of files) {
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const report = (node: ts.Node, name: string, reason: string) => {
      if (ALLOWED[`${path} ${name}`] !== undefined) return;
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      out.push(`${path}:${line} ${name}: ${reason}`);
    };
    for (const statement of source.statements) {
      if (ts.isVariableStatement(statement)) {
        const list = statement.declarationList;
        const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
        for (const decl of list.declarations) {
          const name = decl.name.getText(source);
          if (!isConst) report(decl, name, `top-level ${list.flags & ts.NodeFlags.Let ? 'let' : 'var'}`);
          else if (decl.initializer !== undefined && !isReadonlyType(decl.type)) {
            const reason = mutableValue(decl.initializer);
            if (reason !== undefined) report(decl, name, `top-level const holding ${reason}`);
          }
        }
      } else if (ts.isClassDeclaration(statement)) {
        for (const member of statement.members) {
          if (!ts.isPropertyDeclaration(member)) continue;
          const mods = ts.getModifiers(member) ?? [];
          if (!mods.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)) continue;
          const name = `${statement.name?.getText(source) ?? 'class'}.${member.name.getText(source)}`;
          if (!mods.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword))
            report(member, name, 'static field not readonly');
          else if (member.initializer !== undefined && !isReadonlyType(member.type)) {
            const reason = mutableValue(member.initializer);
            if (reason !== undefined) report(member, name, `static field holding ${reason}`);
          }
        }
      }
    }
  }
  return out;
};

describe('no module-level mutable state in src/ and scalers/', () => {
  const files = readTree();

  it('reads the whole tree', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it('no top-level binding holds mutable state', () => {
    expect(moduleState(files)).toEqual([]);
  });

  it('every allow-list entry still names a binding that exists', () => {
    for (const key of Object.keys(ALLOWED)) {
      const [path, name] = key.split(' ');
      expect(files.find((f) => f.path === path)?.text, key).toContain(name);
    }
  });

  it('names the file, line, binding and reason of each kind it refuses', () => {
    const text = [
      'let count = 0;',
      'var old = 1;',
      'export const cache = new Map<string, number>();',
      'const seen = new WeakMap<object, string>();',
      'const list: string[] = [];',
      'const table = { a: 1 };',
      'const scan = /x/g;',
      "const scan2 = new RegExp('x', 'y');",
      'const never = new AbortController().signal;',
      'class Pool { static live = 0; static readonly all = new Set(); }',
      // Accepted: immutable by type, by assertion or frozen; constants; functions.
      "const KNOWN: ReadonlySet<string> = new Set(['a']);",
      'const ROWS: readonly number[] = [1, 2];',
      "const MODES = ['a', 'b'] as const;",
      'const DEFAULTS = Object.freeze({ a: 1 });',
      'const TABLE: Readonly<Record<string, number>> = { a: 1 };',
      'const WORD = /^[a-z]+$/;',
      "const RE = new RegExp('^x$');",
      'const LIMIT = 10;',
      'const make = () => new Map();',
      'class Fine { static readonly NAME = "x"; }',
    ].join('\n');
    expect(moduleState([{ path: 'src/x.ts', text }])).toEqual([
      'src/x.ts:1 count: top-level let',
      'src/x.ts:2 old: top-level var',
      'src/x.ts:3 cache: top-level const holding new Map',
      'src/x.ts:4 seen: top-level const holding new WeakMap',
      'src/x.ts:5 list: top-level const holding an array literal',
      'src/x.ts:6 table: top-level const holding an object literal',
      'src/x.ts:7 scan: top-level const holding a /g regular expression (lastIndex)',
      'src/x.ts:8 scan2: top-level const holding a RegExp with the g/y flag (lastIndex)',
      'src/x.ts:9 never: top-level const holding new AbortController',
      'src/x.ts:10 Pool.live: static field not readonly',
      'src/x.ts:10 Pool.all: static field holding new Set',
    ]);
  });
});
