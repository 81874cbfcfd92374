// The processes of the activator benchmark (test/bench/activator.bench.ts), one per `--role`:
//   backend    the node:http backend both paths measure (answers `ok`; on /cold also stamps
//              its arrival time, CLOCK_MONOTONIC ns, in `x-arrived-ns`)
//   h2backend  an h2c (prior knowledge) node:http2 backend: answers every stream `ok`
//   grpcbackend a @grpc/grpc-js server with one unary method (bench.Echo/Call, bytes in and out:
//              activator-grpc.ts) that answers with the request's bytes
//   activator  the activator over a MemoryEndpointSource, driven over IPC (endpoints, stats,
//              cpuUsage, memoryUsage after gc, its GC pauses); pokes are reported with their time
//   bare       a bare node:http server that only holds requests: node's own memory baseline
//   bareh2     the same over h2c (node:http2's compatibility API, the activator's settings)
//   ebb        `ebb activator`'s wiring (runActivatorController: controller + activator in one
//              process) against a real API server (--kubeconfig, --namespace); its ScaleTarget's
//              `scale` and its Controller's `poke` are wrapped to report their times (`scaled`,
//              `poked`), and `probe` reports its view of one app (Deployment, Service and
//              ScaledObject of one name): routed?, held, the controller's replicas, and the
//              scale writes and pokes so far
// Run as `node --expose-gc bench-processes.js --role <role>` (tsc's output: common.ts
// compileForBench) with an IPC channel
// (advanced serialization: times are bigints).
import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { constants, type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';
import { MAX_CONCURRENT_STREAMS } from '../../src/activator/h2.ts';
import type { Endpoint } from '../../src/activator/ports.ts';
import { createActivator } from '../../src/activator/server.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import type { TargetRef } from '../../src/platform/ports.ts';
import type { RouteSpec } from '../../src/routing/routes.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

export const HOST = 'app.bench';

export type Role = 'backend' | 'h2backend' | 'grpcbackend' | 'activator' | 'bare' | 'bareh2' | 'ebb';

export const route = (name: string, over: Partial<RouteSpec> = {}): RouteSpec => ({
  key: `bench/${name}`,
  hosts: [name === 'app' ? HOST : `${name}.bench`],
  pathPrefixes: ['/'],
  service: name,
  port: 80,
  containerConcurrency: 0,
  holdTimeoutMs: 60_000,
  maxHeldRequests: 20_000,
  healthPaths: [],
  ...over,
});

export type ToActivator =
  | { type: 'set'; service: string; endpoints: Endpoint[] }
  | { type: 'cpu' }
  | { type: 'mem' }
  | { type: 'stats' }
  | { type: 'gc' }
  | { type: 'probe'; name: string };

/** What the `ebb` child sees now (its answer to `probe`). */
export interface EbbProbe {
  /** The app's route is in the activator's table. */
  readonly routed: boolean;
  /** Requests held for the route now. */
  readonly held: number;
  /** The Deployment's replicas as the controller's ScaleTarget reads them (cache), or an error. */
  readonly replicas: number | string;
  /** Scale writes and controller pokes since the start. */
  readonly writes: number;
  readonly pokes: number;
}

export type FromActivator =
  | { type: 'ready'; port: number }
  | { type: 'poke'; route: string; held: number; at: bigint }
  | { type: 'set'; at: bigint }
  | { type: 'cpu'; user: number; system: number }
  | { type: 'mem'; rss: number; heapUsed: number; external: number }
  | { type: 'stats'; stats: ActivatorStats }
  /** The GC pauses since the last `gc` message: each scavenge's start (hrtime ms) and length in
   * ms, in order, and how many other collections. */
  | { type: 'gc'; scavengeAt: number[]; scavengeMs: number[]; otherGcs: number }
  | { type: 'probe'; probe: EbbProbe }
  /** The controller was poked for `key` (wrapping Controller.poke: the time it was called). */
  | { type: 'poked'; key: string; at: bigint }
  /** A scale write: `sentAt` as the controller called ScaleTarget.scale, `doneAt` as its PATCH answered. */
  | { type: 'scaled'; target: string; replicas: number; ok: boolean; sentAt: bigint; doneAt: bigint };

/** A child process as the parent drives it (see startChild in test/bench/activator.bench.ts). */
export interface Child {
  readonly proc: ChildProcess;
  readonly port: number;
  /** The next message of `type` (messages are queued until asked for). */
  next<T extends FromActivator['type']>(type: T): Promise<Extract<FromActivator, { type: T }>>;
  send(m: ToActivator): void;
}

export type StartChild = (role: Role, args?: readonly string[]) => Promise<Child>;

const runBackend = (): void => {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/cold') === true) {
      res.writeHead(200, { 'content-length': '2', 'x-arrived-ns': String(process.hrtime.bigint()) });
    } else res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
  });
  server.keepAliveTimeout = 65_000;
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
  });
};

const runH2Backend = (): void => {
  const server = createH2Server();
  // Nagle off, as node:http's server has it: the backend must not delay the small answers.
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-length': '2' });
    stream.end('ok');
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
  });
};

const runGrpcBackend = async (): Promise<void> => {
  // Imported here: the other roles' memory must not include grpc-js.
  const { startEchoServer } = await import('../bench/activator-grpc.ts');
  const port = await startEchoServer();
  process.send?.({ type: 'ready', port });
};

const memoryAfterGc = (): FromActivator => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  return { type: 'mem', rss: u.rss, heapUsed: u.heapUsed, external: u.external };
};

/**
 * The baseline for memory: a bare node:http server that holds every request (no activator code)
 * until told (`set`), then answers them all 200.
 */
const runBare = (h2: boolean): void => {
  const held: { end(body: string): void }[] = [];
  const hold = (_req: unknown, res: { end(body: string): void }): void => {
    held.push(res);
  };
  // bareh2: h2c with the activator's HTTP/2 settings (h2.ts), holding through node's
  // compatibility API as the activator does.
  const server = h2
    ? createH2Server(
        { settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, initialWindowSize: 65_535 } },
        hold,
      )
    : createServer(hold);
  process.on('message', (m: ToActivator) => {
    if (m.type === 'mem') process.send?.(memoryAfterGc());
    else if (m.type === 'stats') {
      const route = { route: 'bench/hold', inFlight: 0, held: held.length, requests: 0, concurrencyMs: 0 };
      process.send?.({ type: 'stats', stats: { activator: 'bare', at: 0, routes: [route] } });
    } else if (m.type === 'set') {
      process.send?.({ type: 'set', at: process.hrtime.bigint() });
      for (const res of held.splice(0)) res.end('ok');
    }
  });
  process.on('disconnect', () => process.exit(0));
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
  });
};

/** This process's GC pauses: scavenges (minor GCs) one by one, other collections counted. */
const watchGc = (): { take(): FromActivator } => {
  // performance.now() and hrtime share CLOCK_MONOTONIC: the offset puts entries on hrtime's scale.
  const origin = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  let scavengeAt: number[] = [];
  let scavengeMs: number[] = [];
  let otherGcs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        scavengeAt.push(origin + e.startTime);
        scavengeMs.push(e.duration);
      } else otherGcs++;
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    take: () => {
      const m: FromActivator = { type: 'gc', scavengeAt, scavengeMs, otherGcs };
      scavengeAt = [];
      scavengeMs = [];
      otherGcs = 0;
      return m;
    },
  };
};

const runActivator = (): void => {
  const source = new MemoryEndpointSource();
  const send = (m: FromActivator): void => {
    process.send?.(m);
  };
  const gc = watchGc();
  const activator = createActivator({
    endpoints: source,
    routes: [route('app'), route('cold'), route('hold'), route('h2'), route('grpc')],
    poke: (r, held) => send({ type: 'poke', route: r, held, at: process.hrtime.bigint() }),
    limits: { maxHeldRequests: 20_000 },
    id: 'bench',
  });
  process.on('message', (m: ToActivator) => {
    switch (m.type) {
      case 'set': {
        const at = process.hrtime.bigint();
        source.set(m.service, m.endpoints);
        send({ type: 'set', at });
        break;
      }
      case 'cpu': {
        const u = process.cpuUsage();
        send({ type: 'cpu', user: u.user, system: u.system });
        break;
      }
      case 'mem':
        send(memoryAfterGc());
        break;
      case 'stats':
        send({ type: 'stats', stats: activator.stats() });
        break;
      case 'gc':
        send(gc.take());
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
  // An orderly exit on kill(): node writes a --cpu-prof / --heap-prof profile only then.
  process.on('SIGTERM', () => process.exit(0));
  activator.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    send({ type: 'ready', port: (activator.server.address() as AddressInfo).port });
  });
};

const flag = (name: string): string => {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? undefined : process.argv[i + 1];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const runEbb = async (): Promise<void> => {
  const namespace = flag('--namespace');
  const send = (m: FromActivator): void => {
    process.send?.(m);
  };
  // Imported here, not at the top: the other roles' memory must not include the Kubernetes client.
  const { runActivatorController } = await import('../../src/cli/activator-with-controller.ts');
  const { silentLogger } = await import('../../src/logging.ts');
  const running = await runActivatorController({
    kubeconfig: flag('--kubeconfig'),
    namespace,
    log: silentLogger,
    port: 0,
    address: '127.0.0.1',
  });
  let writes = 0;
  let pokes = 0;
  // The same ScaleTarget object the Controller holds (runController passes platform.scaleTarget).
  const target = running.controller.platform.scaleTarget;
  const scale = target.scale.bind(target);
  target.scale = async (ref, replicas) => {
    const sentAt = process.hrtime.bigint();
    const res = await scale(ref, replicas);
    const doneAt = process.hrtime.bigint();
    writes++;
    send({ type: 'scaled', target: ref.name, replicas, ok: res.ok, sentAt, doneAt });
    return res;
  };
  const controller = running.controller.controller();
  if (controller === undefined) throw new Error('ebb activator: no controller');
  const poke = controller.poke.bind(controller);
  controller.poke = (key) => {
    const at = process.hrtime.bigint();
    poke(key);
    pokes++;
    // After the poll's synchronous start, so the report costs the measured path nothing.
    setImmediate(() => send({ type: 'poked', key, at }));
  };
  process.on('message', (m: ToActivator) => {
    if (m.type !== 'probe') return;
    const ref: TargetRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: m.name };
    const routeKey = `${namespace}/${m.name}`;
    void target.replicas(ref).then((r) =>
      send({
        type: 'probe',
        probe: {
          routed: running.routes().routes.some((x) => x.key === routeKey),
          held: running.activator.stats().routes.find((x) => x.route === routeKey)?.held ?? 0,
          replicas: r.ok ? r.value : r.error.message,
          writes,
          pokes,
        },
      }),
    );
  });
  process.on('disconnect', () => {
    void running.stop().finally(() => process.exit(0));
  });
  send({ type: 'ready', port: running.port });
};

const role = process.argv[process.argv.indexOf('--role') + 1];
if (role === 'backend') runBackend();
else if (role === 'h2backend') runH2Backend();
else if (role === 'grpcbackend')
  runGrpcBackend().catch((err: unknown) => {
    process.stderr.write(`grpc backend: ${String(err)}\n`);
    process.exit(1);
  });
else if (role === 'activator') runActivator();
else if (role === 'bare' || role === 'bareh2') runBare(role === 'bareh2');
else if (role === 'ebb')
  runEbb().catch((err: unknown) => {
    process.stderr.write(`ebb child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
