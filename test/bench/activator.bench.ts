// Activator benchmark: the same node:http backend measured directly and through the activator,
// in the same run, on 127.0.0.1 only.
//
//   npm run bench:activator            (--requests <n> sequential pairs, --duration <s> per autocannon
//                                       run, --cold-starts <n>, --held <n>, --scale-writes <n>,
//                                       --phases latency,throughput,cold,held,scale: the phases to
//                                       run, all by default; the JSON has the figures of those run)
//
// Processes (test/activator/bench-processes.ts): this one (the clients), a backend child, an
// activator child (so its CPU and memory are its own; driven over IPC: endpoints, stats,
// cpuUsage, memoryUsage after gc()), for the memory baseline a bare node:http child, and for the
// scale-write phase etcd + kube-apiserver and an `ebb` child (`ebb activator`'s wiring).
// Clocks: process.hrtime.bigint() is CLOCK_MONOTONIC, the same clock in every process of the
// machine, so a time taken in one child is compared with a time taken in another.
//
//   added latency     N sequential requests on one keep-alive connection each way, alternating
//                     direct / through; added p50 = p50(through) − p50(direct), p99 likewise
//   throughput        autocannon (its own process) at saturation, direct then through; ratio;
//                     requests per activator CPU-second = through requests / Δ cpuUsage
//   cold start        K times: a route with no endpoint; t0 = the client writes the request;
//                     poke latency = poke callback time − t0 (the activator's part alone,
//                     `cold_start_poke_p99_ms`); then the endpoint is published: ready → forwarded
//                     = backend arrival time − the time the EndpointSource change was applied
//   scale write       (test/bench/cold-start.ts) `ebb activator`'s wiring (controller + activator
//                     in one process) against a real kube-apiserver + etcd started for it: first
//                     held request → the API server's answer to the controller's /scale PATCH,
//                     `cold_start_scale_write_p99_ms` (and → a Deployment watch's event)
//   held requests     a fresh activator process; M concurrent requests held on a cold route,
//                     memory (after gc) before and while held: RSS delta / M (heap + external
//                     delta / M alongside); the endpoint appears; every answer must be a 200
// The LAST line printed is one JSON object.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../src/activator/ports.ts';
import {
  type Child,
  type FromActivator,
  HOST,
  type Role,
  type ToActivator,
} from '../activator/bench-processes.ts';
import { coldStartScaleWrites } from './cold-start.ts';
import { percentile, round } from './common.ts';

const log = (msg: string): void => {
  process.stdout.write(`[bench] ${msg}\n`);
};

interface Args {
  requests: number;
  duration: number;
  coldStarts: number;
  held: number;
  scaleWrites: number;
  phases: ReadonlySet<Phase>;
}

const PHASES = ['latency', 'throughput', 'cold', 'held', 'scale'] as const;
type Phase = (typeof PHASES)[number];
const isPhase = (s: string): s is Phase => (PHASES as readonly string[]).includes(s);

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = {
    requests: 20_000,
    duration: 8,
    coldStarts: 200,
    held: 10_000,
    scaleWrites: 100,
    phases: new Set(PHASES),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1] ?? '';
    switch (argv[i]) {
      case '--requests':
        args.requests = Number(value);
        break;
      case '--duration':
        args.duration = Number(value);
        break;
      case '--cold-starts':
        args.coldStarts = Number(value);
        break;
      case '--held':
        args.held = Number(value);
        break;
      case '--scale-writes':
        args.scaleWrites = Number(value);
        break;
      case '--phases': {
        const phases = value.split(',');
        const unknown = phases.filter((p) => !isPhase(p));
        if (unknown.length > 0)
          throw new Error(`--phases: unknown ${unknown.join(', ')}; known: ${PHASES.join(', ')}`);
        args.phases = new Set(phases.filter(isPhase));
        break;
      }
      default:
        throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  return args;
};

// ---------------------------------------------------------------- the parent's tools

const processes = fileURLToPath(new URL('../activator/bench-processes.ts', import.meta.url));

const startChild = (role: Role, extra: readonly string[] = []): Promise<Child> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', processes, '--role', role, ...extra],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      },
    );
    const queued: FromActivator[] = [];
    const waiting: { type: string; resolve: (m: FromActivator) => void }[] = [];
    proc.on('message', (m: FromActivator) => {
      const i = waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
      else queued.push(m);
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0 && code !== null) reject(new Error(`${role} exited with ${code}`));
    });
    const child = {
      proc,
      port: 0,
      next: <T extends FromActivator['type']>(type: T): Promise<Extract<FromActivator, { type: T }>> => {
        const i = queued.findIndex((m) => m.type === type);
        if (i >= 0) return Promise.resolve(queued.splice(i, 1)[0] as Extract<FromActivator, { type: T }>);
        return new Promise((res) =>
          waiting.push({ type, resolve: (m) => res(m as Extract<FromActivator, { type: T }>) }),
        );
      },
      send: (m: ToActivator) => {
        proc.send(m);
      },
    };
    void child.next('ready').then((m) => resolve({ ...child, port: m.port }));
  });

/** A keep-alive HTTP/1.1 client on one raw socket: one request at a time, Content-Length answers. */
class RawClient {
  private buf = '';
  private want = -1;
  private pending: ((response: string) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(request: string): Promise<string> {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.socket.write(request);
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    if (this.want < 0) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length: *(\d+)/i.exec(this.buf.slice(0, end));
      this.want = end + 4 + Number(m?.[1] ?? 0);
    }
    if (this.buf.length < this.want) return;
    const response = this.buf.slice(0, this.want);
    this.buf = this.buf.slice(this.want);
    this.want = -1;
    const p = this.pending;
    this.pending = undefined;
    p?.(response);
  }
}

const requestFor = (path: string, host = HOST): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

const sortedCopy = (xs: readonly number[] | Float64Array): Float64Array => Float64Array.from(xs).sort();

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

// ---------------------------------------------------------------- phases

const measureLatency = async (
  backendPort: number,
  activatorPort: number,
  n: number,
): Promise<{ direct: Float64Array; through: Float64Array }> => {
  const direct = await RawClient.open(backendPort);
  const through = await RawClient.open(activatorPort);
  const req = requestFor('/');
  for (let i = 0; i < 2_000; i++) {
    await direct.send(req);
    await through.send(req);
  }
  const d = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t0 = process.hrtime.bigint();
    await direct.send(req);
    d[i] = nsToMs(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    const answer = await through.send(req);
    t[i] = nsToMs(process.hrtime.bigint() - t0);
    if (!answer.startsWith('HTTP/1.1 200')) throw new Error(`through the activator: ${answer.slice(0, 80)}`);
  }
  direct.socket.destroy();
  through.socket.destroy();
  return { direct: d.sort(), through: t.sort() };
};

interface CannonResult {
  readonly requests: number;
  readonly rps: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
}

const autocannon = (port: number, seconds: number): Promise<CannonResult> =>
  new Promise((resolve, reject) => {
    const bin = createRequire(import.meta.url).resolve('autocannon');
    const proc = spawn(
      process.execPath,
      [bin, '-j', '-c', '64', '-d', String(seconds), '-H', `host=${HOST}`, `http://127.0.0.1:${port}/`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.on('error', reject);
    proc.on('exit', () => {
      try {
        const j = JSON.parse(out) as {
          requests: { total: number; average: number };
          non2xx: number;
          errors: number;
          latency: { p50: number; p99: number };
        };
        resolve({
          requests: j.requests.total,
          rps: j.requests.average,
          non2xx: j.non2xx,
          errors: j.errors,
          p50: j.latency.p50,
          p99: j.latency.p99,
        });
      } catch (err) {
        reject(new Error(`autocannon: ${String(err)}: ${out.slice(0, 200)}`));
      }
    });
  });

const cpuSeconds = async (a: Child): Promise<number> => {
  a.send({ type: 'cpu' });
  const u = await a.next('cpu');
  return (u.user + u.system) / 1e6;
};

const setEndpoints = async (a: Child, service: string, endpoints: Endpoint[]): Promise<bigint> => {
  a.send({ type: 'set', service, endpoints });
  return (await a.next('set')).at;
};

const coldStarts = async (
  a: Child,
  backend: Endpoint,
  k: number,
): Promise<{ poke: Float64Array; readyToForward: Float64Array; pokes: number }> => {
  const poke: number[] = [];
  const ready: number[] = [];
  let pokes = 0;
  for (let i = 0; i < k; i++) {
    const client = await RawClient.open(a.port);
    const t0 = process.hrtime.bigint();
    const answer = client.send(requestFor(`/cold/${i}`, 'cold.bench'));
    const p = await a.next('poke');
    pokes++;
    poke.push(nsToMs(p.at - t0));
    const readyAt = await setEndpoints(a, 'bench/cold:80', [backend]);
    const response = await answer;
    const arrived = /\r\nx-arrived-ns: *(\d+)/i.exec(response)?.[1];
    if (!response.startsWith('HTTP/1.1 200') || arrived === undefined)
      throw new Error(`cold start ${i}: ${response.slice(0, 120)}`);
    ready.push(nsToMs(BigInt(arrived) - readyAt));
    client.socket.destroy();
    await setEndpoints(a, 'bench/cold:80', []);
  }
  return { poke: sortedCopy(poke), readyToForward: sortedCopy(ready), pokes };
};

/**
 * Holds `m` requests on `a` (a fresh process), measures its memory after gc before and while they
 * are held, then releases them (`set` endpoints) and counts the 200s. `held` tells when all are in.
 */
const heldRequests = async (
  a: Child,
  backend: Endpoint,
  m: number,
  allHeld: () => Promise<boolean>,
): Promise<{ perHeldKb: number; perHeldHeapKb: number; ok: number; releaseMs: number }> => {
  a.send({ type: 'mem' });
  const before = await a.next('mem');
  let ok = 0;
  let answered = 0;
  let allAnswered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const sockets: Socket[] = [];
  const BATCH = 500;
  for (let i = 0; i < m; i += BATCH) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(m, i + BATCH); j++) {
      batch.push(
        new Promise<void>((resolve) => {
          const s = connect(a.port, '127.0.0.1', () => {
            s.write(requestFor(`/hold/${j}`, 'hold.bench'));
            resolve();
          });
          let buf = '';
          let settled = false;
          s.setEncoding('latin1');
          const finish = (status200: boolean): void => {
            if (settled) return;
            settled = true;
            if (status200) ok++;
            answered++;
            s.destroy();
            if (answered === m) allAnswered();
          };
          s.on('data', (c: string) => {
            buf += c;
            const end = buf.indexOf('\r\n\r\n');
            if (end >= 0 && buf.length >= end + 4 + 2) finish(buf.startsWith('HTTP/1.1 200'));
          });
          s.on('error', () => {});
          s.on('close', () => finish(false));
          sockets.push(s);
        }),
      );
    }
    await Promise.all(batch);
  }
  while (!(await allHeld())) await new Promise((r) => setTimeout(r, 50));
  a.send({ type: 'mem' });
  const after = await a.next('mem');
  const t0 = process.hrtime.bigint();
  await setEndpoints(a, 'bench/hold:80', [backend]);
  await done;
  const releaseMs = nsToMs(process.hrtime.bigint() - t0);
  return {
    perHeldKb: (after.rss - before.rss) / m / 1024,
    perHeldHeapKb: (after.heapUsed + after.external - before.heapUsed - before.external) / m / 1024,
    ok,
    releaseMs,
  };
};

// ---------------------------------------------------------------- main

const main = async (args: Args): Promise<void> => {
  const started = Date.now();
  const run = (phase: Phase): boolean => args.phases.has(phase);
  const result: Record<string, number> = {};
  let lost = 0;
  const backendChild = await startChild('backend');
  const a = await startChild('activator');
  const backend: Endpoint = { address: '127.0.0.1', port: backendChild.port };
  await setEndpoints(a, 'bench/app:80', [backend]);
  log(`backend :${backendChild.port}, activator :${a.port} (pid ${a.proc.pid})`);

  if (run('latency')) {
    const lat = await measureLatency(backendChild.port, a.port, args.requests);
    const dp50 = percentile(lat.direct, 50);
    const dp99 = percentile(lat.direct, 99);
    const tp50 = percentile(lat.through, 50);
    const tp99 = percentile(lat.through, 99);
    log(
      `latency (${args.requests} sequential, keep-alive) direct p50 ${round(dp50)} ms p99 ${round(dp99)} ms; ` +
        `through p50 ${round(tp50)} ms p99 ${round(tp99)} ms`,
    );
    result.added_latency_p50_ms = round(tp50 - dp50);
    result.added_latency_p99_ms = round(tp99 - dp99);
  }

  if (run('throughput')) {
    const direct = await autocannon(backendChild.port, args.duration);
    const cpu0 = await cpuSeconds(a);
    const through = await autocannon(a.port, args.duration);
    const cpu = (await cpuSeconds(a)) - cpu0;
    log(
      `throughput direct ${Math.round(direct.rps)} req/s (p99 ${direct.p99} ms), through ${Math.round(through.rps)} req/s (p99 ${through.p99} ms); through errors ${through.errors}, non-2xx ${through.non2xx}`,
    );
    log(
      `activator CPU ${round(cpu)} s for ${through.requests} requests: ${round((cpu / through.requests) * 1e6, 1)} µs ` +
        `per request, ${Math.round(through.requests / cpu)} requests per CPU-second`,
    );
    result.throughput_ratio = round(through.rps / direct.rps);
    result.requests_per_cpu_second = Math.round(through.requests / cpu);
    lost += through.errors + through.non2xx;
  }

  let coldFigures: Record<string, number> = {};
  if (run('cold')) {
    const cold = await coldStarts(a, backend, args.coldStarts);
    log(
      `cold start x${args.coldStarts}: request → poke p50 ${round(percentile(cold.poke, 50))} ms p99 ${round(percentile(cold.poke, 99))} ms; ` +
        `endpoint ready → forwarded p50 ${round(percentile(cold.readyToForward, 50))} ms p99 ${round(percentile(cold.readyToForward, 99))} ms; ` +
        `${cold.pokes} pokes`,
    );
    coldFigures = {
      cold_start_poke_p99_ms: round(percentile(cold.poke, 99)),
      ready_to_forward_p99_ms: round(percentile(cold.readyToForward, 99)),
    };
  }
  a.proc.kill();

  let heldFigures: Record<string, number> = {};
  if (run('held')) {
    // A fresh activator process: its memory before holding is a baseline untouched by the phases above.
    const fresh = await startChild('activator');
    const allHeld = (c: Child) => async (): Promise<boolean> => {
      c.send({ type: 'stats' });
      const s = await c.next('stats');
      return (s.stats.routes.find((r) => r.route === 'bench/hold')?.held ?? 0) >= args.held;
    };
    const held = await heldRequests(fresh, backend, args.held, allHeld(fresh));
    fresh.proc.kill();
    log(
      `${args.held} held: ${round(held.perHeldKb, 2)} KB RSS / ${round(held.perHeldHeapKb, 2)} KB heap+external per held request; ` +
        `released in ${Math.round(held.releaseMs)} ms, ${held.ok} answered 200`,
    );
    // The same load on a bare node:http server that only holds: node's own cost per open request.
    const bareChild = await startChild('bare');
    const bare = await heldRequests(bareChild, backend, args.held, allHeld(bareChild));
    bareChild.proc.kill();
    log(
      `bare node:http holding the same ${args.held}: ${round(bare.perHeldKb, 2)} KB RSS / ${round(bare.perHeldHeapKb, 2)} KB heap+external per request ` +
        `(${bare.ok} answered); the activator's own share: ${round(held.perHeldKb - bare.perHeldKb, 2)} KB RSS / ` +
        `${round(held.perHeldHeapKb - bare.perHeldHeapKb, 2)} KB heap`,
    );
    heldFigures = {
      held_request_kb: round(held.perHeldKb, 2),
      held_request_heap_kb: round(held.perHeldHeapKb, 2),
      bare_node_http_held_request_kb: round(bare.perHeldKb, 2),
    };
    lost += args.held - held.ok;
  }
  backendChild.proc.kill();

  if (run('scale')) {
    const writes = await coldStartScaleWrites(startChild, args.scaleWrites, log);
    const ms = (xs: Float64Array): string =>
      `p50 ${round(percentile(xs, 50))} ms p99 ${round(percentile(xs, 99))} ms`;
    log(
      `cold start x${args.scaleWrites} (real API server): request → scale write answered ${ms(writes.write)}; ` +
        `→ watch event ${ms(writes.watch)}; parts: request → poke ${ms(writes.poke)}, poke → PATCH sent ${ms(writes.poll)}, ` +
        `PATCH round trip ${ms(writes.patch)}; warm-up run ${round(writes.warmUpMs)} ms (not counted); ` +
        `${writes.writes} writes, ${writes.pokes} pokes for ${args.scaleWrites + 1} cold starts`,
    );
    result.cold_start_scale_write_p99_ms = round(percentile(writes.write, 99));
    result.cold_start_scale_write_watch_p99_ms = round(percentile(writes.watch, 99));
  }
  log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The keys in the order of the full run's line (phases not run are left out).
  Object.assign(result, coldFigures, heldFigures, { lost_requests: lost });
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

main(parseArgs(process.argv.slice(2))).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
