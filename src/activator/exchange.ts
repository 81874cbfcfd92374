// One client request on its way through the activator (a plain request, or an Upgrade whose
// client side is a raw socket), and the error answers the activator gives on its own. Every
// answer the activator writes itself carries `X-Ebb-Reason` (an ActivatorReason, listed in
// src/api/reasons.ts) and a one-line body naming the route and the limit that was hit; a gRPC
// call gets the same as a gRPC status instead (grpc.ts).
import { type ClientRequest, type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ActivatorReason } from '../api/reasons.ts';
import type { Clock, Timer } from '../clock.ts';
import type { RouteSpec } from '../routing/routes.ts';
import type { EndpointState, ServiceBackend } from './endpoints.ts';
import { isGrpc, writeGrpcError } from './grpc.ts';
import { H2Call } from './h2-call.ts';
import { type PlaceholderPage, placeholderPage } from './placeholder.ts';
import type { DeadlineList } from './response-deadlines.ts';
import { RouteCounters } from './stats.ts';
import type { HeldSpan } from './tracing.ts';

/** Routed, not yet forwarded nor held. */
export const NEW = 0;
export const HELD = 1;
export const FORWARDING = 2;
/** Answered (or failed) as far as the activator is concerned; later events are ignored. */
export const DONE = 3;
export type ExchangeState = typeof NEW | typeof HELD | typeof FORWARDING | typeof DONE;

/**
 * One route's state in the activator. Here, beside Exchange, because each points at the other
 * (an exchange's route, a route's FIFO of held exchanges): one module, no import circle.
 */
export class RouteState {
  spec: RouteSpec;
  backend: ServiceBackend;
  healthPaths: ReadonlySet<string>;
  readonly counters: RouteCounters;
  /** The route's FIFO. */
  head: Exchange | undefined;
  tail: Exchange | undefined;
  /** Requests in the FIFO, health-path ones included (the cap counts them). */
  queued = 0;
  /** The held count last poked; 0 = not poked in this episode. */
  pokedAt = 0;
  /** When the current cold start began (monotonic ms); 0 = none under way. */
  coldSince = 0;
  /** The page browsers get while the route is cold (placeholder.ts); undefined: they are held. */
  placeholder: PlaceholderPage | undefined;
  /** When a placeholder answer last poked (monotonic ms). */
  placeholderPokedAt = Number.NEGATIVE_INFINITY;

  constructor(spec: RouteSpec, backend: ServiceBackend, clock: Clock) {
    this.spec = spec;
    this.backend = backend;
    this.healthPaths = new Set(spec.healthPaths);
    this.counters = new RouteCounters(spec.key, clock);
    this.placeholder = placeholderPage(spec);
  }

  get key(): string {
    return this.spec.key;
  }

  update(spec: RouteSpec): void {
    this.spec = spec;
    this.healthPaths = new Set(spec.healthPaths);
    this.placeholder = placeholderPage(spec);
  }
}

/** Numbers exchanges in arrival order; one per activator (no process-wide counter). */
export class Arrivals {
  private last = 0;
  next(): number {
    return ++this.last;
  }
}

export class Exchange {
  state: ExchangeState = NEW;
  /** Arrival order across all routes (Arrivals): the hold queue releases the oldest first. */
  readonly seq: number;
  /** Hold-queue links (a route's FIFO is an intrusive doubly linked list: O(1) unlink). */
  next: Exchange | undefined;
  prev: Exchange | undefined;
  /** When the hold ends in a 504 (monotonic ms), and its timer while held. */
  deadline = 0;
  /** A gRPC call's grpc-timeout (ms) when it set `deadline`, being shorter than holdTimeout; 0: not. */
  grpcTimeoutMs = 0;
  timer: Timer | undefined;
  endpoint: EndpointState | undefined;
  /** The forward hop: an HTTP/1.1 request, or an HTTP/2 stream (h2-upstream.ts). */
  upstream: ClientRequest | ClientHttp2Stream | undefined;
  /** The origin-form target forwarded (normalised: the one the route matched; request-target.ts). */
  target = '/';
  /** The Host the client named (the absolute-form target's authority, else its Host); '' = none. */
  authority = '';
  /** The upstream request's headers, built once on the first forward (retries reuse them). */
  headers: string[] | undefined;
  /** The request has a body to stream (known with `headers`). */
  hasBody = false;
  /** The client sent `Expect: 100-continue`: it is invited to send its body only once forwarded. */
  expectContinue = false;
  /** An HTTP/2 stream (h2-call.ts; then also `req` and `res`): no Connection header nor status
   * text on its answers, its body is held back by flow control, not by pausing the shared
   * connection. undefined: HTTP/1.1. */
  readonly h2: H2Call | undefined;
  /** Forward attempts so far (refused connections and stale keep-alive sockets are retried). */
  attempts = 0;
  /** The last upstream failure, for the 504 that may follow it. */
  lastError = '';
  /** When it last joined the hold queue (monotonic ms, for the observer). */
  heldAt = 0;
  /** When it was first held with no ready endpoint (monotonic ms); -1: not held for a cold start. */
  coldStartAt = -1;
  /** How long it was held for a cold start, set when released to an endpoint (ms); -1: not. */
  coldHoldMs = -1;
  /** Its span while held, when tracing is on (tracing.ts). */
  span: HeldSpan | undefined;
  /** The status sent on an Upgrade's raw socket (101, or the error/refusal relayed); 0 = none. */
  rawStatus = 0;
  /** While forwarded and awaiting the response head: its deadline (monotonic ms) and its links
   * in that limit's list (response-deadlines.ts). */
  headDue = 0;
  headList: DeadlineList | undefined;
  headPrev: Exchange | undefined;
  headNext: Exchange | undefined;

  constructor(
    readonly req: IncomingMessage | H2Call,
    /** undefined for an Upgrade: the client side is `socket`. */
    readonly res: ServerResponse | H2Call | undefined,
    readonly socket: Socket,
    /** Bytes the client sent after an Upgrade request's head (grows while the upgrade is held). */
    public head: Buffer | undefined,
    public route: RouteState,
    /** false for health paths: not counted, never wakes the route. */
    readonly counted: boolean,
    arrivals: Arrivals,
  ) {
    this.seq = arrivals.next();
    this.h2 = res instanceof H2Call ? res : undefined;
  }
}

/** Answers `ex` with an error of the activator's own, or cuts the connection when too late for that. */
export const replyError = (
  ex: Exchange,
  status: number,
  reason: ActivatorReason,
  message: string,
  retryAfterSeconds?: number,
): void => {
  if (ex.res !== undefined) writeError(ex.res, status, reason, message, retryAfterSeconds);
  else {
    ex.rawStatus = status;
    writeRawError(ex.socket, status, reason, message, retryAfterSeconds);
  }
};

export const writeError = (
  res: ServerResponse | H2Call,
  status: number,
  reason: ActivatorReason,
  message: string,
  retryAfterSeconds?: number,
  close = false,
): void => {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  // A gRPC call (HTTP/2 only) gets a gRPC status, not an error page (grpc.ts).
  if (res instanceof H2Call && isGrpc(res.headers['content-type'])) {
    writeGrpcError(res, status, reason, message);
    return;
  }
  const body = message.endsWith('\n') ? message : `${message}\n`;
  const headers = [
    'content-type',
    'text/plain; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(body)),
    'x-ebb-reason',
    reason,
    'cache-control',
    'no-store',
  ];
  if (retryAfterSeconds !== undefined) headers.push('retry-after', String(retryAfterSeconds));
  // HTTP/2 has no Connection header (RFC 9113 §8.2.2): its stream ends with the answer anyway.
  if (res instanceof ServerResponse) {
    if (close) headers.push('connection', 'close');
    res.writeHead(status, headers);
  } else res.writeHead(status, headers);
  res.end(body);
};

/** An answer of the activator's own as raw bytes, for a socket node no longer writes (then closed). */
export const rawErrorBytes = (
  status: number,
  reason: ActivatorReason,
  message: string,
  retryAfterSeconds?: number,
): string => {
  const body = message.endsWith('\n') ? message : `${message}\n`;
  const retry = retryAfterSeconds === undefined ? '' : `retry-after: ${retryAfterSeconds}\r\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-ebb-reason: ${reason}\r\ncache-control: no-store\r\n${retry}connection: close\r\n\r\n${body}`
  );
};

/** The same answer written by hand on an Upgrade request's socket, which is then closed. */
export const writeRawError = (
  socket: Socket,
  status: number,
  reason: ActivatorReason,
  message: string,
  retryAfterSeconds?: number,
): void => {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorBytes(status, reason, message, retryAfterSeconds));
};
