// Where the controller's heap goes, by ebb component: retained bytes (heap-graph.ts's dominator
// tree) of each component's root objects, each component net of the components nested in it.
// The controller bench writes a snapshot with EBB_BENCH_HEAPSNAPSHOT=<file>.
//
//   node --max-old-space-size=8192 --import tsx test/bench/heap-components.ts <file> --objects N
//        [--base <file at fewer objects> --base-objects M] [--detail <component>]
//
// Prints one line per component: MB, bytes per object (MB ÷ N) and, with a base snapshot, the
// per-object slope (MB − base MB) ÷ (N − M), which leaves out what ebb pays before any object.
// --detail splits one component's line by node type and constructor.
//
// Component roots, by constructor or by shape (plain objects have none):
// - instances of the classes in CLASS_COMPONENTS (informers are told apart by their path);
// - Tracked entries (the controller's per-object record: has ref, regarding, status, loop) and,
//   nested in them, their `status` (status cache), `log` (child logger) and `loop`; a Loop's
//   `triggers` (scaler instances).
// A node belongs to its nearest dominating component root; what no root dominates (code,
// modules, V8's own) is grouped by node type. Weak edges never retain; shortcut edges only from
// the synthetic root (as Chrome DevTools' dominator tree does).
import { readFileSync } from 'node:fs';
import { dominators, type HeapGraph, owners } from './heap-graph.ts';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Constructor → component. undici's Agent/Pool/Client and Node's sockets are the connection pools. */
const CLASS_COMPONENTS: Readonly<Record<string, string>> = {
  ResilientInformer: 'informer',
  PollScheduler: 'scheduler entries (PollScheduler)',
  WorkQueue: 'work queue',
  EbbMetrics: 'metrics series (EbbMetrics, prom-client Registry)',
  MetricReadings: 'metric readings (external metrics API)',
  TokenBucket: 'status-write pacing (TokenBucket queue)',
  KubeClient: 'API client (KubeClient)',
  Agent: 'connection pools and sockets (undici, TLS)',
  Pool: 'connection pools and sockets (undici, TLS)',
  TLSSocket: 'connection pools and sockets (undici, TLS)',
  Controller: 'controller (other fields)',
};
const TRACKED = 'Tracked entries (other fields)';
/** Property of a Tracked entry / a Loop → the component its value heads. */
const TRACKED_FIELDS: Readonly<Record<string, string>> = {
  status: 'status cache (Tracked.status)',
  log: 'per-object loggers (Tracked.log)',
  loop: 'poll loops (Tracked.loop, other fields)',
};
const LOOP_FIELDS: Readonly<Record<string, string>> = { triggers: 'scaler instances (Loop.triggers)' };

const hasFields = (names: ReadonlySet<string>, fields: readonly string[]): boolean =>
  fields.every((f) => names.has(f));

/** Bytes by component (and by node type for what no component dominates). */
const componentBytes = (file: string, detail?: string): Map<string, number> => {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const width = meta.node_fields.length;
  const ewidth = meta.edge_fields.length;
  const TYPE = meta.node_fields.indexOf('type');
  const NAME = meta.node_fields.indexOf('name');
  const SIZE = meta.node_fields.indexOf('self_size');
  const EDGES = meta.node_fields.indexOf('edge_count');
  const ETYPE = meta.edge_fields.indexOf('type');
  const ENAME = meta.edge_fields.indexOf('name_or_index');
  const ETO = meta.edge_fields.indexOf('to_node');
  const edgeTypes = meta.edge_types[0];
  const WEAK = edgeTypes.indexOf('weak');
  const SHORTCUT = edgeTypes.indexOf('shortcut');
  const PROPERTY = edgeTypes.indexOf('property');
  const nodeTypes = meta.node_types[0];
  const OBJECT = nodeTypes.indexOf('object');
  const n = snap.nodes.length / width;
  const at = (i: number) => snap.nodes[i] as number;

  // The graph over retaining edges only.
  const firstEdge = new Uint32Array(n + 1);
  const edgeTo = new Uint32Array(snap.edges.length / ewidth);
  const selfSize = new Float64Array(n);
  let kept = 0;
  for (let v = 0, e = 0; v < n; v++) {
    firstEdge[v] = kept;
    selfSize[v] = at(v * width + SIZE);
    for (let k = at(v * width + EDGES); k > 0; k--, e += ewidth) {
      const type = snap.edges[e + ETYPE];
      if (type === WEAK || (type === SHORTCUT && v !== 0)) continue;
      edgeTo[kept++] = (snap.edges[e + ETO] as number) / width;
    }
  }
  firstEdge[n] = kept;
  const g: HeapGraph = { nodeCount: n, firstEdge, edgeTo, selfSize };

  // Component roots.
  const names: string[] = [];
  const index = new Map<string, number>();
  const component = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    return i;
  };
  const label = new Int32Array(n).fill(-1);
  // One pass over the edges: each object's property names, to recognise Tracked entries and Loops.
  const firstRaw = new Float64Array(n);
  for (let v = 0, e = 0; v < n; v++) {
    firstRaw[v] = e;
    e += at(v * width + EDGES) * ewidth;
  }
  const propsOf = (v: number): Map<string, number> => {
    const props = new Map<string, number>();
    let e = firstRaw[v] as number;
    for (let k = at(v * width + EDGES); k > 0; k--, e += ewidth)
      if (snap.edges[e + ETYPE] === PROPERTY)
        props.set(
          snap.strings[snap.edges[e + ENAME] as number] ?? '',
          (snap.edges[e + ETO] as number) / width,
        );
    return props;
  };
  /** A string node's text; a concatenated (cons) string is its `first` then its `second`. */
  const stringValue = (v: number): string => {
    if (nodeTypes[at(v * width + TYPE)] !== 'concatenated string')
      return snap.strings[at(v * width + NAME)] ?? '';
    let e = firstRaw[v] as number;
    const parts = new Map<string, number>();
    for (let k = at(v * width + EDGES); k > 0; k--, e += ewidth)
      parts.set(snap.strings[snap.edges[e + ENAME] as number] ?? '', (snap.edges[e + ETO] as number) / width);
    const first = parts.get('first');
    const second = parts.get('second');
    return (
      (first === undefined ? '' : stringValue(first)) + (second === undefined ? '' : stringValue(second))
    );
  };
  const labelFields = (props: Map<string, number>, fields: Readonly<Record<string, string>>) => {
    for (const [field, name] of Object.entries(fields)) {
      const target = props.get(field);
      if (target !== undefined && label[target] === -1) label[target] = component(name);
    }
  };
  for (let v = 0; v < n; v++) {
    if (at(v * width + TYPE) !== OBJECT) continue;
    const ctor = snap.strings[at(v * width + NAME)] ?? '';
    const byClass = CLASS_COMPONENTS[ctor];
    if (byClass !== undefined) {
      let name = byClass;
      if (ctor === 'ResilientInformer') {
        const opts = propsOf(v).get('opts');
        const path = opts === undefined ? undefined : propsOf(opts).get('path');
        name = `informer ${path === undefined ? '?' : stringValue(path)}`;
        // Its client-node ListWatch (the cache) is also reachable from the watch's callbacks.
        const listWatch = propsOf(v).get('informer');
        if (listWatch !== undefined) label[listWatch] = component(name);
      }
      label[v] = component(name);
      continue;
    }
    // Tracked entries are TrackedEntry instances (src/controller/tracked.ts); an object literal
    // with the same fields (older code, test doubles) counts too.
    if (ctor !== 'Object' && ctor !== 'TrackedEntry') continue;
    const props = propsOf(v);
    const keys = new Set(props.keys());
    if (hasFields(keys, ['ref', 'regarding', 'status', 'loop'])) {
      label[v] = component(TRACKED);
      labelFields(props, TRACKED_FIELDS);
      const loop = props.get('loop');
      if (loop !== undefined) labelFields(propsOf(loop), LOOP_FIELDS);
    }
  }

  const owner = owners(dominators(g), label);
  const bytes = new Map<string, number>();
  for (let v = 0; v < n; v++) {
    const o = owner[v] as number;
    const type = nodeTypes[at(v * width + TYPE)] ?? '?';
    let key = o >= 0 ? (names[o] as string) : `(no component: ${type})`;
    // --detail: that component's bytes split by node type and constructor.
    if (key === detail)
      key = `${key} / ${type} ${type === 'object' || type === 'closure' ? snap.strings[at(v * width + NAME)] : ''}`;
    bytes.set(key, (bytes.get(key) ?? 0) + (selfSize[v] as number));
  }
  return bytes;
};

const main = (): void => {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  const file = argv[0];
  const objects = Number(flag('--objects') ?? 0);
  if (file === undefined || !(objects > 0)) {
    process.stderr.write('usage: heap-components.ts <file> --objects N [--base <file> --base-objects M]\n');
    process.exit(2);
  }
  const detail = flag('--detail');
  const at = componentBytes(file, detail);
  const baseFile = flag('--base');
  const base = baseFile === undefined ? undefined : componentBytes(baseFile, detail);
  const baseObjects = Number(flag('--base-objects') ?? 0);
  const mb = (b: number) => (b / 1048576).toFixed(2);
  let total = 0;
  for (const b of at.values()) total += b;
  process.stdout.write(`${file}: ${mb(total)} MB reachable, ${objects} objects\n`);
  process.stdout.write(
    `${'MB'.padStart(8)} ${'B/object'.padStart(9)}${base ? ` ${'slope B/obj'.padStart(11)}` : ''}  component\n`,
  );
  for (const [name, b] of [...at].sort((x, y) => y[1] - x[1])) {
    const slope =
      base === undefined
        ? ''
        : ` ${String(Math.round((b - (base.get(name) ?? 0)) / (objects - baseObjects))).padStart(11)}`;
    process.stdout.write(
      `${mb(b).padStart(8)} ${String(Math.round(b / objects)).padStart(9)}${slope}  ${name}\n`,
    );
  }
};

main();
