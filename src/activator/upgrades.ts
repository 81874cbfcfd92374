// Which Upgrade requests the activator relays, and how an upgraded connection (a tunnel) ends.
//
// RFC 9110 §7.8 lets a server ignore Upgrade; ebb relays only the protocols a route allows
// (`allowedUpgrades`, default `websocket`). By what the request's Upgrade lists:
//   only h2c            → ignored: served as a plain HTTP/1.1 request, its Upgrade, Connection and
//                         the headers Connection names (HTTP2-Settings) dropped by headers.ts. Envoy's
//                         HTTP/1 codec does the same; RFC 9113 §3.1 deprecates the h2c upgrade, and
//                         the hop to the endpoint speaks HTTP/1.1.
//   only allowed tokens → relayed as it is (proxy.ts).
//   anything else       → 403 UpgradeRefused and the connection closes, as Envoy answers an upgrade
//                         its route does not enable (upgrade_failed; the connection is not reused, so
//                         no bytes meant for another protocol are read as HTTP).
// A token is `protocol-name ["/" protocol-version]`; it matches an allowed name on the name alone,
// ASCII case-insensitively (RFC 6455 §4.1 for websocket).
//
// A tunnel (after the endpoint's 101) ends the way nginx ends one: when either side sends FIN
// (what is already buffered for the other side is flushed first, then both close: WebSocket has
// no half-close, RFC 6455 §7.1.1), when either side closes, or when no byte went either way for
// upgradeIdleTimeout (Envoy's stream idle_timeout; nginx's proxy_read_timeout, 60 s). The idle
// timer is the client socket's own: node re-arms it on every read and write of that socket, and
// every byte of the tunnel is one or the other, so it costs no timer of its own.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type ActivatorReason, UpgradeRefused } from '../api/reasons.ts';
import { type Arrivals, Exchange, RouteState, writeRawError } from './exchange.ts';
import type { ActivatorObserver } from './observer.ts';
import type { Refusal, RequestTarget } from './request-target.ts';

/** What a route relays when it lists no `allowedUpgrades`. */
export const DEFAULT_ALLOWED_UPGRADES: readonly string[] = ['websocket'];

const H2C = 'h2c';

/** The protocol names an Upgrade header lists, lower-cased, versions dropped (`WebSocket/13` → `websocket`). */
export const upgradeNames = (value: string): string[] => {
  const names: string[] = [];
  for (const item of value.split(',')) {
    const token = item.trim();
    if (token === '') continue;
    const slash = token.indexOf('/');
    names.push((slash < 0 ? token : token.slice(0, slash)).toLowerCase());
  }
  return names;
};

/**
 * node's shouldUpgradeCallback: false for an Upgrade that lists only h2c, which node then serves
 * as a plain request; every other upgrade goes to the 'upgrade' event (relayed or refused there).
 */
export const takesUpgrade = (req: IncomingMessage): boolean => {
  const value = req.headers.upgrade;
  if (value === undefined) return true;
  const names = upgradeNames(value);
  return names.length === 0 || names.some((name) => name !== H2C);
};

/** The first protocol `req` asks for that `allowed` does not list, or undefined when all are allowed. */
export const refusedUpgrade = (req: IncomingMessage, allowed: readonly string[]): string | undefined => {
  const names = upgradeNames(req.headers.upgrade ?? '');
  if (names.length === 0) return '';
  return names.find((name) => !allowed.includes(name));
};

/** The 403 body: the route, what was asked, what is allowed and how to allow more. */
export const refusedUpgradeMessage = (route: string, asked: string, allowed: readonly string[]): string =>
  asked === ''
    ? `route ${route}: an Upgrade request must name a protocol (allowedUpgrades: ${quoted(allowed)})`
    : `route ${route} does not relay Upgrade "${asked}" (allowedUpgrades: ${quoted(allowed)}); ` +
      "send the request without Upgrade, or add the protocol to the http trigger's allowedUpgrades";

const quoted = (names: readonly string[]): string =>
  names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');

/**
 * Joins the client's socket and the endpoint's after the 101 (see the top of this file); `done`
 * runs once the tunnel is over (it may run more than once: the caller's is idempotent).
 */
export const joinTunnel = (client: Socket, upstream: Socket, idleMs: number, done: () => void): void => {
  const finish = (): void => {
    client.destroySoon();
    upstream.destroySoon();
    done();
  };
  // The endpoint's keep-alive agent armed its idle-socket timer on this socket; the tunnel is not
  // the pool's any more, and its idleness is timed on the client side. Both are node's per-socket
  // idle timers (re-armed by the socket's own traffic), not the Clock port's: they stay on real time.
  upstream.setTimeout(0);
  if (idleMs > 0)
    client.setTimeout(idleMs, () => {
      client.destroy();
      upstream.destroy();
      done();
    });
  upstream.pipe(client, { end: false });
  client.pipe(upstream, { end: false });
  client.once('end', finish);
  upstream.once('end', finish);
  client.once('close', finish);
  upstream.once('close', finish);
};

/** What the server's 'upgrade' handler needs from server.ts. */
export interface UpgradeDeps {
  /** Why a request on this socket gets 503 before routing, or undefined. */
  turnedAway(socket: Socket): [ActivatorReason, string] | undefined;
  /** Checks and routes the request (filling `checked`): the route, or why it is refused (404 included). */
  route(req: IncomingMessage, upgrade: true): RouteState | Refusal;
  /** What the last `route` call took from the request (its normalised target and authority). */
  readonly checked: RequestTarget;
  countedPath(route: RouteState, url: string): boolean;
  /** Numbers exchanges in arrival order (the activator's). */
  readonly arrivals: Arrivals;
  /** Forwards or holds the exchange. */
  admit(ex: Exchange): void;
  /** The client's socket closed: the exchange leaves its queue or ends. */
  clientGone(ex: Exchange): void;
  readonly observer: ActivatorObserver;
  now(): number;
  readonly retryAfterSeconds: number;
  /** Upgraded sockets open now (close() and a drain's timeout cut them). */
  readonly tunnels: Set<Socket>;
}

/** Bytes an Upgrade client may send before the 101 that the activator keeps (then it stops reading). */
const EARLY_UPGRADE_BYTES = 64 * 1024;

const noop = (): void => {};

/** The server's 'upgrade' handler: refuses, routes and admits an Upgrade request (see the top of this file). */
export const upgradeHandler =
  (deps: UpgradeDeps) =>
  (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', noop);
    const { observer } = deps;
    const arrivedAt = deps.now();
    const away = deps.turnedAway(socket);
    if (away !== undefined) {
      observer.requestDone('', 503, 0);
      writeRawError(socket, 503, away[0], away[1], deps.retryAfterSeconds);
      return;
    }
    const r = deps.route(req, true);
    if (!(r instanceof RouteState)) {
      observer.requestDone('', r.status, 0);
      writeRawError(socket, r.status, r.reason, r.message);
      return;
    }
    const allowed = r.spec.allowedUpgrades ?? DEFAULT_ALLOWED_UPGRADES;
    const refused = refusedUpgrade(req, allowed);
    if (refused !== undefined) {
      observer.requestDone(r.key, 403, 0);
      writeRawError(socket, 403, UpgradeRefused, refusedUpgradeMessage(r.key, refused, allowed));
      return;
    }
    const ex = new Exchange(
      req,
      undefined,
      socket,
      head,
      r,
      deps.countedPath(r, deps.checked.target),
      deps.arrivals,
    );
    ex.target = deps.checked.target;
    ex.authority = deps.checked.authority;
    deps.tunnels.add(socket);
    socket.once('close', () => {
      deps.tunnels.delete(socket);
      deps.clientGone(ex);
      observer.requestDone(r.key, ex.rawStatus, (deps.now() - arrivedAt) / 1000);
    });
    // Until the upstream switches protocols the socket is read here, so a client that leaves
    // while held is seen at once (node's upgrade sockets are half-open: 'end' needs a reader).
    // Clients send nothing before the 101; whatever comes is kept for upstream, up to a bound.
    socket.on('data', (chunk: Buffer) => {
      ex.head = ex.head === undefined || ex.head.length === 0 ? chunk : Buffer.concat([ex.head, chunk]);
      if (ex.head.length >= EARLY_UPGRADE_BYTES) socket.pause();
    });
    socket.once('end', () => socket.destroy());
    deps.admit(ex);
  };
