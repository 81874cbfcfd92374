// The dominator tree and retained sizes heap-components.ts attributes a heap snapshot with:
// hand-built graphs with known answers, then random graphs against the definition itself
// (d dominates w iff w cannot be reached from the root once d is removed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dominators, graphOf, owners, retainedSizes } from './heap-graph.ts';

const idomOf = (sizes: number, edges: [number, number][]): number[] => [
  ...dominators(graphOf(new Array(sizes).fill(1), edges)).idom,
];

describe('dominators', () => {
  it.each<{ label: string; nodes: number; edges: [number, number][]; idom: number[] }>([
    {
      label: 'a chain',
      nodes: 3,
      edges: [
        [0, 1],
        [1, 2],
      ],
      idom: [0, 0, 1],
    },
    // 0 → 1, 0 → 2, both → 3: neither branch alone dominates the join.
    {
      label: 'a diamond',
      nodes: 4,
      edges: [
        [0, 1],
        [0, 2],
        [1, 3],
        [2, 3],
      ],
      idom: [0, 0, 0, 0],
    },
    // A back edge 3 → 1 does not make 3 dominate 1.
    {
      label: 'a loop',
      nodes: 4,
      edges: [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 1],
      ],
      idom: [0, 0, 1, 2],
    },
    // 4 is unreachable; its edge into 2 must not count.
    {
      label: 'an unreachable node',
      nodes: 5,
      edges: [
        [0, 1],
        [1, 2],
        [4, 2],
        [2, 3],
      ],
      idom: [0, 0, 1, 2, -1],
    },
    // Cooper–Harvey–Kennedy's figure 4: needs a second pass (postorder 5 4 3 2 1 0 with
    // 5 = root, edges 5→4, 5→3, 4→1, 3→2, 1→2, 2→1, 2→0... renumbered here with 0 as root).
    {
      label: "the paper's irreducible graph",
      nodes: 6,
      edges: [
        [0, 1],
        [0, 2],
        [1, 4],
        [2, 3],
        [3, 4],
        [4, 3],
        [3, 5],
        [4, 5],
        [5, 4],
      ],
      idom: [0, 0, 0, 0, 0, 0],
    },
    // Two objects shared by a and b: only the root dominates them; a's own child is a's.
    {
      label: 'shared children',
      nodes: 5,
      edges: [
        [0, 1],
        [0, 2],
        [1, 3],
        [2, 3],
        [1, 4],
      ],
      idom: [0, 0, 0, 0, 1],
    },
  ])('$label', ({ nodes, edges, idom }) => {
    expect(idomOf(nodes, edges)).toEqual(idom);
  });

  /** Every dominator of w by the definition: removing d cuts w off from the root (w itself too). */
  const dominatorSets = (n: number, edges: readonly [number, number][]): (number[] | undefined)[] => {
    const reach = (without: number): boolean[] => {
      const seen = new Array<boolean>(n).fill(false);
      if (without === 0) return seen;
      const stack = [0];
      seen[0] = true;
      while (stack.length > 0) {
        const v = stack.pop() as number;
        for (const [a, b] of edges)
          if (a === v && b !== without && !seen[b]) {
            seen[b] = true;
            stack.push(b);
          }
      }
      return seen;
    };
    const all = reach(-1);
    return Array.from({ length: n }, (_, w) =>
      all[w] ? Array.from({ length: n }, (_, d) => d).filter((d) => d === w || !reach(d)[w]) : undefined,
    );
  };

  it('agrees with the definition on random graphs', () => {
    const graph = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 30 }),
      }),
    );
    fc.assert(
      fc.property(graph, ({ n, edges }) => {
        const { idom } = dominators(graphOf(new Array(n).fill(1), edges));
        const expected = dominatorSets(n, edges);
        for (let w = 0; w < n; w++) {
          const want = expected[w];
          if (want === undefined) {
            expect(idom[w]).toBe(-1);
            continue;
          }
          // The chain w → idom(w) → … → root is exactly w's dominators.
          const chain = [w];
          for (let v = w; v !== 0; v = idom[v] as number) chain.push(idom[v] as number);
          expect(new Set(chain)).toEqual(new Set(want));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('retainedSizes and owners', () => {
  // root(1) → a(10) → x(100); root → b(20); a → s(1000) and b → s: s is shared, the root's.
  const g = graphOf(
    [1, 10, 20, 100, 1000],
    [
      [0, 1],
      [0, 2],
      [1, 3],
      [1, 4],
      [2, 4],
    ],
  );
  const d = dominators(g);

  it('sums each dominator subtree; shared objects go to their common dominator', () => {
    expect([...retainedSizes(g, d)]).toEqual([1131, 110, 20, 100, 1000]);
  });

  it('gives each node to its nearest labelled dominator', () => {
    // a is component 0, x component 1 (nested in a); b and the shared s belong to no component.
    expect([...owners(d, Int32Array.from([-1, 0, -1, 1, -1]))]).toEqual([-1, 0, -1, 1, -1]);
  });
});
