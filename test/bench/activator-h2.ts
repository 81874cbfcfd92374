// The HTTP/2 and gRPC phases of the activator benchmark (test/bench/activator.bench.ts), each
// against direct access in the same run, on 127.0.0.1 only:
//
//   h2 latency     N sequential requests on one h2c session each way (prior knowledge),
//                  alternating direct (the h2backend child) / through (the activator, to the same
//                  backend as an h2c endpoint); added p50 = p50(through) − p50(direct), p99 likewise
//   h2 throughput  one h2c session, 100 streams always in flight (the activator's
//                  SETTINGS_MAX_CONCURRENT_STREAMS), for D seconds, direct then through (the load
//                  loop runs in this process: autocannon speaks HTTP/1.1 only, h2load is not here);
//                  requests per activator CPU-second = through requests / Δ cpuUsage
//   held streams   a fresh activator process; M streams held on a cold route, 100 per h2c
//                  session (M/100 sessions); RSS delta (after gc) / M, as the held phase measures
//                  an HTTP/1.1 request; then the endpoint appears and every stream must get a 200;
//                  the same on a bare node:http2 server that only holds (node's own share)
//   grpc latency   N sequential @grpc/grpc-js unary calls on one channel each way, alternating
//                  direct (the grpcbackend child) / through; added p50 and p99 as above
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from 'node:http2';
import { loadavg } from 'node:os';
import type { Endpoint } from '../../src/activator/ports.ts';
import type { Child, StartChild } from '../activator/bench-processes.ts';
import { echoClient } from './activator-grpc.ts';
import { cpuSeconds, nsToMs, setEndpoints } from './activator-tools.ts';
import { percentile, round } from './common.ts';

const H2_HOST = 'h2.bench';
const GRPC_HOST = 'grpc.bench';
const HOLD_HOST = 'hold.bench';
/** Streams in flight on the throughput phase's session, and per session while held. */
const STREAMS = 100;

export interface H2Args {
  readonly requests: number;
  readonly duration: number;
  readonly heldStreams: number;
  readonly h2: boolean;
  readonly grpc: boolean;
}

const session = (port: number): Promise<ClientHttp2Session> =>
  new Promise((resolve, reject) => {
    const s = connect(`http://127.0.0.1:${port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

/** One GET on `s`; resolves the status once the body ended (0: the stream failed). */
const get = (s: ClientHttp2Session, authority: string, path: string): Promise<number> =>
  new Promise((resolve) => {
    const stream = s.request({ ':path': path, ':authority': authority }, { endStream: true });
    let status = 0;
    stream.on('response', (h: IncomingHttpHeaders) => {
      status = Number(h[':status']);
    });
    stream.on('data', noop);
    stream.on('close', () => resolve(status));
    stream.on('error', noop);
  });

const noop = (): void => {};

/** Sequential pairs (direct, through) of `once`; each side's times in ms, sorted. */
const alternate = async (
  n: number,
  direct: () => Promise<unknown>,
  through: () => Promise<unknown>,
): Promise<{ direct: Float64Array; through: Float64Array }> => {
  for (let i = 0; i < 2_000; i++) {
    await direct();
    await through();
  }
  const d = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t0 = process.hrtime.bigint();
    await direct();
    d[i] = nsToMs(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    await through();
    t[i] = nsToMs(process.hrtime.bigint() - t0);
  }
  return { direct: d.sort(), through: t.sort() };
};

/** Requests answered 200 on one session with `STREAMS` in flight for `seconds`. */
const load = async (port: number, seconds: number): Promise<{ requests: number; failed: number }> => {
  const s = await session(port);
  const until = Date.now() + seconds * 1000;
  let requests = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      while (Date.now() < until) {
        if ((await get(s, H2_HOST, '/')) === 200) requests++;
        else failed++;
      }
    }),
  );
  s.close();
  return { requests, failed };
};

/** Holds `m` streams on `a`'s cold route, measures memory, releases them to `backend`. */
const heldStreams = async (
  a: Child,
  backend: Endpoint,
  m: number,
): Promise<{ perStreamKb: number; perStreamHeapKb: number; ok: number; releaseMs: number }> => {
  a.send({ type: 'mem' });
  const before = await a.next('mem');
  const sessions: ClientHttp2Session[] = [];
  const answers: Promise<number>[] = [];
  /** Streams answered (or failed) before the release: the phase stops instead of waiting forever. */
  let early = 0;
  let released = false;
  for (let i = 0; i < m; i += STREAMS) {
    const s = await session(a.port);
    s.on('error', noop);
    sessions.push(s);
    for (let j = i; j < Math.min(m, i + STREAMS); j++) {
      const answer = get(s, HOLD_HOST, `/hold/${j}`);
      void answer.then(() => {
        if (!released) early++;
      });
      answers.push(answer);
    }
  }
  for (;;) {
    a.send({ type: 'stats' });
    const held = (await a.next('stats')).stats.routes.find((r) => r.route === 'bench/hold')?.held ?? 0;
    if (held >= m) break;
    if (early > 0) throw new Error(`held streams: ${early} of ${m} ended before the release (${held} held)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  released = true;
  a.send({ type: 'mem' });
  const after = await a.next('mem');
  const t0 = process.hrtime.bigint();
  await setEndpoints(a, 'bench/hold:80', [backend]);
  const statuses = await Promise.all(answers);
  const releaseMs = nsToMs(process.hrtime.bigint() - t0);
  for (const s of sessions) s.destroy();
  return {
    perStreamKb: (after.rss - before.rss) / m / 1024,
    perStreamHeapKb: (after.heapUsed + after.external - before.heapUsed - before.external) / m / 1024,
    ok: statuses.filter((s) => s === 200).length,
    releaseMs,
  };
};

/** The machine's 1-minute load average, logged with each row (the machine is shared). */
const loadAverage = (): string => `load ${loadavg()[0]?.toFixed(1)}`;

const ms = (xs: Float64Array): string =>
  `p50 ${round(percentile(xs, 50))} ms p99 ${round(percentile(xs, 99))} ms`;

/**
 * Runs the HTTP/2 (`args.h2`) and gRPC (`args.grpc`) phases against activator `a`; `backend` is
 * the HTTP/1.1 backend the held streams are released to. Returns the JSON figures and the
 * requests lost (answered other than 200, or not at all).
 */
export const h2Phases = async (
  a: Child,
  startChild: StartChild,
  backend: Endpoint,
  args: H2Args,
  log: (msg: string) => void,
): Promise<{ figures: Record<string, number>; lost: number }> => {
  const figures: Record<string, number> = {};
  let lost = 0;
  if (args.h2) {
    const h2Backend = await startChild('h2backend');
    await setEndpoints(a, 'bench/h2:80', [{ address: '127.0.0.1', port: h2Backend.port, protocol: 'h2c' }]);
    const direct = await session(h2Backend.port);
    const through = await session(a.port);
    const lat = await alternate(
      args.requests,
      () => get(direct, H2_HOST, '/'),
      async () => {
        const status = await get(through, H2_HOST, '/');
        if (status !== 200) throw new Error(`h2 through the activator: status ${status}`);
      },
    );
    direct.close();
    through.close();
    log(
      `h2c latency (${args.requests} sequential, one session each way) direct ${ms(lat.direct)}; through ${ms(lat.through)} (${loadAverage()})`,
    );
    figures.h2_added_latency_p50_ms = round(percentile(lat.through, 50) - percentile(lat.direct, 50));
    figures.h2_added_latency_p99_ms = round(percentile(lat.through, 99) - percentile(lat.direct, 99));

    const d = await load(h2Backend.port, args.duration);
    const cpu0 = await cpuSeconds(a);
    const t = await load(a.port, args.duration);
    const cpu = (await cpuSeconds(a)) - cpu0;
    log(
      `h2c throughput (one session, ${STREAMS} streams in flight) direct ${Math.round(d.requests / args.duration)} req/s, ` +
        `through ${Math.round(t.requests / args.duration)} req/s (${t.failed} failed); activator CPU ${round(cpu)} s: ` +
        `${round((cpu / t.requests) * 1e6, 1)} µs per request, ${Math.round(t.requests / cpu)} requests per CPU-second (${loadAverage()})`,
    );
    figures.h2_requests_per_cpu_second = Math.round(t.requests / cpu);
    lost += d.failed + t.failed;
    h2Backend.proc.kill();

    const fresh = await startChild('activator');
    const held = await heldStreams(fresh, backend, args.heldStreams);
    fresh.proc.kill();
    log(
      `${args.heldStreams} held HTTP/2 streams (${Math.ceil(args.heldStreams / STREAMS)} sessions): ` +
        `${round(held.perStreamKb, 2)} KB RSS / ${round(held.perStreamHeapKb, 2)} KB heap+external per stream; ` +
        `released in ${Math.round(held.releaseMs)} ms, ${held.ok} answered 200 (${loadAverage()})`,
    );
    // The same load on a bare node:http2 server that only holds: node's own cost per open stream.
    const bareChild = await startChild('bareh2');
    const bare = await heldStreams(bareChild, backend, args.heldStreams);
    bareChild.proc.kill();
    log(
      `bare node:http2 holding the same ${args.heldStreams}: ${round(bare.perStreamKb, 2)} KB RSS / ` +
        `${round(bare.perStreamHeapKb, 2)} KB heap+external per stream (${bare.ok} answered); the activator's own share: ` +
        `${round(held.perStreamKb - bare.perStreamKb, 2)} KB RSS / ${round(held.perStreamHeapKb - bare.perStreamHeapKb, 2)} KB heap`,
    );
    figures.held_stream_kb = round(held.perStreamKb, 2);
    figures.held_stream_heap_kb = round(held.perStreamHeapKb, 2);
    figures.bare_node_http2_held_stream_kb = round(bare.perStreamKb, 2);
    lost += args.heldStreams - held.ok;
  }
  if (args.grpc) {
    const grpcBackend = await startChild('grpcbackend');
    await setEndpoints(a, 'bench/grpc:80', [
      { address: '127.0.0.1', port: grpcBackend.port, protocol: 'h2c' },
    ]);
    const direct = await echoClient(grpcBackend.port, GRPC_HOST);
    const through = await echoClient(a.port, GRPC_HOST);
    const message = Buffer.from('ok');
    const lat = await alternate(
      args.requests,
      () => direct.call(message),
      () => through.call(message),
    );
    direct.close();
    through.close();
    log(
      `gRPC unary latency (${args.requests} sequential, one channel each way) direct ${ms(lat.direct)}; through ${ms(lat.through)} (${loadAverage()})`,
    );
    figures.grpc_added_latency_p50_ms = round(percentile(lat.through, 50) - percentile(lat.direct, 50));
    figures.grpc_added_latency_p99_ms = round(percentile(lat.through, 99) - percentile(lat.direct, 99));
    grpcBackend.proc.kill();
  }
  return { figures, lost };
};
