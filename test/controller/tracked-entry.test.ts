// The controller's per-object record stays small: V8 keeps an object literal that has a getter
// (the lazy per-object logger) in dictionary mode, a property hash table per entry (1,136 B of
// each object's heap at 10,000 objects, test/bench/heap-components.ts). So the entry has no
// accessor of its own (the getter lives on TrackedEntry's prototype), every entry has the same
// fields, and the logger is still made only when first used.
import { describe, expect, it } from 'vitest';
import type { Tracked } from '../../src/controller/tracked.ts';
import { harness, scaledObject } from './fakes.ts';

const entries = (h: ReturnType<typeof harness>): Map<string, Tracked> =>
  (h.controller as unknown as { tracked: Map<string, Tracked> }).tracked;

describe('Tracked entries', () => {
  it('have no own accessor (no dictionary mode) and one shape, and make the logger on first use', async () => {
    const h = harness();
    h.source.put(scaledObject('a'));
    h.source.put(scaledObject('b'));
    await h.controller.reconcileNow('ns/a');
    await h.controller.reconcileNow('ns/b');
    const [a, b] = [entries(h).get('ns/a'), entries(h).get('ns/b')];
    if (a === undefined || b === undefined) throw new Error('not tracked');
    for (const t of [a, b]) {
      for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(t)))
        expect({ name, accessor: d.get !== undefined || d.set !== undefined }).toEqual({
          name,
          accessor: false,
        });
    }
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(a.log).toBe(a.log);
    expect(a.log).not.toBe(b.log);
  });
});
