// A client request's way in: turned away (connection budget, shutdown), checked and routed
// (request-target.ts, routes.ts), or made an Exchange and handed to admit() (server.ts), which
// forwards or holds it. One path for an HTTP/1.1 request (node's IncomingMessage and
// ServerResponse) and an HTTP/2 stream (h2-call.ts); Upgrade requests enter through upgrades.ts,
// with the same route and turnedAway.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ActivatorReason, ConnectionLimit, Draining, NoRoute } from '../api/reasons.ts';
import type { ConnectionBudget } from './descriptors.ts';
import { type Arrivals, Exchange, RouteState, writeError } from './exchange.ts';
import { H2Call } from './h2-call.ts';
import type { ActivatorObserver } from './observer.ts';
import { deferPipelined, isPipelined } from './pipelining.ts';
import { checkH2Request, checkRequest, type Refusal, RequestTarget } from './request-target.ts';
import { noRouteMessage, pathOf, type RoutingTable } from './routes.ts';

export interface IntakeDeps {
  readonly budget: ConnectionBudget;
  /** The routing table now (setRoutes replaces it). */
  table(): RoutingTable<RouteState>;
  /** Whether shutdown began: new requests get 503 Draining. */
  closing(): boolean;
  /** This replica's id, named in the Draining answer. */
  readonly id: string;
  readonly retryAfterSeconds: number;
  readonly arrivals: Arrivals;
  /** Forwards or holds the exchange. */
  admit(ex: Exchange): void;
  /** The client left (or the answer ended): the exchange leaves its queue or ends. */
  clientGone(ex: Exchange): void;
  /** undefined: nobody observes (no clock read, no listener for it). */
  readonly observer: ActivatorObserver | undefined;
  now(): number;
}

export interface Intake {
  /** node's 'request' (and 'checkContinue', with `expectContinue`) listener. */
  onRequest(req: IncomingMessage, res: ServerResponse, expectContinue?: boolean): void;
  /** h2.ts's: one stream. */
  onStream(call: H2Call, expectContinue: boolean): void;
  /** Why a request on `socket` gets 503 before it is routed, or undefined. */
  turnedAway(socket: Socket): [ActivatorReason, string] | undefined;
  /** Checks and routes the request (into `checked`); what is refused, 404 included, the caller answers. */
  route(req: IncomingMessage | H2Call, upgrade: boolean): RouteState | Refusal;
  /** What the last `route` call took from the request (its normalised target and authority). */
  readonly checked: RequestTarget;
  /** false for a route's health paths: not counted, never waking the route. */
  countedPath(r: RouteState, url: string): boolean;
}

export const createIntake = (deps: IntakeDeps): Intake => {
  const { budget, observer, now, arrivals } = deps;
  // Filled by checkRequest for the request being handled (synchronously): no allocation per request.
  const checked = new RequestTarget();

  const route = (req: IncomingMessage | H2Call, upgrade: boolean): RouteState | Refusal => {
    const refused =
      req instanceof H2Call ? checkH2Request(req, checked) : checkRequest(req, upgrade, checked);
    if (refused !== undefined) return refused;
    const path = checked.target === '*' ? '/' : checked.target; // `OPTIONS *`: the host's `/` route
    const r = deps.table().lookup(checked.host, path, req.rawHeaders);
    return r ?? { status: 404, reason: NoRoute, message: noRouteMessage(checked.host, pathOf(path)) };
  };

  const countedPath = (r: RouteState, url: string): boolean =>
    r.healthPaths.size === 0 || !r.healthPaths.has(pathOf(url));

  /** The request's end, for the observer: the status sent, 0 when the client left first. */
  const observeResponse = (
    o: ActivatorObserver,
    res: ServerResponse | H2Call,
    routeKey: string,
    arrivedAt: number,
  ): void => {
    res.once('close', () =>
      o.requestDone(routeKey, res.writableFinished ? res.statusCode : 0, (now() - arrivedAt) / 1000),
    );
  };

  /** The common case costs two comparisons. */
  const turnedAway = (socket: Socket): [ActivatorReason, string] | undefined => {
    if (budget.refusing !== 0 && budget.refuses(socket)) return [ConnectionLimit, budget.refusal()];
    if (deps.closing()) return [Draining, `activator ${deps.id} is shutting down; retry`];
    return undefined;
  };

  /** One request, HTTP/1.1 or an HTTP/2 stream, from `socket`. */
  const serve = (
    req: IncomingMessage | H2Call,
    res: ServerResponse | H2Call,
    socket: Socket,
    expectContinue: boolean,
  ): void => {
    const arrivedAt = observer !== undefined ? now() : 0;
    const away = turnedAway(socket);
    if (away !== undefined) {
      if (observer !== undefined) observeResponse(observer, res, '', arrivedAt);
      writeError(res, 503, away[0], away[1], deps.retryAfterSeconds, true);
      return;
    }
    const r = route(req, false);
    if (!(r instanceof RouteState)) {
      if (observer !== undefined) observeResponse(observer, res, '', arrivedAt);
      // A refused request's framing or target is suspect: its connection closes (nginx's rule).
      writeError(res, r.status, r.reason, r.message, undefined, r.status !== 404);
      return;
    }
    const ex = new Exchange(req, res, socket, undefined, r, countedPath(r, checked.target), arrivals);
    ex.target = checked.target;
    ex.authority = checked.authority;
    ex.expectContinue = expectContinue;
    // `on`, not `once`: 'close' comes once, and once() would add a wrapper and a bind per request.
    res.on('close', () => {
      deps.clientGone(ex);
      if (observer !== undefined)
        observer.requestDone(r.key, res.writableFinished ? res.statusCode : 0, (now() - arrivedAt) / 1000);
    });
    deps.admit(ex);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue = false): void => {
    if (isPipelined(res)) {
      deferPipelined(req, res, (q, s) => onRequest(q, s, expectContinue));
      return;
    }
    serve(req, res, req.socket, expectContinue);
  };

  return {
    onRequest,
    onStream: (call, expectContinue) => serve(call, call, call.socket, expectContinue),
    turnedAway,
    route,
    checked,
    countedPath,
  };
};
