// The cold-start hold queue. A request that finds no free slot on its route's backend waits
// here in a FIFO per route, and is released oldest first (across the routes sharing a backend)
// as slots appear, each release going through the backend's least-in-flight pick under
// containerConcurrency.
//
// A held request's body. node:http parses all of the socket read that completed the request
// head, so the body bytes that came in that read (at most one read: 64 KB) sit in the request
// stream, copied. A request whose body is still arriving (chunked, or a Content-Length above the
// stream's high-water mark, 16 KB) then has its socket paused as it joins the queue: nothing more
// is read, the rest waits in the kernel's socket buffers and TCP flow control holds the client
// back. Left to itself node reads on until 16 KB are buffered: one read more, up to 64 KB more
// (measured with 1,000 held 256 KB POSTs: 128 KB external memory per held request unpaused,
// 64 KB paused). Reading resumes when the request is released (proxy.ts pipes the body upstream)
// or answered here (504, 503, 404: node reads and discards the unread body after the response,
// so a keep-alive connection carries on). A body that came whole with its head leaves the socket
// read (node resumes reading at the end of each message).
//
// Limits, each answered with a body naming the route and the limit:
//   route holds maxHeldRequests        → 503 + Retry-After  (RouteHoldLimit)
//   activator holds limits.maxHeld     → 503 + Retry-After  (GlobalHoldLimit)
//   waited holdTimeoutMs               → 504                (HoldTimeout, or BackendUnstable
//                                                              when endpoints flapped or refused)
//   a gRPC call's grpc-timeout, when shorter than holdTimeoutMs, is its hold deadline instead
//   (the same timer: deadline = now + min(holdTimeout, grpc-timeout)); gRPC calls get these
//   answers as gRPC statuses (grpc.ts: UNAVAILABLE at a limit, DEADLINE_EXCEEDED at a deadline)
// A client that goes away while held leaves the queue at once (its slot and counts freed) when
// its socket is being read: requests without a body, or whose body was all read with the head,
// and held Upgrades. A socket that is not read — paused above, and likewise one node stopped
// reading itself (a body beyond the first read) — does not see its client leave: the request
// stays held until it times out (its place freed; the 504 goes nowhere) or is released. Then
// reading resumes and finds the client gone: a body it had not finished sending is cut short
// upstream (the endpoint sees an aborted request, its slot is freed), while one it had sent
// whole before leaving is forwarded whole, as from a client that half-closed, and the answer is
// dropped. Either way a departed client's place is free by holdTimeout at the latest.
//
// Poking the controller (`poke(route, held)`), per route:
//   cold (no ready endpoint): the first counted request held pokes at once (held = 1): exactly
//     one poke per cold start; then again each time held reaches twice the count last poked
//     (2, 4, 8, … — at most log2(maxHeldRequests) + 1 pokes), so the controller can size the
//     scale-up (e.g. ceil(held / targetConcurrency)) without waiting for its next read of stats.
//   warm but saturated (every endpoint at containerConcurrency): held reaching what the current
//     endpoints hold at once (ready × containerConcurrency) pokes, then each doubling likewise.
//   The count resets when the route's queue empties, and when its backend goes from ready
//   endpoints to none (the next request is a new cold start). An empty queue ends the episode
//   even while cold: when every held request left without a forward (aborted, timed out), the
//   target was not woken or did not come up, so the next held request pokes again (held = 1;
//   the controller's write is idempotent). A burst that finds the queue non-empty adds no poke
//   but the doublings.
// Health-path requests never poke.
//
// The observer hears every held request leave (forwarded, timeout, rejected, aborted) and every
// cold start end: the first counted request held while the backend had no ready endpoint → the
// first request of that route forwarded (a queue that empties without a forward ends no cold
// start; the next held request starts a new one).

import type { IncomingMessage } from 'node:http';
import {
  type ActivatorReason,
  BackendUnstable,
  GlobalHoldLimit,
  HoldTimeout,
  RouteHoldLimit,
} from '../api/reasons.ts';
import type { Clock } from '../clock.ts';
import type { EndpointState, ServiceBackend } from './endpoints.ts';
import { DONE, type Exchange, HELD, type RouteState, replyError } from './exchange.ts';
import { grpcTimeoutOf } from './grpc.ts';
import { H2Call } from './h2-call.ts';
import type { ActivatorObserver } from './observer.ts';
import { type HeldOutcome, type HoldTracer, parseTraceParent } from './tracing.ts';

export interface HoldLimits {
  /** Requests the whole activator may hold. */
  readonly maxHeldRequests: number;
  /** `Retry-After` (seconds) on every 503. */
  readonly retryAfterSeconds: number;
}

export interface HoldHooks {
  /** Sends a released request to `ep` (already counted on it). */
  forward(ex: Exchange, ep: EndpointState): void;
  /** The controller's cold-start hook (see the top of this file). */
  poke(route: string, held: number): void;
  readonly observer: ActivatorObserver;
  /** True when the activator forwards all it may at once (descriptors.ts): release nothing now. */
  upstreamFull(): boolean;
  /** One span per held request when tracing is on (tracing.ts); undefined: off. */
  readonly tracer?: HoldTracer | undefined;
}

export class HoldQueue {
  /** Requests held across all routes. */
  total = 0;
  private readonly routesOf = new Map<ServiceBackend, RouteState[]>();

  constructor(
    private readonly limits: HoldLimits,
    private readonly hooks: HoldHooks,
    private readonly clock: Clock,
  ) {}

  /** The hold timers' callback: one closure per queue, none per held request. */
  private readonly onHoldTimeout = (ex: Exchange): void => this.timeOut(ex);

  /** Which routes wait on which backend (set on every route change). */
  setRoutes(routes: Iterable<RouteState>): void {
    this.routesOf.clear();
    for (const r of routes) {
      const list = this.routesOf.get(r.backend);
      if (list === undefined) this.routesOf.set(r.backend, [r]);
      else list.push(r);
    }
  }

  /** Admits a request that found no free slot: holds it, or answers 503 at a limit. */
  hold(ex: Exchange): void {
    const route = ex.route;
    if (route.queued >= route.spec.maxHeldRequests) {
      this.reject(
        ex,
        RouteHoldLimit,
        `route ${route.key} already holds ${route.queued} requests waiting for service ${route.backend.key} (maxHeldRequests ${route.spec.maxHeldRequests}); retry later`,
      );
      return;
    }
    if (this.total >= this.limits.maxHeldRequests) {
      this.reject(
        ex,
        GlobalHoldLimit,
        `route ${route.key}: this activator already holds ${this.total} requests (global limit ${this.limits.maxHeldRequests}); retry later`,
      );
      return;
    }
    const now = this.clock.now();
    startDeadline(ex, now);
    if (route.backend.readyCount === 0) {
      ex.coldStartAt = now;
      if (ex.counted && route.coldSince === 0) route.coldSince = now;
    }
    this.enqueue(ex, false);
    const tracer = this.hooks.tracer;
    if (tracer !== undefined) {
      const parent = parseTraceParent(header(ex.req, 'traceparent'));
      const state = parent === undefined ? undefined : header(ex.req, 'tracestate');
      ex.span = tracer.startHeld(route.key, ex.req.method ?? 'GET', parent, state);
    }
    if (ex.counted) this.maybePoke(route);
    route.backend.wakeAfterCooldown();
  }

  /** Puts a request back at the head of its queue (a refused connection); no cap applies. A
   * request forwarded at once, never held, gets its hold deadline now. */
  requeue(ex: Exchange): void {
    if (ex.deadline === 0) startDeadline(ex, this.clock.now());
    const remaining = ex.deadline - this.clock.now();
    if (remaining <= 0) {
      ex.state = HELD;
      this.timeOut(ex, false);
      return;
    }
    this.enqueue(ex, true);
  }

  /** The client went away while held: its place and counts go at once. */
  abandon(ex: Exchange): void {
    if (ex.state !== HELD) return;
    this.unlink(ex, 'aborted');
    ex.state = DONE;
  }

  /** Releases the oldest held requests of `backend`'s routes while it has free slots. */
  dispatch(backend: ServiceBackend): void {
    const routes = this.routesOf.get(backend);
    if (routes === undefined) return;
    while (backend.held > 0) {
      let oldest: Exchange | undefined;
      for (const r of routes)
        if (r.head !== undefined && (oldest === undefined || r.head.seq < oldest.seq)) oldest = r.head;
      if (oldest === undefined || this.hooks.upstreamFull()) return;
      const ep = backend.pick();
      if (ep === undefined) {
        backend.wakeAfterCooldown();
        return;
      }
      this.unlink(oldest, 'forwarded');
      if (oldest.coldStartAt >= 0) oldest.coldHoldMs = this.clock.now() - oldest.coldStartAt;
      const route = oldest.route;
      if (route.coldSince > 0) {
        this.hooks.observer.coldStart(route.key, (this.clock.now() - route.coldSince) / 1000);
        route.coldSince = 0;
      }
      this.hooks.forward(oldest, ep);
    }
  }

  /** Releases what every backend can take (the upstream ceiling rose again). */
  dispatchAll(): void {
    for (const backend of this.routesOf.keys()) if (backend.held > 0) this.dispatch(backend);
  }

  /** The backend's ready set changed: a warm → cold transition starts a new poke episode. */
  readyChanged(backend: ServiceBackend, wasReady: number): void {
    if (backend.readyCount > 0 || wasReady === 0) return;
    for (const r of this.routesOf.get(backend) ?? []) r.pokedAt = 0;
  }

  /** Answers every request held for `route` (route removed, drain, close). */
  rejectRoute(route: RouteState, status: number, reason: ActivatorReason, message: string): void {
    while (route.head !== undefined) {
      const ex = route.head;
      this.unlink(ex, 'rejected');
      ex.state = DONE;
      replyError(ex, status, reason, message, status === 503 ? this.limits.retryAfterSeconds : undefined);
    }
  }

  /** A route now uses another backend: its waiters move with it. */
  moved(route: RouteState, from: ServiceBackend): void {
    from.held -= route.queued;
    route.backend.held += route.queued;
  }

  private enqueue(ex: Exchange, atHead: boolean): void {
    const route = ex.route;
    // Stop reading a body that is still arriving (see the top of this file). An Upgrade's socket
    // is read by the server itself (its early bytes are bounded there). A re-queued request was
    // never piped upstream (only a refusal or a reset before any body byte is retried).
    // An HTTP/2 stream's body is held back by its flow-control window (h2.ts): its connection,
    // shared with other streams, is not paused.
    if (ex.res !== undefined && !(ex.req instanceof H2Call) && bodyPending(ex.req)) ex.socket.pause();
    ex.state = HELD;
    if (atHead) {
      ex.prev = undefined;
      ex.next = route.head;
      if (route.head !== undefined) route.head.prev = ex;
      else route.tail = ex;
      route.head = ex;
    } else {
      ex.next = undefined;
      ex.prev = route.tail;
      if (route.tail !== undefined) route.tail.next = ex;
      else route.head = ex;
      route.tail = ex;
    }
    route.queued++;
    route.backend.held++;
    this.total++;
    if (ex.counted) route.counters.addHeld(1);
    // Whole milliseconds: node keeps one timer list per distinct duration, so a fresh hold uses
    // the route's timeout as it is (one list for all) and a re-queued one its rounded remainder.
    // A gRPC call's own shorter deadline is likewise its remainder.
    const wait =
      atHead || ex.grpcTimeoutMs > 0
        ? Math.max(1, Math.ceil(ex.deadline - this.clock.now()))
        : route.spec.holdTimeoutMs;
    ex.heldAt = this.clock.now();
    ex.timer = this.clock.after(wait, this.onHoldTimeout, ex);
  }

  /** Takes `ex` out of its queue; `forwarded`: it goes on to an endpoint (held → in flight). */
  private unlink(ex: Exchange, outcome: HeldOutcome): void {
    const released = outcome === 'forwarded';
    const route = ex.route;
    if (ex.prev !== undefined) ex.prev.next = ex.next;
    else route.head = ex.next;
    if (ex.next !== undefined) ex.next.prev = ex.prev;
    else route.tail = ex.prev;
    ex.next = ex.prev = undefined;
    route.queued--;
    route.backend.held--;
    this.total--;
    if (ex.timer !== undefined) {
      this.clock.cancel(ex.timer);
      ex.timer = undefined;
    }
    if (ex.counted) {
      if (released) route.counters.released();
      else route.counters.addHeld(-1);
    }
    // Warm, or cold with nothing forwarded (a forward implies a ready endpoint): either way the
    // next held request starts a new poke episode.
    if (route.queued === 0) route.pokedAt = 0;
    if (route.queued === 0 && !released) route.coldSince = 0;
    // Nobody waits for the backend any more and the last one did not go on to an endpoint
    // (which may refuse it and bring it back): the episode of trouble is over.
    if (route.backend.held === 0 && !released) route.backend.trouble.clear();
    this.ended(ex, outcome);
  }

  /** Tells the observer, and the span when there is one, that `ex` left the queue. */
  private ended(ex: Exchange, outcome: HeldOutcome): void {
    const heldMs = this.clock.now() - ex.heldAt;
    this.hooks.observer.heldDone(ex.route.key, heldMs / 1000, outcome);
    const span = ex.span;
    if (span === undefined) return;
    ex.span = undefined;
    // A cold start's hold counts from the first hold (re-queues included), as x-ebb-cold-start.
    const cold = ex.coldStartAt >= 0;
    span.end(outcome, cold ? this.clock.now() - ex.coldStartAt : heldMs, cold);
  }

  /** @internal the timer's callback. */
  timeOut(ex: Exchange, queued = true): void {
    if (ex.state !== HELD) return;
    const route = ex.route;
    const backend = route.backend;
    // Before unlink, which may clear the trouble.
    const answer = holdTimeoutAnswer(route, ex.lastError, ex.grpcTimeoutMs);
    if (queued) {
      ex.timer = undefined;
      this.unlink(ex, 'timeout');
    } else {
      this.ended(ex, 'timeout');
      if (backend.held === 0) backend.trouble.clear();
    }
    ex.state = DONE;
    replyError(ex, 504, answer.reason, answer.message);
  }

  private reject(ex: Exchange, reason: ActivatorReason, message: string): void {
    ex.state = DONE;
    replyError(ex, 503, reason, message, this.limits.retryAfterSeconds);
  }

  // held = the count after this request joined; capacity = ready × containerConcurrency.
  private maybePoke(route: RouteState): void {
    const held = route.counters.held;
    const backend = route.backend;
    let threshold: number;
    if (backend.readyCount === 0) threshold = route.pokedAt === 0 ? 1 : 2 * route.pokedAt;
    else if (backend.containerConcurrency === 0) return;
    else threshold = Math.max(backend.readyCount * backend.containerConcurrency, 2 * route.pokedAt, 1);
    if (held < threshold) return;
    route.pokedAt = held;
    try {
      this.hooks.poke(route.key, held);
    } catch {
      // The hook is the controller's; its failure must not fail the request it was told about.
    }
  }
}

/**
 * Why a hold timed out, from what the activator saw of the backend while the request waited
 * (named "within the call's grpc-timeout" when that ended the hold first):
 *   endpoints left the ready set or refused connections → BackendUnstable, with the counts
 *   no ready endpoint now (and no flap)                  → HoldTimeout: none became ready
 *   ready endpoints, all at containerConcurrency         → HoldTimeout: none had capacity
 */
const holdTimeoutAnswer = (
  route: RouteState,
  lastError: string,
  grpcTimeoutMs: number,
): { reason: typeof HoldTimeout | typeof BackendUnstable; message: string } => {
  const backend = route.backend;
  const within =
    grpcTimeoutMs > 0
      ? `within the call's grpc-timeout ${grpcTimeoutMs} ms (holdTimeout ${route.spec.holdTimeoutMs} ms)`
      : `within holdTimeout ${route.spec.holdTimeoutMs} ms`;
  if (backend.trouble.seen) {
    return {
      reason: BackendUnstable,
      message: `route ${route.key}: no endpoint of service ${backend.key} took the request ${within}: while requests waited, ${backend.trouble.describe()}; the replicas may be crash-looping (see the Pods' restarts and last state)`,
    };
  }
  const last = lastError === '' ? '' : ` (last upstream error: ${lastError})`;
  const what = backend.readyCount === 0 ? 'became ready' : 'had capacity';
  return {
    reason: HoldTimeout,
    message: `route ${route.key}: no endpoint of service ${backend.key} ${what} ${within}${last}`,
  };
};

// deadline = now + min(holdTimeout, the call's grpc-timeout); only an HTTP/2 stream can be a
// gRPC call (grpc.ts), an HTTP/1.1 request reads no further header here.
const startDeadline = (ex: Exchange, now: number): void => {
  const holdMs = ex.route.spec.holdTimeoutMs;
  const callMs = ex.h2 === undefined ? undefined : grpcTimeoutOf(ex.h2.headers);
  if (callMs === undefined || callMs >= holdMs) ex.deadline = now + holdMs;
  else {
    ex.deadline = now + callMs;
    ex.grpcTimeoutMs = callMs;
  }
};

/** A request header as one string (node joins repeated lines with ", "); read only with tracing on. */
const header = (req: IncomingMessage | H2Call, name: 'traceparent' | 'tracestate'): string | undefined => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Whether more of `req`'s body may arrive than node has read: a chunked body, or a Content-Length
 * above the request stream's high-water mark (node reads a smaller one whole anyway), and the
 * body not complete yet. `complete` alone is no test: it is false at the 'request' event even
 * for a GET; it counts for a request re-queued after its body was all read.
 */
export const bodyPending = (req: IncomingMessage): boolean =>
  !req.complete &&
  (req.headers['transfer-encoding'] !== undefined ||
    Number(req.headers['content-length'] ?? 0) > req.readableHighWaterMark);
