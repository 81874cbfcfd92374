// The processes of the activator benchmark (test/bench/activator.bench.ts), one per `--role`:
//   backend    the node:http backend both paths measure (answers `ok`; on /cold also stamps
//              its arrival time, CLOCK_MONOTONIC ns, in `x-arrived-ns`)
//   activator  the activator over a MemoryEndpointSource, driven over IPC (endpoints, stats,
//              cpuUsage, memoryUsage after gc); pokes are reported with their time
//   bare       a bare node:http server that only holds requests: node's own memory baseline
// Run as `node --expose-gc --import tsx bench-processes.ts --role <role>` with an IPC channel
// (advanced serialization: times are bigints).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Endpoint } from '../../src/activator/ports.ts';
import type { RouteSpec } from '../../src/activator/routes.ts';
import { createActivator } from '../../src/activator/server.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

export const HOST = 'app.bench';

export type Role = 'backend' | 'activator' | 'bare';

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
  | { type: 'stats' };

export type FromActivator =
  | { type: 'ready'; port: number }
  | { type: 'poke'; route: string; held: number; at: bigint }
  | { type: 'set'; at: bigint }
  | { type: 'cpu'; user: number; system: number }
  | { type: 'mem'; rss: number; heapUsed: number; external: number }
  | { type: 'stats'; stats: ActivatorStats };

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

const memoryAfterGc = (): FromActivator => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const u = process.memoryUsage();
  return { type: 'mem', rss: u.rss, heapUsed: u.heapUsed, external: u.external + u.arrayBuffers };
};

/**
 * The baseline for memory: a bare node:http server that holds every request (no activator code)
 * until told (`set`), then answers them all 200.
 */
const runBare = (): void => {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    held.push(res);
  });
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

const runActivator = (): void => {
  const source = new MemoryEndpointSource();
  const send = (m: FromActivator): void => {
    process.send?.(m);
  };
  const activator = createActivator({
    endpoints: source,
    routes: [route('app'), route('cold'), route('hold')],
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
    }
  });
  process.on('disconnect', () => process.exit(0));
  activator.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    send({ type: 'ready', port: (activator.server.address() as AddressInfo).port });
  });
};

const role = process.argv[process.argv.indexOf('--role') + 1];
if (role === 'backend') runBackend();
else if (role === 'activator') runActivator();
else if (role === 'bare') runBare();
