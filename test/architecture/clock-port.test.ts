// Scope item 4 of issue 12: one clock port. Outside src/clock.ts nothing in src/ or scalers/
// reads the time or arms a timer by itself: every `setTimeout`, `setInterval`, `Date.now()`,
// `performance.now()` (called or passed on), argument-less `new Date()` and `AbortSignal.timeout()`
// goes through a
// `Clock` (src/clock.ts), so a test moves time instead of waiting for it. Timers node keeps on a
// socket (`socket.setTimeout`, `server.headersTimeout`) are method calls on that socket, not
// these, and stay: the kernel's I/O decides when they fire.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readTree, type SourceText } from './tree.ts';

/** `path` → why it may read the time itself. */
const ALLOWED: Readonly<Record<string, string>> = {
  'src/clock.ts': 'the port itself: realClock is the one place node’s timers and clocks are read',
};

/** Clock reads and timers named through an object: flagged when called or passed on (`now = Date.now`). */
const RAW_MEMBERS: ReadonlySet<string> = new Set(['Date.now', 'performance.now', 'AbortSignal.timeout']);
/** node's global timers: flagged when called. */
const RAW_CALLS: ReadonlySet<string> = new Set([
  'setTimeout',
  'setInterval',
  'globalThis.setTimeout',
  'globalThis.setInterval',
]);

/** What a node reads the time or arms a timer with, or undefined. */
const rawTime = (node: ts.Node): string | undefined => {
  if (ts.isNewExpression(node)) {
    return node.expression.getText() === 'Date' && (node.arguments?.length ?? 0) === 0
      ? 'new Date()'
      : undefined;
  }
  if (ts.isPropertyAccessExpression(node) && RAW_MEMBERS.has(node.getText())) return node.getText();
  if (ts.isCallExpression(node) && RAW_CALLS.has(node.expression.getText()))
    return `${node.expression.getText()}()`;
  return undefined;
};

/** `path:line what` for every raw clock read or timer outside the allowed files. */
const rawClockUses = (files: readonly SourceText[]): string[] => {
  const out: string[] = [];
  for (const { path, text } of files) {
    if (ALLOWED[path] !== undefined) continue;
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const what = rawTime(node);
      if (what !== undefined) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        out.push(`${path}:${line} ${what}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
};

describe('every timer and clock read on the Clock port (src/clock.ts)', () => {
  const files = readTree();

  it('reads the whole tree, and every allowed file exists', () => {
    expect(files.length).toBeGreaterThan(100);
    for (const path of Object.keys(ALLOWED)) expect(files.map((f) => f.path)).toContain(path);
  });

  it('nothing outside src/clock.ts reads the time or arms a timer by itself', () => {
    expect(rawClockUses(files)).toEqual([]);
  });

  it('names the file, line and call of each kind it refuses, and leaves socket timeouts alone', () => {
    const text = [
      'const t = setTimeout(() => {}, 10);',
      'setInterval(tick, 1000);',
      'const started = performance.now();',
      'const at = Date.now();',
      'const today = new Date();',
      'const signal = AbortSignal.timeout(5000);',
      'globalThis.setTimeout(f, 1);',
      'const clockOf = (o) => o.now ?? Date.now;',
      // Accepted: the port, a given time, node's per-socket timeouts, a string of browser code.
      'clock.after(10, f); clock.now(); new Date(0); new Date(at);',
      'socket.setTimeout(1000); req.setTimeout(5, f); server.headersTimeout = 1;',
      "const page = 'setInterval(refresh, 1000)';",
    ].join('\n');
    expect(rawClockUses([{ path: 'src/x.ts', text }])).toEqual([
      'src/x.ts:1 setTimeout()',
      'src/x.ts:2 setInterval()',
      'src/x.ts:3 performance.now',
      'src/x.ts:4 Date.now',
      'src/x.ts:5 new Date()',
      'src/x.ts:6 AbortSignal.timeout',
      'src/x.ts:7 globalThis.setTimeout()',
      'src/x.ts:8 Date.now',
    ]);
  });
});
