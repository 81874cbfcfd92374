// Activator benchmark: the same node:http backend measured directly and through the activator,
// in the same run, on 127.0.0.1 only.
//
//   npm run bench:activator            (--requests <n> sequential pairs, --duration <s> per autocannon
//                                       run, --cold-starts <n>, --held <n>, --held-streams <n>,
//                                       --scale-writes <n>, --phases
//                                       latency,throughput,cold,h2,grpc,held,scale: the phases to
//                                       run, all by default; the JSON has the figures of those run;
//                                       --activator-node-flags '<flags>': node flags of the activator
//                                       processes, by default the chart's activator.nodeFlags, as
//                                       deployed; '' for node's defaults)
//
// Processes (test/activator/bench-processes.ts, compiled by tsc and run with NODE_ENV=production
// as the image runs the activator (common.ts compileForBench), started by activator-tools.ts): this
// one (the clients), a backend child, an activator child (so its CPU and memory are its own;
// driven over IPC: endpoints, stats, cpuUsage, memoryUsage after gc(), its GC pauses), for the
// memory baseline a bare node:http child, and for the scale-write phase etcd + kube-apiserver and
// an `ebb` child (`ebb activator`'s wiring). The activator, bare and ebb children run with the
// node flags the chart gives the activator (deploy/helm/ebb/values.yaml activator.nodeFlags).
// Clocks: process.hrtime.bigint() is CLOCK_MONOTONIC, the same clock in every process of the
// machine, so a time taken in one child is compared with a time taken in another.
//
//   added latency     N sequential requests on one keep-alive connection each way, alternating
//                     direct / through; added p50 = p50(through) − p50(direct), p99 likewise;
//                     the activator's scavenges meanwhile are logged (count, pauses, and the
//                     requests through that one overlapped: all, and among the slowest 1%)
//   throughput        autocannon (its own process) at saturation, direct then through; ratio;
//                     requests per activator CPU-second = through requests / Δ cpuUsage; then
//                     the activator's RSS after gc, loaded as it now is (`activator_rss_mb`)
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
//   h2, grpc          (test/bench/activator-h2.ts) h2c latency, throughput over 100 streams on
//                     one connection, memory per held HTTP/2 stream; gRPC unary latency
// The LAST line printed is one JSON object.
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../../src/activator/ports.ts';
import type { Child } from '../activator/bench-processes.ts';
import { h2Phases } from './activator-h2.ts';
import {
  autocannon,
  childStarter,
  cpuSeconds,
  nsToMs,
  RawClient,
  requestFor,
  setEndpoints,
  sortedCopy,
} from './activator-tools.ts';
import { coldStartScaleWrites } from './cold-start.ts';
import { chartNodeFlags, compileForBench, percentile, round } from './common.ts';

const log = (msg: string): void => {
  process.stdout.write(`[bench] ${msg}\n`);
};

interface Args {
  requests: number;
  duration: number;
  coldStarts: number;
  held: number;
  heldStreams: number;
  scaleWrites: number;
  phases: ReadonlySet<Phase>;
  activatorNodeFlags: readonly string[];
}

const PHASES = ['latency', 'throughput', 'cold', 'h2', 'grpc', 'held', 'scale'] as const;
type Phase = (typeof PHASES)[number];
const isPhase = (s: string): s is Phase => (PHASES as readonly string[]).includes(s);

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = {
    requests: 20_000,
    duration: 8,
    coldStarts: 200,
    held: 10_000,
    heldStreams: 10_000,
    scaleWrites: 100,
    phases: new Set(PHASES),
    activatorNodeFlags: chartNodeFlags('activator'),
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
      case '--held-streams':
        args.heldStreams = Number(value);
        break;
      case '--scale-writes':
        args.scaleWrites = Number(value);
        break;
      case '--activator-node-flags':
        args.activatorNodeFlags = value.split(' ').filter((f) => f !== '');
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

// ---------------------------------------------------------------- phases

const measureLatency = async (
  backendPort: number,
  a: Child,
  n: number,
): Promise<{
  direct: Float64Array;
  through: Float64Array;
  scavengeMs: Float64Array;
  otherGcs: number;
  overlapping: number;
  slowOverlapping: number;
}> => {
  const direct = await RawClient.open(backendPort);
  const through = await RawClient.open(a.port);
  const req = requestFor('/');
  for (let i = 0; i < 2_000; i++) {
    await direct.send(req);
    await through.send(req);
  }
  // The activator's GC pauses count from here (its scavenges are the tail's usual suspect).
  a.send({ type: 'gc' });
  await a.next('gc');
  const d = new Float64Array(n);
  const t = new Float64Array(n);
  /** When each request through started (hrtime ms), to line it up with the activator's pauses. */
  const tStart = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t0 = process.hrtime.bigint();
    await direct.send(req);
    d[i] = nsToMs(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    const answer = await through.send(req);
    t[i] = nsToMs(process.hrtime.bigint() - t0);
    tStart[i] = nsToMs(t0);
    if (!answer.startsWith('HTTP/1.1 200')) throw new Error(`through the activator: ${answer.slice(0, 80)}`);
  }
  a.send({ type: 'gc' });
  const gc = await a.next('gc');
  direct.socket.destroy();
  through.socket.destroy();
  // Requests through that a scavenge of the activator overlapped, and how many of the slowest 1%
  // (≥ p99) those are: both lists are in time order, so one pass with a cursor.
  const p99 = percentile(sortedCopy(t), 99);
  let overlapping = 0;
  let slowOverlapping = 0;
  let g = 0;
  for (let i = 0; i < n; i++) {
    const start = tStart[i] as number;
    while (g < gc.scavengeAt.length && (gc.scavengeAt[g] as number) + (gc.scavengeMs[g] as number) < start)
      g++;
    if (g < gc.scavengeAt.length && (gc.scavengeAt[g] as number) < start + (t[i] as number)) {
      overlapping++;
      if ((t[i] as number) >= p99) slowOverlapping++;
    }
  }
  return {
    direct: d.sort(),
    through: t.sort(),
    scavengeMs: sortedCopy(gc.scavengeMs),
    otherGcs: gc.otherGcs,
    overlapping,
    slowOverlapping,
  };
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
  const startChild = childStarter(
    args.activatorNodeFlags,
    compileForBench('activator', 'test/activator/bench-processes.ts', log),
  );
  const activatorNodeFlags = args.activatorNodeFlags;
  log(
    `activator node flags: ${activatorNodeFlags.length === 0 ? "none (node's defaults)" : activatorNodeFlags.join(' ')}`,
  );
  const result: Record<string, number> = {};
  let lost = 0;
  const backendChild = await startChild('backend');
  const a = await startChild('activator');
  const backend: Endpoint = { address: '127.0.0.1', port: backendChild.port };
  await setEndpoints(a, 'bench/app:80', [backend]);
  log(`backend :${backendChild.port}, activator :${a.port} (pid ${a.proc.pid})`);

  if (run('latency')) {
    const lat = await measureLatency(backendChild.port, a, args.requests);
    const dp50 = percentile(lat.direct, 50);
    const dp99 = percentile(lat.direct, 99);
    const tp50 = percentile(lat.through, 50);
    const tp99 = percentile(lat.through, 99);
    log(
      `latency (${args.requests} sequential, keep-alive) direct p50 ${round(dp50)} ms p99 ${round(dp99)} ms; ` +
        `through p50 ${round(tp50)} ms p99 ${round(tp99)} ms`,
    );
    const scavenges = lat.scavengeMs.length;
    log(
      `activator GC meanwhile: ${scavenges} scavenges (one per ${scavenges === 0 ? '-' : Math.round(args.requests / scavenges)} requests), ` +
        `pause p50 ${round(percentile(lat.scavengeMs, 50))} ms max ${round(lat.scavengeMs.at(-1) ?? Number.NaN)} ms; ${lat.otherGcs} other collections; ` +
        `requests through overlapping a scavenge: ${lat.overlapping} (${round((100 * lat.overlapping) / args.requests, 2)}%), ` +
        `${lat.slowOverlapping} of the ${args.requests - Math.ceil(0.99 * args.requests) + 1} slowest (≥ p99)`,
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
    // The young generation's pages were all touched by now: its size shows in the RSS.
    a.send({ type: 'mem' });
    const rssMb = (await a.next('mem')).rss / 1048576;
    log(`activator RSS after these phases (after gc): ${round(rssMb, 1)} MB`);
    result.throughput_ratio = round(through.rps / direct.rps);
    result.requests_per_cpu_second = Math.round(through.requests / cpu);
    result.activator_rss_mb = round(rssMb, 1);
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
  let h2Figures: Record<string, number> = {};
  if (run('h2') || run('grpc')) {
    const h2 = await h2Phases(a, startChild, backend, { ...args, h2: run('h2'), grpc: run('grpc') }, log);
    h2Figures = h2.figures;
    lost += h2.lost;
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
  Object.assign(result, coldFigures, heldFigures, h2Figures, { lost_requests: lost });
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

main(parseArgs(process.argv.slice(2))).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
