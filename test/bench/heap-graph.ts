// Dominators and retained sizes over a heap graph (a V8 heap snapshot's nodes and edges), for
// heap-components.ts. A node's retained size is the bytes freed if it were gone: its own size
// plus that of every node it dominates (every path from the root to them passes through it).
//
// Dominators: Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001). Number
// the nodes reachable from the root in DFS postorder, then repeat until nothing changes:
//   for each node b ≠ root in reverse postorder:
//     idom(b) = intersect over b's predecessors p that already have an idom
//   intersect(a, b): while a ≠ b, move whichever has the lower postorder number to its idom.
// A node's immediate dominator is its ancestor in the DFS tree, so it has a higher postorder
// number: summing sizes into idom in ascending postorder finishes every subtree before its parent.

/** A graph in compressed rows: node i's successors are `edgeTo[firstEdge[i] .. firstEdge[i + 1])`. */
export interface HeapGraph {
  readonly nodeCount: number;
  /** nodeCount + 1 offsets into edgeTo. */
  readonly firstEdge: Uint32Array;
  readonly edgeTo: Uint32Array;
  readonly selfSize: Float64Array;
}

export interface Dominators {
  /** Immediate dominator of each node; the root's is itself; -1 when unreachable from the root. */
  readonly idom: Int32Array;
  /** Nodes reachable from the root in DFS postorder (the root last). */
  readonly postorder: Uint32Array;
}

/** Builds a HeapGraph from an edge list (tests, and anything small). */
export const graphOf = (
  selfSize: readonly number[],
  edges: readonly (readonly [number, number])[],
): HeapGraph => {
  const n = selfSize.length;
  const firstEdge = new Uint32Array(n + 1);
  for (const [from] of edges) firstEdge[from + 1] = (firstEdge[from + 1] ?? 0) + 1;
  for (let i = 0; i < n; i++) firstEdge[i + 1] = (firstEdge[i + 1] ?? 0) + (firstEdge[i] ?? 0);
  const fill = firstEdge.slice(0, n);
  const edgeTo = new Uint32Array(edges.length);
  for (const [from, to] of edges) edgeTo[(fill[from] as number)++] = to;
  return { nodeCount: n, firstEdge, edgeTo, selfSize: Float64Array.from(selfSize) };
};

/** Iterative DFS from `root` (a heap graph is too deep for recursion): the postorder. */
const postorderFrom = (g: HeapGraph, root: number): Uint32Array => {
  const visited = new Uint8Array(g.nodeCount);
  const order = new Uint32Array(g.nodeCount);
  let count = 0;
  const stackNode = new Uint32Array(g.nodeCount);
  const stackEdge = new Uint32Array(g.nodeCount);
  let top = 0;
  stackNode[0] = root;
  stackEdge[0] = g.firstEdge[root] ?? 0;
  visited[root] = 1;
  while (top >= 0) {
    const v = stackNode[top] as number;
    const e = stackEdge[top] as number;
    if (e < (g.firstEdge[v + 1] as number)) {
      stackEdge[top] = e + 1;
      const w = g.edgeTo[e] as number;
      if (visited[w] === 0) {
        visited[w] = 1;
        top++;
        stackNode[top] = w;
        stackEdge[top] = g.firstEdge[w] as number;
      }
    } else {
      order[count++] = v;
      top--;
    }
  }
  return order.slice(0, count);
};

export const dominators = (g: HeapGraph, root = 0): Dominators => {
  const postorder = postorderFrom(g, root);
  const n = g.nodeCount;
  const rank = new Int32Array(n).fill(-1);
  for (let i = 0; i < postorder.length; i++) rank[postorder[i] as number] = i;
  // Predecessors among reachable nodes, in compressed rows like the successors.
  const firstPred = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (rank[v] === -1) continue;
    for (let e = g.firstEdge[v] as number; e < (g.firstEdge[v + 1] as number); e++)
      firstPred[(g.edgeTo[e] as number) + 1] = (firstPred[(g.edgeTo[e] as number) + 1] as number) + 1;
  }
  for (let i = 0; i < n; i++) firstPred[i + 1] = (firstPred[i + 1] as number) + (firstPred[i] as number);
  const fill = firstPred.slice(0, n);
  const pred = new Uint32Array(firstPred[n] as number);
  for (let v = 0; v < n; v++) {
    if (rank[v] === -1) continue;
    for (let e = g.firstEdge[v] as number; e < (g.firstEdge[v + 1] as number); e++)
      pred[(fill[g.edgeTo[e] as number] as number)++] = v;
  }

  // idom by postorder rank while iterating (the paper's doms[] array); -1 = not yet known.
  const doms = new Int32Array(postorder.length).fill(-1);
  const rootRank = postorder.length - 1;
  doms[rootRank] = rootRank;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a < b) a = doms[a] as number;
      while (b < a) b = doms[b] as number;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let r = rootRank - 1; r >= 0; r--) {
      const b = postorder[r] as number;
      let idom = -1;
      for (let e = firstPred[b] as number; e < (firstPred[b + 1] as number); e++) {
        const p = rank[pred[e] as number] as number;
        if (doms[p] === -1) continue;
        idom = idom === -1 ? p : intersect(p, idom);
      }
      if (doms[r] !== idom) {
        doms[r] = idom;
        changed = true;
      }
    }
  }
  const idom = new Int32Array(n).fill(-1);
  for (let r = 0; r < postorder.length; r++)
    idom[postorder[r] as number] = postorder[doms[r] as number] as number;
  return { idom, postorder };
};

/** Retained size of every node (0 when unreachable): its self size plus its dominator subtree's. */
export const retainedSizes = (g: HeapGraph, d: Dominators): Float64Array => {
  const retained = new Float64Array(g.nodeCount);
  for (const v of d.postorder) retained[v] = (retained[v] as number) + (g.selfSize[v] as number);
  for (const v of d.postorder) {
    const up = d.idom[v] as number;
    if (up !== v) retained[up] = (retained[up] as number) + (retained[v] as number);
  }
  return retained;
};

/**
 * Each reachable node's owner: its own label when `label[v]` ≥ 0, else its immediate
 * dominator's owner (so a component's bytes are what it retains, minus the components nested
 * in it); -1 when no labelled node dominates it. Reverse postorder visits idoms first.
 */
export const owners = (d: Dominators, label: Int32Array): Int32Array => {
  const owner = new Int32Array(label.length).fill(-1);
  for (let r = d.postorder.length - 1; r >= 0; r--) {
    const v = d.postorder[r] as number;
    owner[v] = (label[v] as number) >= 0 ? (label[v] as number) : (owner[d.idom[v] as number] as number);
  }
  return owner;
};
