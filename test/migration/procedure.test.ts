// The README's migration procedure and the integration test that walks it stay in step.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docSteps, PROCEDURE } from './procedure.ts';

const doc = readFileSync('docs/migrating-from-keda.md', 'utf8');

describe('docs/migrating-from-keda.md', () => {
  it('numbers the steps the integration test walks, each with its commands', () => {
    const steps = docSteps(doc);
    expect(steps.map((s) => s.title)).toEqual([...PROCEDURE]);
    for (const step of steps) expect(step.commands.length, step.title).toBeGreaterThan(0);
    expect(doc).toMatch(/^### 1\. /m);
  });

  it('is linked from the README', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('(docs/migrating-from-keda.md)');
  });
});
