// The README's trigger section against the code, so it cannot fall behind. The trigger table:
// every metadata key a scaler accepts (`ScalerDefinition.metadataKeys`, what `ebb validate`
// knows) is in its row, and every key its row names is one the scaler accepts (in a row, a key
// is a `backticked` word outside parentheses; inside them are defaults and values). The http
// panic mode: its windows and threshold are the constants the core uses, and its example
// explanation is what the core prints.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metadataKeysOf, SUPPORTED_TRIGGER_TYPES } from '../../scalers/index.ts';
import { FALLBACK_BEHAVIORS } from '../../src/api/scaledobject.ts';
import {
  type ConcurrencyState,
  concurrencyRecommendation,
  DEFAULT_PANIC_THRESHOLD,
  DEFAULT_PANIC_WINDOW_MS,
  DEFAULT_STABLE_WINDOW_MS,
} from '../../src/scaling/concurrency.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The backticked words of `text` outside parentheses (parentheses inside backticks do not count). */
const keysOutsideParentheses = (text: string): string[] => {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '`') {
      const close = text.indexOf('`', i + 1);
      if (close < 0) break;
      if (depth === 0) keys.push(text.slice(i + 1, close));
      i = close;
    } else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
  }
  return keys;
};

/** The rows of the table under `## Triggers`: trigger types → the keys its metadata cell names. */
const triggerTable = (): { types: string[]; keys: string[] }[] => {
  const section = README.slice(README.indexOf('\n## Triggers\n'));
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| type | metadata'));
  const rows: { types: string[]; keys: string[] }[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [, types = '', metadata = ''] = line.split('|');
    rows.push({ types: keysOutsideParentheses(types), keys: keysOutsideParentheses(metadata) });
  }
  return rows;
};

describe("the README's trigger table", () => {
  const rows = triggerTable();

  it('has one row per supported trigger type', () => {
    expect(rows.flatMap((r) => r.types).sort()).toEqual([...SUPPORTED_TRIGGER_TYPES].sort());
  });

  it.each(SUPPORTED_TRIGGER_TYPES.map((type) => [type]))(
    '%s: its row names exactly the metadata keys the scaler accepts',
    (type) => {
      const row = rows.find((r) => r.types.includes(type));
      const accepted = [...(metadataKeysOf(type) ?? [])].sort();
      expect(accepted.length).toBeGreaterThan(0);
      expect([...new Set(row?.keys)].sort()).toEqual(accepted);
    },
  );

  it('reads keys outside parentheses only', () => {
    expect(keysOutsideParentheses('`a` (`x`, or `b` (nested `y`)), `c` (`(`) + `d` (1)')).toEqual([
      'a',
      'c',
      'd',
    ]);
  });
});

describe("the README's ScaledObject fields", () => {
  it('name every fallback.behavior ebb accepts (issue 13: scalingModifiers was missing)', () => {
    const at = README.indexOf('`ScaledObject` fields:');
    const paragraph = README.slice(at, README.indexOf('\n\n', at));
    const behaviors = /`behavior`: ([^)]*)\)/.exec(paragraph)?.[1] ?? '';
    expect(keysOutsideParentheses(behaviors).sort()).toEqual([...FALLBACK_BEHAVIORS].sort());
  });
});

describe("the README's http panic mode", () => {
  const section = README.slice(README.indexOf('**How an `http` trigger scales: the panic mode.**'));
  const paragraph = section.slice(0, section.indexOf('\n\n'));

  it("states the core's windows and threshold", () => {
    expect(paragraph).toContain(`**stable window of ${DEFAULT_STABLE_WINDOW_MS / 1000} s**`);
    expect(paragraph).toContain(`**panic window of ${DEFAULT_PANIC_WINDOW_MS / 1000} s**`);
    expect(paragraph).toContain(`reaches **${DEFAULT_PANIC_THRESHOLD} ×** the ready replicas`);
  });

  it('shows the explanation the core gives: 54 s at 5 in flight, then 6 s at 45, target 10, one replica', () => {
    const spec = {
      targetPerReplica: 10,
      stableWindowMs: DEFAULT_STABLE_WINDOW_MS,
      panicWindowMs: DEFAULT_PANIC_WINDOW_MS,
      panicThreshold: DEFAULT_PANIC_THRESHOLD,
      currentReplicas: 1,
    };
    let state: ConcurrencyState | undefined;
    let explanation = '';
    for (let second = 0; second < 60; second++) {
      const r = concurrencyRecommendation(
        state,
        { now: second * 1000, concurrency: second < 54 ? 5 : 45 },
        spec,
      );
      state = r.state;
      explanation = r.explanation;
    }
    const example = /e\.g\. `(concurrency [^`]*)`/.exec(paragraph)?.[1];
    expect(example).toBe(`concurrency ${explanation}`);
  });
});
