// HTTP/2 to an endpoint whose Service port says so (appProtocol `kubernetes.io/h2c`, `h2c` or
// `grpc`: ports.ts). One pool of `http2.connect` sessions per endpoint: a request takes the
// newest session with a free stream under the peer's SETTINGS_MAX_CONCURRENT_STREAMS, else a
// new session is opened; the endpoint's stream count is already bounded by containerConcurrency
// (endpoints.ts picks under it). A session that fails or gets GOAWAY leaves the pool at once:
// its streams fail as upstream errors (below) and the next request opens a new session.
//
// The exchange as proxy.ts forwards it over HTTP/1.1, with these differences:
//   request   pseudo-headers from the checked request (:method, :path = the normalised target,
//             :authority = the Host sent, :scheme http); Host, Transfer-Encoding and the other
//             connection-specific fields dropped (RFC 9113 §8.2.2); `te: trailers` kept for gRPC
//   answer    :status and the fields relayed (to an HTTP/1.1 client node frames the body);
//             trailers (gRPC's grpc-status, grpc-message) relayed as trailers; a head that ends
//             the stream (gRPC's trailers-only status) is relayed to an HTTP/2 client as such
//   failures  no session (connection refused, unreachable) before a byte was sent (the body is
//             read only once the stream is open) → retried like a refused HTTP/1.1 connection
//             (the endpoint cools down); REFUSED_STREAM before
//             any answer (RFC 9113 §8.7: not processed) → retried, at most twice; a stream
//             closed without an answer (reset, connection lost) and any other
//             stream or session error before the answer head → 502 UpstreamFailed; after it →
//             the client's stream or connection is cut.

import type { ServerResponse } from 'node:http';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
import { UpstreamFailed } from '../api/reasons.ts';
import { watchBody } from './body-timeout.ts';
import type { EndpointState } from './endpoints.ts';
import { type Exchange, FORWARDING, replyError } from './exchange.ts';
import { isGrpc } from './grpc.ts';
import { H2Call } from './h2-call.ts';
import { withColdStartHeader } from './headers.ts';
import type { ForwardHooks } from './proxy.ts';

/** Streams a session takes until the peer's SETTINGS arrive (RFC 9113 §6.5.2: 100 is the
 * smallest a peer should advertise). */
const INITIAL_STREAMS = 100;

/** The sessions to one endpoint. */
export class H2Pool {
  private sessions: ClientHttp2Session[] = [];

  /** `authority`: the endpoint as `address:port` (IPv6 in brackets), `address` and `port` its parts. */
  constructor(
    private readonly authority: string,
    private readonly address: string,
    private readonly port: number,
    private readonly idleMs: number,
  ) {}

  /** A session with room for one more stream (opened when none has). */
  session(): ClientHttp2Session {
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i] as ClientHttp2Session;
      if (s.closed || s.destroyed) continue;
      const max = s.connecting ? INITIAL_STREAMS : (s.remoteSettings.maxConcurrentStreams ?? INITIAL_STREAMS);
      if (openStreams(s) < max) return s;
    }
    return this.open();
  }

  /** Closes every session (the endpoint left the ready set, or the activator closes). */
  close(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions = [];
  }

  private open(): ClientHttp2Session {
    const s = connect(`http://${this.authority}`, {
      settings: { enablePush: false },
      // Nagle off, as node:http's agent and server do: with it a small frame written behind an
      // unacknowledged one waits for the peer's delayed ACK (up to 40 ms on Linux).
      createConnection: () => netConnect({ host: this.address, port: this.port, noDelay: true }),
    });
    this.sessions.push(s);
    const drop = (): void => {
      const i = this.sessions.indexOf(s);
      if (i >= 0) this.sessions.splice(i, 1);
    };
    s.on('error', drop);
    s.on('goaway', drop);
    s.on('close', drop);
    // An idle session (no stream for idleMs) is closed, as idle keep-alive sockets are.
    s.setTimeout(this.idleMs, () => {
      if (openStreams(s) === 0) s.close();
    });
    s.unref();
    return s;
  }
}

/**
 * Streams open on a session, kept by forwardH2 below (node exposes no count) on the session
 * itself, as pipelining.ts keeps its count on the socket: no side table outside its owner.
 */
interface CountedSession extends ClientHttp2Session {
  ebbOpenStreams?: number;
}

const openStreams = (s: CountedSession): number => s.ebbOpenStreams ?? 0;

/** Whether the endpoint refused `stream` unprocessed: it may be sent again (RFC 9113 §8.7). */
const notProcessed = (stream: ClientHttp2Stream): boolean =>
  stream.rstCode === constants.NGHTTP2_REFUSED_STREAM;

/** The forward hop's HTTP/2 request headers from the HTTP/1-shaped list proxy.ts builds. */
export const h2UpstreamHeaders = (
  method: string,
  target: string,
  list: readonly string[],
  grpc: boolean,
): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = { ':method': method, ':path': target, ':scheme': 'http' };
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    if (name === 'host') out[':authority'] = value;
    else if (name === 'transfer-encoding' || name === 'connection' || name === 'http2-settings') continue;
    else {
      const had = out[name];
      if (had === undefined) out[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else out[name] = [String(had), value];
    }
  }
  // gRPC servers may insist on it (RFC 9113 §8.2.2 allows exactly this TE).
  if (grpc) out.te = 'trailers';
  return out;
};

/** The answer's fields without pseudo-headers, as [name, value, …] for writeHead. */
export const h2ResponseFields = (headers: IncomingHttpHeaders): string[] => {
  const out: string[] = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
};

interface ErrorLike {
  readonly code?: string;
  readonly message: string;
  readonly cause?: { readonly code?: string };
}

const MAX_REFUSED_STREAM_RETRIES = 2;

/** The errno-like code of a stream error (a session's connect error arrives as the cause). */
const errorCode = (err: ErrorLike | undefined): string => {
  if (err === undefined) return '';
  if (err.code === 'ERR_HTTP2_STREAM_CANCEL') return err.cause?.code ?? err.code;
  return err.code ?? '';
};

/**
 * Sends `ex` to `ep` over HTTP/2 (see the top of this file); as proxy.forward otherwise.
 * An HTTP/2 client's body still to come (a gRPC message: its DATA frame and END_STREAM arrive
 * right behind HEADERS, in the same read) is waited for until the loop's check phase, so that
 * the upstream HEADERS, DATA and END_STREAM leave in one write (relayBody) instead of HEADERS
 * and DATA, then END_STREAM alone once the DATA's write completed (node ends a stream with its
 * last DATA frame only when end() follows write() in the same tick); the endpoint, which
 * answers a unary call only at END_STREAM, is woken once. The slot is taken meanwhile
 * (FORWARDING): a client that leaves ends it as any forward.
 */
export const forwardH2 = (ex: Exchange, ep: EndpointState, pool: H2Pool, hooks: ForwardHooks): void => {
  ex.state = FORWARDING;
  ex.endpoint = ep;
  ex.attempts++;
  if (ex.h2 !== undefined && ex.hasBody && !ex.h2.complete) setImmediate(openStream, ex, ep, pool, hooks);
  else openStream(ex, ep, pool, hooks);
};

const openStream = (ex: Exchange, ep: EndpointState, pool: H2Pool, hooks: ForwardHooks): void => {
  if (ex.state !== FORWARDING || ex.endpoint !== ep) return; // the client left meanwhile
  const req = ex.req;
  const res = ex.res as ServerResponse | H2Call;
  const grpc = isGrpc(req.headers['content-type']);
  const headers = h2UpstreamHeaders(req.method ?? 'GET', ex.target, ex.headers as string[], grpc);
  const session: CountedSession = pool.session();
  const up = session.request(headers, { endStream: !ex.hasBody });
  // Counted until 'close' (below): one listener does both, no once() wrapper per stream.
  session.ebbOpenStreams = openStreams(session) + 1;
  ex.upstream = up;
  let answered = false;
  let sent = false;
  const limitMs = ex.route.spec.responseTimeoutMs ?? hooks.responseTimeoutMs;
  if (limitMs > 0) hooks.responseDeadlines.add(ex, limitMs);

  /** The stream failed or closed without a whole answer (`err`: why, when node said). */
  const broken = (err: ErrorLike | undefined): void => {
    if (ex.upstream !== up || ex.state !== FORWARDING) return;
    if (answered) {
      // Mid-answer: the client must not take a truncated body for a whole one.
      res.destroy();
      hooks.finished(ex);
      return;
    }
    const code = errorCode(err);
    if (!sent && (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')) {
      ex.lastError = `${code} from ${ep.id}`;
      hooks.retry(ex, true);
      return;
    }
    if (!sent && (code === 'EMFILE' || code === 'ENFILE')) {
      ex.lastError = `${code} connecting to ${ep.id}: the activator is out of file descriptors`;
      hooks.outOfDescriptors(ex);
      return;
    }
    if (!sent && notProcessed(up) && ex.attempts <= MAX_REFUSED_STREAM_RETRIES) {
      ex.lastError = `${ep.id} did not process the stream`;
      hooks.retry(ex, false);
      return;
    }
    const why =
      err === undefined
        ? `stream closed without an answer (code ${up.rstCode ?? 0})`
        : code === ''
          ? err.message
          : `${err.message} (${code})`;
    hooks.finished(ex);
    replyError(
      ex,
      502,
      UpstreamFailed,
      `route ${ex.route.key}: endpoint ${ep.id} failed before answering: ${why}`,
    );
  };
  up.on('error', broken);
  up.on('close', () => {
    session.ebbOpenStreams = openStreams(session) - 1;
    broken(undefined);
  });

  up.on('response', (head: IncomingHttpHeaders, flags: number) => {
    if (ex.upstream !== up || ex.state !== FORWARDING) return;
    const status = Number(head[':status']);
    if (status < 200) return; // 1xx: informational, not the answer
    answered = true;
    hooks.responseDeadlines.remove(ex);
    ep.owner.trouble.clear();
    ep.refusals = 0;
    if (res instanceof H2Call && (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
      // A head that ends the stream (gRPC's trailers-only status) stays one HEADERS frame with
      // END_STREAM: gRPC clients read grpc-status there only (PROTOCOL-HTTP2.md).
      res.respondEnded(head, status);
      return;
    }
    const fields = h2ResponseFields(head);
    if (ex.route.spec.coldStartHeader === true) withColdStartHeader(fields, ex.coldHoldMs);
    if (res instanceof H2Call) {
      // The endpoint's trailers (gRPC's grpc-status) follow the body: the stream waits for them.
      res.writeHead(status, fields, true);
      return;
    }
    res.writeHead(status, fields);
    if (head['content-length'] === undefined) res.flushHeaders();
  });
  up.on('trailers', (trailers: IncomingHttpHeaders) => {
    if (ex.upstream === up && ex.state === FORWARDING) res.addTrailers(trailerFields(trailers));
  });
  up.on('data', (chunk: Buffer) => {
    if (!res.write(chunk)) {
      up.pause();
      res.once('drain', () => up.resume());
    }
  });
  up.on('end', () => {
    // A stream that ends without an answer head is 'close''s business (broken).
    if (ex.upstream !== up || ex.state !== FORWARDING || !answered) return;
    hooks.finished(ex);
    res.end();
  });

  if (!ex.hasBody) return;
  // The body is only read once the stream is open on a connected session (as proxy.ts waits
  // for the socket): a refused connection can then be retried elsewhere with the body whole.
  // A gRPC call always has a body, so this is what lets a call survive a stale endpoint.
  const start = (): void => {
    if (ex.upstream !== up || ex.state !== FORWARDING) return;
    sent = true;
    if (ex.expectContinue) ex.res?.writeContinue();
    watchBody(ex, up, ex.route.spec.requestBodyTimeoutMs ?? hooks.requestBodyTimeoutMs, hooks.finished);
    if (req instanceof H2Call) relayBody(req, up);
    else req.pipe(up);
  };
  if (up.pending) up.once('ready', start);
  else start();
};

/**
 * An HTTP/2 client's body into `up`: what has arrived is read at once; when that is all of it
 * (the 'end' that read() schedules comes first in the next tick), it is written and ended in
 * one tick, so its last DATA frame carries END_STREAM; else the rest is piped as it comes.
 */
const relayBody = (call: H2Call, up: ClientHttp2Stream): void => {
  const stream = call.stream;
  const arrived: Buffer[] = [];
  for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null)
    arrived.push(chunk);
  let ended = false;
  const onEnd = (): void => {
    ended = true;
  };
  stream.once('end', onEnd);
  process.nextTick(() => {
    stream.off('end', onEnd);
    for (const chunk of arrived) up.write(chunk);
    if (ended) up.end();
    else stream.pipe(up);
  });
};

/** Trailer fields as an object of strings (pseudo-headers have no place there). */
const trailerFields = (trailers: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const name in trailers) {
    const v = trailers[name];
    if (name.charCodeAt(0) !== 0x3a && v !== undefined)
      out[name] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
};
