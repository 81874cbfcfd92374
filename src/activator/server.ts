// The activator: a node:http server that routes each request (intake.ts, routes.ts; HTTP/2
// streams from h2.ts alike), forwards it at once
// when its Service has a free endpoint slot (endpoints.ts, proxy.ts), or holds it until one
// appears (hold-queue.ts), poking the controller on a cold start; it counts per route for the
// controller (stats.ts) and drains gracefully.
//
//   const activator = createActivator({ endpoints, routes, poke, id });
//   activator.server.listen(8080);
//   process.on('SIGTERM', () => activator.drain().then(() => process.exit(0)));
//
// drain() and close(): see drain.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Server as TlsServer } from 'node:tls';
import { Draining, RouteRemoved, ScaledToZero } from '../api/reasons.ts';
import { type Clock, realClock } from '../clock.ts';
import type { RouteConflict, RouteSpec } from '../routing/routes.ts';
import type { BackendTls } from './backend-tls.ts';
import { answerUnroutable } from './client-error.ts';
import { ConnectionBudget, type ConnectionUse } from './descriptors.ts';
import { Shutdown } from './drain.ts';
import { BackendPool, type EndpointState, type ServiceBackend } from './endpoints.ts';
import { Arrivals, DONE, type Exchange, FORWARDING, HELD, RouteState, replyError } from './exchange.ts';
import { ProxyTrust } from './forwarded.ts';
import { attachHttp2, detectPreface } from './h2.ts';
import { HoldQueue } from './hold-queue.ts';
import { createIntake } from './intake.ts';
import { type ActivatorLimits, DEFAULT_LIMITS } from './limits.ts';
import { type ActivatorObserver, noopActivatorObserver } from './observer.ts';
import { showPlaceholder, wantsPlaceholder } from './placeholder.ts';
import type { EndpointSource } from './ports.ts';
import { type ForwardHooks, forward, responseTimedOut } from './proxy.ts';
import { ResponseDeadlines } from './response-deadlines.ts';
import { buildRoutingTable, pathOf, type RoutingTable } from './routes.ts';
import { type ActivatorStats, startStatsPush } from './stats.ts';
import { createTlsListener, type TlsListenerOptions } from './tls.ts';
import type { HoldTracer } from './tracing.ts';
import { takesUpgrade, upgradeHandler } from './upgrades.ts';

export { type ActivatorLimits, DEFAULT_LIMITS } from './limits.ts';

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
  /** CIDRs (or addresses) of proxies whose X-Forwarded-Proto/-Host and Forwarded are believed;
   * default none (forwarded.ts says why). */
  readonly trustedProxies?: readonly string[];
  /** Hold deadlines, cooldowns, counters, drain and the stats push; default realClock. */
  readonly clock?: Clock;
  /** A TLS listener with these certificates (tls.ts); default: none. */
  readonly tls?: Pick<TlsListenerOptions, 'certificates' | 'onHandshakeError' | 'onH2Connection'>;
  /** One span per held request (tracing.ts); default none: tracing off. */
  readonly tracer?: HoldTracer;
  /** How endpoints whose port says https are verified (backend-tls.ts); default node's CAs. */
  readonly backendTls?: BackendTls;
}

export interface Activator {
  /** Not yet listening: the caller picks the port. */
  readonly server: Server;
  /** The TLS listener when `tls` was given (tls.ts), not yet listening; it feeds `server`. */
  readonly tlsServer: TlsServer | undefined;
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
  /** The open-file limit, the connection budget derived from it and the client connections now. */
  connections(): ConnectionUse;
}

const noop = (): void => {};

const namespaceOf = (key: string): string => {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
};

export const createActivator = (opts: ActivatorOptions): Activator => {
  const limits: ActivatorLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const clock = opts.clock ?? realClock;
  const now = (): number => clock.now();
  const id = opts.id;
  let routes = new Map<string, RouteState>();
  let table: RoutingTable<RouteState>;
  let inFlight = 0;
  const upgraded = new Set<Socket>();
  const arrivals = new Arrivals();
  const observer = opts.observer ?? noopActivatorObserver;

  const hooks: ForwardHooks = {
    finished,
    retry,
    draining: (): boolean => shutdown.draining,
    outOfDescriptors,
    responseTimeoutMs: limits.responseTimeoutMs,
    trust: new ProxyTrust(opts.trustedProxies ?? []),
    upgradeIdleTimeoutMs: limits.upgradeIdleTimeoutMs,
    requestBodyTimeoutMs: limits.requestBodyTimeoutMs,
    responseDeadlines: new ResponseDeadlines(clock, (ex, limitMs) => responseTimedOut(ex, limitMs, hooks)),
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
      upstreamFull,
      tracer: opts.tracer,
    },
    clock,
  );
  const budget = ConnectionBudget.forProcess(limits, () => holdQueue.dispatchAll(), clock);
  const pool = new BackendPool(
    opts.endpoints,
    limits,
    clock,
    (backend: ServiceBackend) => {
      backend.onCapacity = (b) => holdQueue.dispatch(b);
      backend.onReadyChange = (b, was) => holdQueue.readyChanged(b, was);
    },
    opts.backendTls,
  );

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
    if (budget.blocked) budget.finished(inFlight);
    if (inFlight === 0 && shutdown.closing) shutdown.nothingInFlight();
  }

  /** Back to the head of the queue, to be sent elsewhere (or here after the pause). */
  function retry(ex: Exchange, refused: boolean): void {
    hooks.responseDeadlines.remove(ex);
    const ep = ex.endpoint as EndpointState;
    ex.endpoint = undefined;
    ex.upstream = undefined;
    inFlight--;
    if (ex.counted) ex.route.counters.addInFlight(-1);
    if (refused) ep.owner.refused(ep, ex.lastError);
    if (routes.get(ex.route.key) !== ex.route) {
      // The route went away meanwhile: nothing would ever release it from the queue.
      ex.state = DONE;
      replyError(ex, 404, RouteRemoved, `route ${ex.route.key} was removed while the request was retried`);
    } else holdQueue.requeue(ex);
    ep.owner.release(ep);
    holdQueue.dispatch(ex.route.backend);
    if (budget.blocked) budget.finished(inFlight);
    if (inFlight === 0 && shutdown.closing) shutdown.nothingInFlight();
  }

  /** An upstream connect failed with EMFILE/ENFILE: not the endpoint's fault (descriptors.ts). */
  function outOfDescriptors(ex: Exchange): void {
    budget.exhausted(inFlight - 1);
    pool.closeIdleSockets();
    retry(ex, false);
  }

  /** Whether forwarding one more would exceed the upstream ceiling (then the request waits). */
  function upstreamFull(): boolean {
    if (inFlight < budget.upstreamCeiling) return false;
    budget.blocked = true;
    return true;
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
        `route ${route.key} has no ready endpoint; health path ${pathOf(ex.target)} neither waits nor wakes it`,
        limits.retryAfterSeconds,
      );
      return;
    }
    // A browser asking while the route is cold gets its page instead of a hold (placeholder.ts).
    const page = route.placeholder;
    if (page !== undefined && backend.readyCount === 0 && ex.res !== undefined && wantsPlaceholder(ex.req)) {
      showPlaceholder(ex, page, now(), opts.poke, shutdown.draining);
      return;
    }
    // Nobody waiting ahead on this Service: forward at once if a slot is free.
    if (backend.held === 0 && !upstreamFull()) {
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

  const intake = createIntake({
    budget,
    table: () => table,
    closing: () => shutdown.closing,
    id,
    retryAfterSeconds: limits.retryAfterSeconds,
    arrivals,
    admit,
    clientGone,
    observer: opts.observer,
    now,
  });

  const onUpgrade = upgradeHandler({
    turnedAway: intake.turnedAway,
    route: intake.route,
    checked: intake.checked,
    countedPath: intake.countedPath,
    arrivals,
    admit,
    clientGone,
    observer,
    now,
    retryAfterSeconds: limits.retryAfterSeconds,
    tunnels: upgraded,
  });

  const server = createServer({
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    // Held requests may legitimately take longer than any whole-request limit; holdTimeout bounds them.
    requestTimeout: 0,
    noDelay: true,
    // A missing Host is refused by checkRequest, with a reason (node's own 400 has none).
    requireHostHeader: false,
    // An Upgrade listing only h2c is served as a plain request (upgrades.ts).
    shouldUpgradeCallback: takesUpgrade,
  });
  budget.attach(server);
  server.on('request', intake.onRequest);
  // `Expect: 100-continue`: the client is told to send its body only when the request is
  // forwarded (a held request's body is not even sent), not at once as node would.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => intake.onRequest(req, res, true));
  server.on('upgrade', onUpgrade);
  answerUnroutable(server, observer);
  // HTTP/2 streams are served like HTTP/1.1 requests: an H2Call has the members the exchange
  // uses (h2-call.ts); what differs is keyed on `ex.h2`.
  const h2 = attachHttp2({ keepAliveTimeoutMs: limits.keepAliveTimeoutMs, onRequest: intake.onStream });
  detectPreface(server, h2, limits.headersTimeoutMs);
  const tlsServer =
    opts.tls === undefined
      ? undefined
      : createTlsListener({
          ...opts.tls,
          http1: server,
          handshakeTimeoutMs: limits.headersTimeoutMs,
          // ALPN `h2` connections are HTTP/2 sessions like h2c ones (RFC 9113 §3.2).
          onH2Connection: opts.tls.onH2Connection ?? ((socket) => h2.onConnection(socket)),
        });

  const setRoutes = (specs: readonly RouteSpec[]): RouteConflict[] => {
    const next = new Map<string, RouteState>();
    for (const spec of specs) {
      const backend = pool.get({ namespace: namespaceOf(spec.key), name: spec.service, port: spec.port });
      let state = routes.get(spec.key) ?? next.get(spec.key);
      if (state === undefined) state = new RouteState(spec, backend, clock);
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
    opts.onStats === undefined
      ? noop
      : startStatsPush(stats, opts.onStats, opts.statsIntervalMs ?? 1000, clock);

  const shutdown = new Shutdown(
    {
      server,
      listeners: tlsServer === undefined ? [] : [tlsServer],
      inFlight: () => inFlight,
      rejectHeld,
      cutTunnels: () => {
        for (const socket of upgraded) socket.destroy();
        h2.close();
      },
      goAway: () => h2.goAway(),
    },
    limits,
    id,
    clock,
  );

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= shutdown.drain().then(stopPush);
    return drained;
  };

  const close = async (): Promise<void> => {
    stopPush();
    budget.close();
    const closed = shutdown.close();
    pool.closeAll();
    await closed;
  };

  setRoutes(opts.routes);
  return {
    server,
    tlsServer,
    setRoutes,
    stats,
    drain,
    close,
    draining: () => shutdown.draining,
    connections: () => budget.use(),
  };
};
