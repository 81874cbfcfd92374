// Where a V8 heap snapshot's bytes are, by constructor: the controller bench writes one with
// EBB_BENCH_HEAPSNAPSHOT=<file>, and this prints the top classes by self size with counts, so
// snapshots at 0, 1,000 and 10,000 objects compare line by line (the per-object footprint of
// each class is the difference ÷ the objects added).
//
//   node --import tsx test/bench/heap-summary.ts <file.heapsnapshot> [top=40] [--objects N]
//
// The snapshot format: `nodes` is a flat array of `snapshot.meta.node_fields` per node (type,
// name, id, self_size, edge_count, ...); `strings` holds the names. An object's name is its
// constructor; strings, arrays, code and hidden classes are grouped by their node type.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, ...rest] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: heap-summary.ts <file.heapsnapshot> [top] [--objects N]\n');
  process.exit(2);
}
const top = Number(rest.find((a) => /^\d+$/.test(a)) ?? 40);
const objectsAt = rest.indexOf('--objects');
const objects = objectsAt < 0 ? 0 : Number(rest[objectsAt + 1]);

const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const TYPE = fields.indexOf('type');
const NAME = fields.indexOf('name');
const SIZE = fields.indexOf('self_size');

/** Named objects by constructor; everything else by node type (string, array, code, ...). */
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + TYPE] ?? 0] ?? '?';
  const size = snap.nodes[i + SIZE] ?? 0;
  const key = type === 'object' ? (snap.strings[snap.nodes[i + NAME] ?? 0] ?? '?') : `(${type})`;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
  total += size;
}
const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
const mb = (b: number) => (b / 1048576).toFixed(2);
process.stdout.write(`${file}: ${mb(total)} MB self size in ${snap.nodes.length / width} nodes\n`);
process.stdout.write(
  `${'MB'.padStart(8)} ${'count'.padStart(9)}${objects > 0 ? ' B/object'.padStart(10) : ''}  class\n`,
);
for (const [name, g] of rows) {
  const per = objects > 0 ? String(Math.round(g.bytes / objects)).padStart(10) : '';
  process.stdout.write(
    `${mb(g.bytes).padStart(8)} ${String(g.count).padStart(9)}${per}  ${name.slice(0, 80)}\n`,
  );
}
