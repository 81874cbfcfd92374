// The activator: a node:http server that routes each request (routes.ts), forwards it at once
// when its Service has a free endpoint slot (endpoints.ts, proxy.ts), or holds it until one
// appears (hold-queue.ts), poking the controller on a cold start; it counts per route for the
// controller (stats.ts) and drains gracefully.
//
//   const activator = createActivator({ endpoints, routes, poke, id });
//   activator.server.listen(8080);
//   process.on('SIGTERM', () => activator.drain().then(() => process.exit(0)));
//
// drain(): stop accepting connections; requests arriving on open connections get 503 +
// `Connection: close`; in-flight requests finish (held ones are still released when capacity
// appears, which beats a 503); once nothing is in flight the rest of the held requests get
// 503 + Retry-After (another activator replica takes the retry); idle connections are closed;
// resolves when the server has closed, or after limits.drainTimeoutMs, cutting what is left.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Draining, NoRoute, RouteRemoved, ScaledToZero } from '../api/reasons.ts';
import { BackendPool, type EndpointState, type ServiceBackend } from './endpoints.ts';
import { DONE, Exchange, FORWARDING, HELD, replyError, writeError, writeRawError } from './exchange.ts';
import { HoldQueue, RouteState } from './hold-queue.ts';
import { type ActivatorObserver, noopActivatorObserver } from './observer.ts';
import type { EndpointSource } from './ports.ts';
import { type ForwardHooks, forward, responseTimedOut } from './proxy.ts';
import { ResponseDeadlines } from './response-deadlines.ts';
import {
  buildRoutingTable,
  noRouteMessage,
  normalizeHost,
  pathOf,
  type RouteConflict,
  type RouteSpec,
  type RoutingTable,
} from './routes.ts';
import { type ActivatorStats, startStatsPush } from './stats.ts';

export interface ActivatorLimits {
  /** Requests the whole activator may hold (each route also has its own maxHeldRequests). */
  readonly maxHeldRequests: number;
  /** `Retry-After` on every 503. */
  readonly retryAfterSeconds: number;
  /** Sockets per endpoint when the route sets no containerConcurrency. */
  readonly maxSocketsPerEndpoint: number;
  /** Idle upstream keep-alive sockets close after this (below node's and most servers' 5 s). */
  readonly idleSocketMs: number;
  /** First pause after an endpoint refused a connection (doubles per refusal, up to 32×). */
  readonly refusedCooldownMs: number;
  /** drain() gives up waiting after this and cuts what is left. */
  readonly drainTimeoutMs: number;
  /** Idle client keep-alive; above the usual 60 s of load balancers, so they close first. */
  readonly keepAliveTimeoutMs: number;
  /** Time a client has to send its request head. */
  readonly headersTimeoutMs: number;
  /** A forwarded request waits this long for the endpoint's response head, then gets 504
   * (UpstreamTimeout) when its route sets no responseTimeoutMs; 0 = no limit. */
  readonly responseTimeoutMs: number;
}

export const DEFAULT_LIMITS: ActivatorLimits = {
  maxHeldRequests: 10_000,
  retryAfterSeconds: 1,
  maxSocketsPerEndpoint: 256,
  idleSocketMs: 4_000,
  refusedCooldownMs: 100,
  drainTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: 60_000,
  responseTimeoutMs: 300_000,
};

export interface ActivatorOptions {
  readonly endpoints: EndpointSource;
  readonly routes: readonly RouteSpec[];
  /** The controller's cold-start hook (see hold-queue.ts for when it is called). */
  readonly poke: (route: string, held: number) => void;
  readonly limits?: Partial<ActivatorLimits>;
  /** This replica's id (pod name), carried by every stats snapshot. */
  readonly id: string;
  /** Pushes a snapshot every `statsIntervalMs` (default 1000) when given. */
  readonly onStats?: (stats: ActivatorStats) => void;
  readonly statsIntervalMs?: number;
  /** Hears every request, held request and cold start (metrics); default: nobody. */
  readonly observer?: ActivatorObserver;
}

export interface Activator {
  /** Not yet listening: the caller picks the port. */
  readonly server: Server;
  /** Replaces the routing table; returns the host/prefix clashes (the first key keeps each). */
  setRoutes(routes: readonly RouteSpec[]): RouteConflict[];
  /** The routes' counters now (the controller's pull API). */
  stats(): ActivatorStats;
  /** Graceful shutdown (see the top of this file). */
  drain(): Promise<void>;
  /** Immediate shutdown: held requests get 503, connections are cut. */
  close(): Promise<void>;
  /** True once drain() or close() began (readiness fails from then on). */
  draining(): boolean;
}

const noop = (): void => {};

/** Bytes an Upgrade client may send before the 101 that the activator keeps (then it stops reading). */
const EARLY_UPGRADE_BYTES = 64 * 1024;

const namespaceOf = (key: string): string => {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
};

export const createActivator = (opts: ActivatorOptions): Activator => {
  const limits: ActivatorLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const now = (): number => performance.now();
  const id = opts.id;
  let routes = new Map<string, RouteState>();
  let table: RoutingTable<RouteState>;
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  const upgraded = new Set<Socket>();
  const observer = opts.observer ?? noopActivatorObserver;
  const observed = opts.observer !== undefined;

  const hooks: ForwardHooks = {
    finished,
    retry,
    draining: (): boolean => draining,
    responseTimeoutMs: limits.responseTimeoutMs,
    responseDeadlines: new ResponseDeadlines(now, (ex, limitMs) => responseTimedOut(ex, limitMs, hooks)),
  };
  const holdQueue = new HoldQueue(
    limits,
    {
      forward: (ex, ep) => {
        inFlight++;
        forward(ex, ep, hooks);
      },
      poke: opts.poke,
      observer,
    },
    now,
  );
  const pool = new BackendPool(opts.endpoints, limits, now, (backend: ServiceBackend) => {
    backend.onCapacity = (b) => holdQueue.dispatch(b);
    backend.onReadyChange = (b, was) => holdQueue.readyChanged(b, was);
  });

  function finished(ex: Exchange): void {
    hooks.responseDeadlines.remove(ex);
    if (ex.state === DONE) return;
    const wasForwarding = ex.state === FORWARDING;
    ex.state = DONE;
    if (!wasForwarding) return;
    inFlight--;
    if (ex.counted) ex.route.counters.addInFlight(-1);
    const ep = ex.endpoint;
    if (ep !== undefined) {
      ex.endpoint = undefined;
      ep.owner.release(ep);
    }
    if (inFlight === 0 && onIdle !== undefined) onIdle();
  }

  /** Back to the head of the queue, to be sent elsewhere (or here after the pause). */
  function retry(ex: Exchange, refused: boolean): void {
    hooks.responseDeadlines.remove(ex);
    const ep = ex.endpoint as EndpointState;
    ex.endpoint = undefined;
    ex.upstream = undefined;
    inFlight--;
    if (ex.counted) ex.route.counters.addInFlight(-1);
    if (refused) ep.owner.refused(ep);
    if (routes.get(ex.route.key) !== ex.route) {
      // The route went away meanwhile: nothing would ever release it from the queue.
      ex.state = DONE;
      replyError(ex, 404, RouteRemoved, `route ${ex.route.key} was removed while the request was retried`);
    } else {
      if (ex.deadline === 0) ex.deadline = now() + ex.route.spec.holdTimeoutMs;
      holdQueue.requeue(ex);
    }
    ep.owner.release(ep);
    holdQueue.dispatch(ex.route.backend);
    if (inFlight === 0 && onIdle !== undefined) onIdle();
  }

  const admit = (ex: Exchange): void => {
    const route = ex.route;
    const backend = route.backend;
    if (ex.counted) route.counters.arrived();
    else if (backend.readyCount === 0) {
      ex.state = DONE;
      replyError(
        ex,
        503,
        ScaledToZero,
        `route ${route.key} has no ready endpoint; health path ${pathOf(ex.req.url ?? '/')} neither waits nor wakes it`,
        limits.retryAfterSeconds,
      );
      return;
    }
    // Nobody waiting ahead on this Service: forward at once if a slot is free.
    if (backend.held === 0) {
      const ep = backend.pick();
      if (ep !== undefined) {
        inFlight++;
        if (ex.counted) route.counters.addInFlight(1);
        forward(ex, ep, hooks);
        return;
      }
    }
    holdQueue.hold(ex);
  };

  const clientGone = (ex: Exchange): void => {
    if (ex.state === HELD) holdQueue.abandon(ex);
    else if (ex.state === FORWARDING) {
      ex.upstream?.destroy();
      finished(ex);
    }
  };

  const route = (req: IncomingMessage): RouteState | string => {
    let url = req.url ?? '/';
    let rawHost = req.headers.host ?? '';
    if (url.charCodeAt(0) !== 0x2f /* / */ && url !== '*') {
      // absolute-form (`GET http://host/path`): its authority wins over Host (RFC 9112 §3.2.2).
      try {
        const u = new URL(url);
        rawHost = u.host;
        url = u.pathname + u.search;
      } catch {
        // not a URL: routed as a path, which matches nothing
      }
    }
    const host = normalizeHost(rawHost);
    return table.lookup(host, url) ?? noRouteMessage(host, pathOf(url));
  };

  const countedPath = (r: RouteState, url: string): boolean =>
    r.healthPaths.size === 0 || !r.healthPaths.has(pathOf(url));

  /** The request's end, for the observer: the status sent, 0 when the client left first. */
  const observeResponse = (res: ServerResponse, routeKey: string, arrivedAt: number): void => {
    res.once('close', () =>
      observer.requestDone(routeKey, res.writableFinished ? res.statusCode : 0, (now() - arrivedAt) / 1000),
    );
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue = false): void => {
    const arrivedAt = observed ? now() : 0;
    if (draining) {
      if (observed) observeResponse(res, '', arrivedAt);
      writeError(
        res,
        503,
        Draining,
        `activator ${id} is shutting down; retry`,
        limits.retryAfterSeconds,
        true,
      );
      return;
    }
    const r = route(req);
    if (typeof r === 'string') {
      if (observed) observeResponse(res, '', arrivedAt);
      writeError(res, 404, NoRoute, r);
      return;
    }
    const ex = new Exchange(req, res, req.socket, undefined, r, countedPath(r, req.url ?? '/'));
    ex.expectContinue = expectContinue;
    // `on`, not `once`: 'close' comes once, and once() would add a wrapper and a bind per request.
    res.on('close', () => {
      clientGone(ex);
      if (observed)
        observer.requestDone(r.key, res.writableFinished ? res.statusCode : 0, (now() - arrivedAt) / 1000);
    });
    admit(ex);
  };

  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', noop);
    const arrivedAt = now();
    if (draining) {
      observer.requestDone('', 503, 0);
      writeRawError(
        socket,
        503,
        Draining,
        `activator ${id} is shutting down; retry`,
        limits.retryAfterSeconds,
      );
      return;
    }
    const r = route(req);
    if (typeof r === 'string') {
      observer.requestDone('', 404, 0);
      writeRawError(socket, 404, NoRoute, r);
      return;
    }
    const ex = new Exchange(req, undefined, socket, head, r, countedPath(r, req.url ?? '/'));
    upgraded.add(socket);
    socket.once('close', () => {
      upgraded.delete(socket);
      clientGone(ex);
      observer.requestDone(r.key, ex.rawStatus, (now() - arrivedAt) / 1000);
    });
    // Until the upstream switches protocols the socket is read here, so a client that leaves
    // while held is seen at once (node's upgrade sockets are half-open: 'end' needs a reader).
    // Clients send nothing before the 101; whatever comes is kept for upstream, up to a bound.
    socket.on('data', (chunk: Buffer) => {
      ex.head = ex.head === undefined || ex.head.length === 0 ? chunk : Buffer.concat([ex.head, chunk]);
      if (ex.head.length >= EARLY_UPGRADE_BYTES) socket.pause();
    });
    socket.once('end', () => socket.destroy());
    admit(ex);
  };

  const server = createServer({
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    // Held requests may legitimately take longer than any whole-request limit; holdTimeout bounds them.
    requestTimeout: 0,
    noDelay: true,
  });
  server.on('request', onRequest);
  // `Expect: 100-continue`: the client is told to send its body only when the request is
  // forwarded (a held request's body is not even sent), not at once as node would.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));
  server.on('upgrade', onUpgrade);

  const setRoutes = (specs: readonly RouteSpec[]): RouteConflict[] => {
    const next = new Map<string, RouteState>();
    for (const spec of specs) {
      const backend = pool.get({ namespace: namespaceOf(spec.key), name: spec.service, port: spec.port });
      let state = routes.get(spec.key) ?? next.get(spec.key);
      if (state === undefined) state = new RouteState(spec, backend, now);
      else {
        const from = state.backend;
        state.update(spec);
        if (from !== backend) {
          state.backend = backend;
          holdQueue.moved(state, from);
        }
      }
      next.set(spec.key, state);
    }
    for (const [key, old] of routes) {
      if (next.has(key)) continue;
      holdQueue.rejectRoute(old, 404, RouteRemoved, `route ${key} was removed while the request was held`);
    }
    routes = next;
    holdQueue.setRoutes(next.values());
    const concurrency = new Map<ServiceBackend, number>();
    for (const r of next.values()) {
      const cc = r.spec.containerConcurrency;
      const seen = concurrency.get(r.backend);
      concurrency.set(r.backend, seen === undefined || (cc > 0 && (seen === 0 || cc < seen)) ? cc : seen);
    }
    pool.retain(new Set(concurrency.keys()));
    const built = buildRoutingTable([...next.values()]);
    table = built.table;
    for (const [backend, cc] of concurrency) backend.setContainerConcurrency(cc);
    for (const backend of concurrency.keys()) if (backend.held > 0) holdQueue.dispatch(backend);
    return built.conflicts;
  };

  const stats = (): ActivatorStats => {
    // One clock read for every route: each integral runs up to exactly the `at` reported.
    const t = now();
    const list = [];
    for (const r of routes.values()) list.push(r.counters.snapshot(t));
    return { activator: id, at: performance.timeOrigin + t, routes: list };
  };

  const rejectHeld = (message: string): void => {
    for (const r of routes.values()) holdQueue.rejectRoute(r, 503, Draining, `${message}; route ${r.key}`);
  };

  const stopPush =
    opts.onStats === undefined ? noop : startStatsPush(stats, opts.onStats, opts.statsIntervalMs ?? 1000);

  /** Stops listening; resolves once every connection is gone (at once when never listening). */
  const serverClosed = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    if (drained !== undefined) return drained;
    draining = true;
    drained = new Promise<void>((resolve) => {
      const closed = serverClosed();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const cut = setTimeout(() => {
        rejectHeld(`activator ${id} shut down before capacity appeared`);
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      }, limits.drainTimeoutMs);
      const whenIdle = (): void => {
        onIdle = undefined;
        rejectHeld(`activator ${id} shut down before capacity appeared; retry`);
        server.closeIdleConnections();
      };
      if (inFlight === 0) whenIdle();
      else onIdle = whenIdle;
      void closed.then(() => {
        clearInterval(sweep);
        clearTimeout(cut);
        stopPush();
        resolve();
      });
    });
    return drained;
  };

  const close = async (): Promise<void> => {
    draining = true;
    onIdle = undefined;
    stopPush();
    rejectHeld(`activator ${id} closed`);
    const closed = serverClosed();
    server.closeAllConnections();
    for (const s of upgraded) s.destroy();
    pool.closeAll();
    await closed;
  };

  setRoutes(opts.routes);
  return { server, setRoutes, stats, drain, close, draining: () => draining };
};
