// What one held request costs the process that holds it (issue 4: "≤ 10 KB per held request"),
// measured variant by variant. Not part of `npm run bench:activator`; run by hand:
//
//   node --import tsx test/bench/held-memory-study.ts [--held N] [--body BYTES] [--variants a,b,…]
//                                                     [--snapshot VARIANT] [--trim]
//
// Each variant is a fresh child process (`--child VARIANT`, --expose-gc, IPC) holding N requests,
// each on its own client connection (this process is the client and the backend, all on
// 127.0.0.1). Memory is read in the child after two gc() calls:
//   rss, RssAnon (/proc/self/status), V8 heap used and committed (sum of the spaces' physical
//   sizes), external + arrayBuffers, and glibc's own count (malloc_stats() through node:ffi:
//   bytes in use by malloc, and bytes malloc holds from the system).
// Two rounds per variant: round 1 = a fresh process (what bench:activator reports), round 2 =
// the same process again after round 1 was answered and its connections closed (the marginal
// cost, with the heap and malloc arenas already grown). Every held request is released at the
// end of its round, its body (--body BYTES, POSTed right after the head) streamed through, and
// must come back 200 with the body's length: a variant that loses a request fails the run.
//
// Variants (children):
//   net           net.createServer: a raw socket that read one request head (no HTTP machinery)
//   http          bare node:http server holding `res` (bench:activator's baseline)
//   http-pause    the same, req.socket.pause() while held (resumed on release)
//   http-hwm      createServer({ highWaterMark: 1024 })
//   http-timer    bare + what the activator adds per held request in node objects: a setTimeout
//                 (60 s), a res.once('close', closure) and a small per-request object
//   activator     createActivator (src/activator/server.ts) holding on a route with no endpoint;
//                 released by publishing this process's backend
//   activator-pause  the same, the socket paused on arrival when the body is not all read yet
//                 (released by forward's req.pipe, which resumes it)
//   activator-notimer  the same without the per-request hold-timeout timer (setTimeout of the
//                 route's 120 s returns nothing): what one shared timer per route would save
//   activator-arena1, http-arena1   the same with MALLOC_ARENA_MAX=1 (environment, not code)
//   activator-semi1, http-semi1     the same with --max-semi-space-size=1 (V8 flag)
// --snapshot VARIANT: also writes heap snapshots before and while held in that variant and prints
// the retained self size per held request by node type/name (JS objects and node's native
// wrappers: TCPSocketWrap, HTTPParser, …).
// --trim: after each measurement also calls malloc_trim(0) and reads rss again (what glibc keeps
// of freed memory; an environment effect, reported apart).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const HOLD_HOST = 'hold.bench';

interface Mem {
  rss: number;
  rssAnon: number;
  heapUsed: number;
  heapCommitted: number;
  newSpace: number;
  external: number;
  mallocInUse: number;
  mallocSystem: number;
  rssTrimmed: number;
}

type ToChild =
  | { type: 'mem'; trim: boolean }
  | { type: 'release'; backendPort: number }
  | { type: 'held' }
  | { type: 'cold' }
  | { type: 'snapshot'; file: string };

type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'mem'; mem: Mem }
  | { type: 'held'; held: number }
  | { type: 'released' }
  | { type: 'snapshot' };

// ---------------------------------------------------------------- the child

const statusKb = (field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'latin1'));
  return m === null ? 0 : Number(m[1]) * 1024;
};

interface Libc {
  malloc_stats(): void;
  malloc_trim(pad: bigint): number;
}

const libc = async (): Promise<Libc | undefined> => {
  try {
    const ffi = (await import('node:ffi' as string)) as {
      dlopen(path: string, defs: object): { functions: Libc };
    };
    return ffi.dlopen('libc.so.6', {
      malloc_stats: { arguments: [], return: 'void' },
      malloc_trim: { arguments: ['uint64'], return: 'int32' },
    }).functions;
  } catch {
    return undefined;
  }
};

const childMem = (c: Libc | undefined, trim: boolean): Mem => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  let heapCommitted = 0;
  let newSpace = 0;
  for (const s of getHeapSpaceStatistics()) {
    heapCommitted += s.physical_space_size;
    if (s.space_name === 'new_space') newSpace = s.physical_space_size;
  }
  // malloc_stats() prints to stderr; the parent reads it from there (see parseMalloc).
  c?.malloc_stats();
  let rssTrimmed = 0;
  if (trim && c !== undefined) {
    c.malloc_trim(0n);
    rssTrimmed = process.memoryUsage.rss();
  }
  return {
    rss: u.rss,
    rssAnon: statusKb('RssAnon'),
    heapUsed: u.heapUsed,
    heapCommitted,
    newSpace,
    // arrayBuffers is already part of external (node's docs).
    external: u.external,
    mallocInUse: 0,
    mallocSystem: 0,
    rssTrimmed,
  };
};

/** What a variant holds: each entry answers its request when called with the backend's port. */
type Held = (backendPort: number) => void;

/** Reads the body, answers 200 with its length. */
const answer = (req: IncomingMessage, res: ServerResponse): void => {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
  });
  req.on('end', () => {
    const body = String(n);
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
};

const httpVariant = (variant: string, held: Held[]): (() => AddressInfo) => {
  const server = createServer(variant === 'http-hwm' ? { highWaterMark: 1024 } : {});
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 60_000;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (variant === 'http-pause') req.socket.pause();
    if (variant === 'http-timer') {
      const state = { req, res, at: performance.now(), deadline: 0, next: undefined, prev: undefined };
      const t = setTimeout((s: typeof state) => s.res.destroy(), 60_000, state);
      res.once('close', () => {
        clearTimeout(t);
        state.deadline = -1;
      });
    }
    held.push(() => {
      if (variant === 'http-pause') req.socket.resume();
      answer(req, res);
    });
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  return () => server.address() as AddressInfo;
};

const netVariant = (held: Held[]): (() => AddressInfo) => {
  const server = createNetServer({ noDelay: true }, (socket: Socket) => {
    let buf = '';
    let n = -1;
    let want = 0;
    let released = false;
    const reply = (): void => {
      const body = String(n);
      socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    };
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      if (n >= 0) {
        n += c.length;
        if (released && n === want) reply();
        return;
      }
      buf += c;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      want = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? '0');
      n = buf.length - end - 4;
      buf = '';
      held.push(() => {
        released = true;
        if (n >= want) reply();
      });
    });
    socket.on('error', () => {});
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  return () => server.address() as AddressInfo;
};

const runChild = async (variant: string): Promise<void> => {
  const c = await libc();
  const held: Held[] = [];
  let address: () => AddressInfo;
  let stats: () => number = () => held.length;
  let cold: () => void = () => {};
  let release: (port: number) => void = (port) => {
    for (const h of held.splice(0)) h(port);
  };
  const base = variant.replace(/-(arena1|semi1)$/, '');
  if (base === 'net') address = netVariant(held);
  else if (base === 'activator' || base === 'activator-notimer' || base === 'activator-pause') {
    if (base === 'activator-notimer') {
      // Measurement only: no timer object for the hold timeout (120 s), as if one shared timer
      // per route served every held request (the real change keeps the 504s; this one drops them).
      const real = globalThis.setTimeout;
      globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
        ms === 120_000 ? undefined : real(fn, ms, ...rest)) as unknown as typeof setTimeout;
    }
    const { createActivator } = await import('../../src/activator/server.ts');
    const { MemoryEndpointSource } = await import('../activator/memory-endpoints.ts');
    const source = new MemoryEndpointSource();
    const activator = createActivator({
      endpoints: source,
      routes: [
        {
          key: 'bench/hold',
          hosts: [HOLD_HOST],
          pathPrefixes: ['/'],
          service: 'hold',
          port: 80,
          containerConcurrency: 0,
          holdTimeoutMs: 120_000,
          maxHeldRequests: 40_000,
          healthPaths: [],
        },
      ],
      poke: () => {},
      limits: { maxHeldRequests: 40_000 },
      id: 'study',
    });
    // Measurement of a proposed change: a held request whose body is still arriving stops being
    // read (every request of this study is held); forward's req.pipe(up) resumes the socket.
    if (base === 'activator-pause')
      activator.server.prependListener('request', (req: IncomingMessage) => {
        if (!req.complete) req.socket.pause();
      });
    activator.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
    address = () => activator.server.address() as AddressInfo;
    stats = () => activator.stats().routes.find((r) => r.route === 'bench/hold')?.held ?? 0;
    release = (port) => source.set('bench/hold:80', [{ address: '127.0.0.1', port }]);
    // The next round holds again: the Service goes cold once the released requests are answered.
    cold = () => source.set('bench/hold:80', []);
  } else address = httpVariant(base, held);
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  process.on('message', (m: ToChild) => {
    if (m.type === 'mem') send({ type: 'mem', mem: childMem(c, m.trim) });
    else if (m.type === 'held') send({ type: 'held', held: stats() });
    else if (m.type === 'cold') {
      cold();
      send({ type: 'released' });
    } else if (m.type === 'release') {
      release(m.backendPort);
      send({ type: 'released' });
    } else if (m.type === 'snapshot') {
      (globalThis as { gc?: () => void }).gc?.();
      writeHeapSnapshot(m.file);
      send({ type: 'snapshot' });
    }
  });
  process.on('disconnect', () => process.exit(0));
  setImmediate(function waitListening() {
    const a = address();
    if (a === null) setTimeout(waitListening, 10);
    else send({ type: 'ready', port: a.port });
  });
};

// ---------------------------------------------------------------- the parent

interface Args {
  held: number;
  body: number;
  variants: string[];
  snapshot: string;
  trim: boolean;
}

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = {
    held: 10_000,
    body: 64,
    variants: ['net', 'http', 'http-pause', 'http-hwm', 'http-timer', 'activator'],
    snapshot: '',
    trim: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1] ?? '';
    switch (argv[i]) {
      case '--held':
        args.held = Number(value);
        i++;
        break;
      case '--body':
        args.body = Number(value);
        i++;
        break;
      case '--variants':
        args.variants = value.split(',');
        i++;
        break;
      case '--snapshot':
        args.snapshot = value;
        i++;
        break;
      case '--trim':
        args.trim = true;
        break;
      default:
        throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  return args;
};

interface ChildHandle {
  proc: ChildProcess;
  port: number;
  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>>;
  send(m: ToChild): void;
  /** The malloc_stats() blocks printed so far: [in use, system] of each (Total incl. mmap). */
  malloc: [number, number][];
  /** Per arena "in use/system" MB of each malloc_stats() block. */
  arenas: string[];
}

const self = fileURLToPath(import.meta.url);

const startChild = (variant: string): Promise<ChildHandle> =>
  new Promise((resolve, reject) => {
    const env = { ...process.env };
    const flags = ['--expose-gc', '--no-warnings'];
    if (variant.endsWith('-arena1')) env.MALLOC_ARENA_MAX = '1';
    if (variant.endsWith('-semi1')) flags.push('--max-semi-space-size=1');
    const proc = spawn(process.execPath, [...flags, '--import', 'tsx', self, '--child', variant], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
      env,
    });
    const queued: FromChild[] = [];
    const waiting: { type: string; resolve: (m: FromChild) => void }[] = [];
    let err = '';
    const malloc: [number, number][] = [];
    const arenas: string[] = [];
    proc.stderr?.setEncoding('latin1');
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const re = /Total \(incl\. mmap\):\s+system bytes\s+=\s+(\d+)\s+in use bytes\s+=\s+(\d+)/g;
      let m = re.exec(err);
      let last = 0;
      while (m !== null) {
        malloc.push([Number(m[2]), Number(m[1])]);
        const per = [
          ...err
            .slice(0, m.index)
            .matchAll(/Arena (\d+):\s+system bytes\s+=\s+(\d+)\s+in use bytes\s+=\s+(\d+)/g),
        ];
        arenas.push(
          per
            .map(
              (a) => `${a[1]}:${(Number(a[3]) / 1048576).toFixed(1)}/${(Number(a[2]) / 1048576).toFixed(1)}`,
            )
            .join(' '),
        );
        last = re.lastIndex;
        m = re.exec(err);
      }
      err = err.slice(last);
      if (/Error|error:/.test(err)) process.stderr.write(err);
    });
    proc.on('message', (m: FromChild) => {
      const i = waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
      else queued.push(m);
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0 && code !== null) reject(new Error(`${variant} exited with ${code}: ${err}`));
    });
    const child: ChildHandle = {
      proc,
      port: 0,
      malloc,
      arenas,
      next: <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> => {
        const i = queued.findIndex((m) => m.type === type);
        if (i >= 0) return Promise.resolve(queued.splice(i, 1)[0] as Extract<FromChild, { type: T }>);
        return new Promise<Extract<FromChild, { type: T }>>((res) =>
          waiting.push({ type, resolve: (m) => res(m as Extract<FromChild, { type: T }>) }),
        );
      },
      send: (m) => {
        proc.send(m);
      },
    };
    void child.next('ready').then((m) => {
      child.port = m.port;
      resolve(child);
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const memOf = async (c: ChildHandle, trim: boolean): Promise<Mem> => {
  const seen = c.malloc.length;
  c.send({ type: 'mem', trim });
  const { mem } = await c.next('mem');
  for (let i = 0; i < 100 && c.malloc.length === seen; i++) await sleep(10);
  const block = c.malloc[c.malloc.length - 1];
  if (c.malloc.length > seen && block !== undefined) {
    mem.mallocInUse = block[0];
    mem.mallocSystem = block[1];
  }
  return mem;
};

/** Opens `n` connections, each sending one request (POST with `body` bytes), held by the child. */
const holdRound = async (
  c: ChildHandle,
  n: number,
  body: number,
): Promise<{ answered: Promise<{ ok: number; wrong: number }> }> => {
  const payload = 'x'.repeat(body);
  const head = `POST /hold HTTP/1.1\r\nHost: ${HOLD_HOST}\r\ncontent-type: text/plain\r\ncontent-length: ${body}\r\n\r\n`;
  let ok = 0;
  let wrong = 0;
  let done = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((r) => {
    allDone = r;
  });
  const BATCH = 500;
  for (let i = 0; i < n; i += BATCH) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++)
      batch.push(
        new Promise<void>((resolve) => {
          const s = connect(c.port, '127.0.0.1', () => {
            s.write(head + payload);
            resolve();
          });
          let buf = '';
          let settled = false;
          s.setEncoding('latin1');
          const finish = (good: boolean): void => {
            if (settled) return;
            settled = true;
            if (good) ok++;
            else wrong++;
            done++;
            s.destroy();
            if (done === n) allDone();
          };
          s.on('data', (d: string) => {
            buf += d;
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? '-1');
            if (len >= 0 && buf.length >= end + 4 + len)
              finish(buf.startsWith('HTTP/1.1 200') && buf.slice(end + 4, end + 4 + len) === String(body));
          });
          s.on('error', () => {});
          s.on('close', () => finish(false));
        }),
      );
    await Promise.all(batch);
  }
  for (;;) {
    c.send({ type: 'held' });
    if ((await c.next('held')).held >= n) break;
    await sleep(50);
  }
  return { answered: finished.then(() => ({ ok, wrong })) };
};

const KB = 1024;
const perHeld = (a: Mem, b: Mem, n: number): Record<string, number> => {
  const d = (k: keyof Mem): number => Math.round(((b[k] - a[k]) / n / KB) * 100) / 100;
  const out: Record<string, number> = {
    rss: d('rss'),
    rssAnon: d('rssAnon'),
    heapUsed: d('heapUsed'),
    heapCommitted: d('heapCommitted'),
    newSpace: d('newSpace'),
    external: d('external'),
    mallocInUse: d('mallocInUse'),
    mallocSystem: d('mallocSystem'),
  };
  if (a.rssTrimmed > 0 && b.rssTrimmed > 0) out.rssAfterTrim = d('rssTrimmed');
  return out;
};

/** Sums self sizes per "type:name" of a heap snapshot (V8's JSON format). */
const snapshotSizes = (file: string): Map<string, { count: number; size: number }> => {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] ?? 0] ?? '?';
    let name = snap.strings[snap.nodes[i + iName] ?? 0] ?? '?';
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code' || type === 'hidden') name = name.slice(0, 40);
    const key = `${type}:${name.slice(0, 60)}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + iSize] ?? 0;
    out.set(key, e);
  }
  return out;
};

const snapshotDiff = (before: string, after: string, n: number): void => {
  const a = snapshotSizes(before);
  const b = snapshotSizes(after);
  const rows: [string, number, number][] = [];
  let total = 0;
  for (const [k, v] of b) {
    const w = a.get(k) ?? { count: 0, size: 0 };
    const size = v.size - w.size;
    total += size;
    if (Math.abs(size) / n >= 16) rows.push([k, (v.count - w.count) / n, size / n]);
  }
  rows.sort((x, y) => y[2] - x[2]);
  process.stdout.write(`  heap snapshot, per held request: ${Math.round(total / n)} B in total\n`);
  for (const [k, count, size] of rows.slice(0, 45))
    process.stdout.write(
      `    ${String(Math.round(size)).padStart(6)} B  ${count.toFixed(2).padStart(6)} ×  ${k}\n`,
    );
};

const runParent = async (args: Args): Promise<void> => {
  const backend = createServer(answer);
  backend.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => backend.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  const backendPort = (backend.address() as AddressInfo).port;
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const variant of args.variants) {
    const c = await startChild(variant);
    try {
      const m0 = await memOf(c, args.trim);
      const r1 = await holdRound(c, args.held, args.body);
      const snap = args.snapshot === variant;
      const files = [
        join(tmpdir(), `held-before-${process.pid}.heapsnapshot`),
        join(tmpdir(), `held-after-${process.pid}.heapsnapshot`),
      ];
      const m1 = await memOf(c, args.trim);
      c.send({ type: 'release', backendPort });
      const a1 = await r1.answered;
      c.send({ type: 'cold' });
      await c.next('released');
      await c.next('released');
      await sleep(200);
      const m2 = await memOf(c, args.trim);
      if (snap) {
        c.send({ type: 'snapshot', file: files[0] as string });
        await c.next('snapshot');
      }
      const r2 = await holdRound(c, args.held, args.body);
      const m3 = await memOf(c, args.trim);
      if (snap) {
        c.send({ type: 'snapshot', file: files[1] as string });
        await c.next('snapshot');
      }
      c.send({ type: 'release', backendPort });
      const a2 = await r2.answered;
      const lost = 2 * args.held - a1.ok - a2.ok;
      if (lost > 0) failed = true;
      if (process.env.STUDY_DEBUG !== undefined)
        for (const [name, m] of Object.entries({ m0, m1, m2, m3 }))
          process.stdout.write(
            `  ${name}: rss ${(m.rss / KB / KB).toFixed(1)} MB, heapCommitted ${(m.heapCommitted / KB / KB).toFixed(1)}, heapUsed ${(m.heapUsed / KB / KB).toFixed(1)}, malloc in use ${(m.mallocInUse / KB / KB).toFixed(1)} / system ${(m.mallocSystem / KB / KB).toFixed(1)}; arenas ${c.arenas[['m0', 'm1', 'm2', 'm3'].indexOf(name)] ?? ''}\n`,
          );
      results[variant] = { fresh: perHeld(m0, m1, args.held), warm: perHeld(m2, m3, args.held), lost };
      process.stdout.write(
        `${variant}: fresh ${JSON.stringify(perHeld(m0, m1, args.held))}\n${' '.repeat(variant.length)}  warm  ${JSON.stringify(perHeld(m2, m3, args.held))}\n` +
          `${' '.repeat(variant.length)}  answered 200 with the body: ${a1.ok + a2.ok}/${2 * args.held}; base rss ${Math.round(m0.rss / KB / KB)} MB\n`,
      );
      if (snap) {
        snapshotDiff(files[0] as string, files[1] as string, args.held);
        for (const f of files) rmSync(f, { force: true });
      }
    } finally {
      c.proc.disconnect();
      await new Promise((r) => c.proc.once('exit', r));
    }
  }
  backend.closeAllConnections();
  backend.close();
  process.stdout.write(`${JSON.stringify({ held: args.held, body: args.body, results })}\n`);
  if (failed) process.exitCode = 1;
};

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) void runChild(process.argv[childAt + 1] ?? '');
else
  runParent(parseArgs(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
