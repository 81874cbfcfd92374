// Real servers and clients on 127.0.0.1 for the activator tests: node:http backends that count
// their own concurrency, an activator on an ephemeral port over a MemoryEndpointSource, and a
// client that returns status, headers and body.
import { createHash } from 'node:crypto';
import {
  type Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { ActivatorObserver } from '../../src/activator/observer.ts';
import type { Endpoint } from '../../src/activator/ports.ts';
import {
  type Activator,
  type ActivatorLimits,
  type ActivatorOptions,
  createActivator,
} from '../../src/activator/server.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import type { Clock } from '../../src/clock.ts';
import type { RouteSpec } from '../../src/routing/routes.ts';
import { MemoryEndpointSource } from './memory-endpoints.ts';

export const NS = 'shop';

/** A route for `shop/<name>` on host `<name>.test`, Service `<name>` port 80, with overrides. */
export const routeSpec = (name: string, over: Partial<RouteSpec> = {}): RouteSpec => ({
  key: `${NS}/${name}`,
  hosts: [`${name}.test`],
  pathPrefixes: ['/'],
  service: name,
  port: 80,
  containerConcurrency: 0,
  holdTimeoutMs: 10_000,
  maxHeldRequests: 2_000,
  healthPaths: [],
  ...over,
});

export const serviceKey = (name: string): string => `${NS}/${name}:80`;

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Backend {
  readonly server: Server;
  readonly endpoint: Endpoint;
  /** Connections accepted so far. */
  connections: number;
  /** Requests being handled now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
  readonly seen: IncomingMessage[];
  setHandler(h: Handler): void;
  /** Kills every connection at once, as a crashed process would, and stops listening. */
  kill(): void;
  close(): Promise<void>;
}

const okHandler: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': String(req.socket.localPort) });
  res.end('ok');
};

export const startBackend = async (handler: Handler = okHandler): Promise<Backend> => {
  let h = handler;
  const sockets = new Set<Socket>();
  const server = createServer();
  const b: Backend = {
    server,
    endpoint: { address: '127.0.0.1', port: 0 },
    connections: 0,
    inFlight: 0,
    maxInFlight: 0,
    seen: [],
    setHandler: (next) => {
      h = next;
    },
    kill: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Upgraded sockets are no longer the http server's to close.
        for (const s of sockets) s.destroy();
      }),
  };
  server.on('connection', (s: Socket) => {
    b.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    b.seen.push(req);
    b.inFlight++;
    b.maxInFlight = Math.max(b.maxInFlight, b.inFlight);
    res.on('close', () => b.inFlight--);
    h(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (b as { endpoint: Endpoint }).endpoint = {
    address: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
  };
  return b;
};

/**
 * An endpoint nothing listens on (connections to it are refused). It is on its own loopback
 * address (127.0.0.2–254) so that no server of a parallel test file, all on 127.0.0.1, can take it.
 */
export const refusedEndpoint = async (): Promise<Endpoint> => {
  const address = `127.0.0.${2 + Math.floor(Math.random() * 253)}`;
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, address, resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return { address, port };
};

export interface TestActivator {
  readonly activator: Activator;
  readonly source: MemoryEndpointSource;
  readonly port: number;
  readonly pokes: { route: string; held: number }[];
  routeStats(route: string): { inFlight: number; held: number; requests: number; concurrencyMs: number };
  stats(): ActivatorStats;
  close(): Promise<void>;
}

export const startActivator = async (
  routes: readonly RouteSpec[],
  limits: Partial<ActivatorLimits> = {},
  source = new MemoryEndpointSource(),
  observer?: ActivatorObserver,
  /** Hold timeouts, cooldowns and drain on this clock (a VirtualClock: the test moves time). */
  clock?: Clock,
  /** Further options (a tracer, …). */
  extra: Partial<ActivatorOptions> = {},
): Promise<TestActivator> => {
  const pokes: { route: string; held: number }[] = [];
  const activator = createActivator({
    endpoints: source,
    routes,
    poke: (route, held) => pokes.push({ route, held }),
    limits: { drainTimeoutMs: 5_000, ...limits },
    id: 'activator-test',
    ...(observer === undefined ? {} : { observer }),
    ...(clock === undefined ? {} : { clock }),
    ...extra,
  });
  await new Promise<void>((resolve) => activator.server.listen(0, '127.0.0.1', resolve));
  const port = (activator.server.address() as AddressInfo).port;
  return {
    activator,
    source,
    port,
    pokes,
    stats: () => activator.stats(),
    routeStats: (route) => {
      const s = activator.stats().routes.find((r) => r.route === route);
      if (s === undefined) throw new Error(`no stats for ${route}`);
      return s;
    },
    close: () => activator.close(),
  };
};

export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface CallOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly agent?: Agent | false;
}

/** One request to `port` with Host `host`; resolves with the whole answer. */
export const call = (port: number, host: string, path = '/', opts: CallOptions = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: { host, ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });

/** Polls `check` every few ms until it holds; fails after a generous `timeoutMs`. */
export const until = async (check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2). */
export const wsAccept = (key: string): string =>
  createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** One masked client text frame (payload < 126 bytes). */
export const wsClientFrame = (text: string): Buffer => {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
};

/** Decodes the first frame of `buf` (either direction, payload < 126 bytes). */
export const wsDecode = (buf: Buffer): { opcode: number; text: string; length: number } | undefined => {
  if (buf.length < 2) return undefined;
  const masked = ((buf[1] as number) & 0x80) !== 0;
  const len = (buf[1] as number) & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  if (buf.length < start + len) return undefined;
  const payload = Buffer.from(buf.subarray(start, start + len));
  if (masked)
    for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (buf[2 + (i % 4)] as number);
  return { opcode: (buf[0] as number) & 0x0f, text: payload.toString(), length: start + len };
};

/**
 * Closes what a test opened, newest first, after each test of the calling file:
 * `const track = closeAfterEach();` then `track(await startBackend())`.
 */
export const closeAfterEach = (): (<T extends { close(): Promise<void> }>(x: T) => T) => {
  let open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.reverse()) await o.close();
    open = [];
  });
  return (x) => {
    open.push(x);
    return x;
  };
};
