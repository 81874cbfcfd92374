// HTTP/2 from clients: h2c with prior knowledge (RFC 9113 §3.3) on the proxy port, beside
// HTTP/1.1, and the hook the TLS listener hands ALPN `h2` connections to. Every stream is taken
// raw (`'stream'`: the stream and its decoded headers) and wrapped in an H2Call (h2-call.ts, why
// not node's compatibility API), which intake.ts and server.ts route, holds, counts, balances and releases
// exactly as an HTTP/1.1 request: one code path. CONNECT (no :path) is a stream like any other:
// checkH2Request answers it 501, as HTTP/1.1's; an extended CONNECT (`:protocol`, RFC 8441) is
// malformed without SETTINGS_ENABLE_CONNECT_PROTOCOL, which is not sent: nghttp2 resets it.
// `Expect: 100-continue` is honoured as over HTTP/1.1 (the 100 goes out when the body is
// wanted: proxy.ts); any other expectation gets 417, as node's HTTP/1.1 server answers it.
//
// Telling the two apart. A connection's first bytes are read once, before node's HTTP/1 parser
// gets the socket: bytes that begin the 24-byte connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`
// (a prefix of it is waited on) make it an HTTP/2 session, anything else goes to the HTTP/1.1
// server with the bytes put back. Always on, no flag: no HTTP/1.1 request can begin with the
// preface (`PRI` with version 2.0 is reserved for it, RFC 9113 §3.4; today such a request got 505),
// so nothing an HTTP/1.1 client sends changes meaning, and a gRPC client needs nothing configured
// (Envoy's http_protocol_options auto-detection does the same on a plain listener). A connection
// that sends nothing is closed after headersTimeout, as node's HTTP/1 server closes one.
// `Upgrade: h2c` is not taken (upgrades.ts serves it as a plain HTTP/1.1 request).
//
// Limits, as Envoy's edge hardening ("configuring Envoy as an edge proxy") and nginx set them:
//   concurrent streams per connection   100 (SETTINGS_MAX_CONCURRENT_STREAMS; more are refused)
//   header list                          the HTTP/1 head limit (node's --max-http-header-size,
//                                        16 KiB) and 128 fields; beyond: the stream is refused
//   stream window                        64 KiB: a held request's body waits in the client
//                                        (flow control), not here
//   rapid reset (CVE-2023-44487)         nghttp2's reset-rate limit (1000 burst, 33/s) sends
//                                        GOAWAY; maxSessionRejectedStreams 100 closes a client
//                                        that keeps opening streams beyond the limit
//   CONTINUATION flood (CVE-2024-27316, CVE-2024-28182, node's CVE-2024-27983)
//                                        nghttp2 caps CONTINUATION frames per header block and
//                                        the header list size above ends the stream; a session
//                                        with 1000 invalid frames is closed (maxSessionInvalidFrames)
//   SETTINGS / PING floods               32 settings per frame (maxSettings), 10 unacknowledged
//                                        pings (maxOutstandingPings), node's session memory cap
//   idle connection                      keepAliveTimeout: GOAWAY, open streams finish
// Whatever one session does, the others are their own nghttp2 sessions: its GOAWAY or reset
// touches no other client's streams.
//
// Shutdown: goAway() sends GOAWAY on every session (streams already open finish, new ones are
// refused by the client), close() destroys them.

import { maxHeaderSize, type Server } from 'node:http';
import {
  constants,
  createServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { H2Call } from './h2-call.ts';

/** The client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Streams per connection, as Envoy's edge configuration sets it. */
export const MAX_CONCURRENT_STREAMS = 100;
/** Header fields per request (nghttp2's and node's default). */
const MAX_HEADER_LIST_PAIRS = 128;

export interface Http2Deps {
  /** One stream, as server.ts handles an HTTP/1.1 request; `expectContinue`: it asked for 100. */
  onRequest(call: H2Call, expectContinue: boolean): void;
  /** Idle sessions get GOAWAY after this long without a frame. */
  readonly keepAliveTimeoutMs: number;
}

export interface Http2Front {
  /** Makes `socket` (plain, or TLS with ALPN h2) an HTTP/2 session. */
  onConnection(socket: Socket): void;
  /** GOAWAY on every session: open streams finish, no new ones. */
  goAway(): void;
  /** Destroys every session. */
  close(): void;
  /** Sessions open now. */
  readonly sessions: number;
}

export const attachHttp2 = (deps: Http2Deps): Http2Front => {
  const sessions = new Map<ServerHttp2Session, Socket>();
  let closing = false;
  const server = createServer({
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 1_000,
    maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
    maxSettings: 32,
    maxOutstandingPings: 10,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: maxHeaderSize,
      initialWindowSize: 65_535,
      enablePush: false,
    },
  });
  // The session that is being created (node emits 'session' synchronously from 'connection').
  let accepting: Socket | undefined;
  server.on('session', (session: ServerHttp2Session) => {
    const socket = accepting as Socket;
    sessions.set(session, socket);
    session.on('error', noop);
    session.setTimeout(deps.keepAliveTimeoutMs, () => session.close());
    session.once('close', () => sessions.delete(session));
    if (closing) session.close();
  });
  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      const socket = sessions.get(stream.session as ServerHttp2Session);
      if (socket === undefined) {
        stream.on('error', noop);
        stream.close(constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      const call = new H2Call(stream, headers, rawHeaders, socket);
      const expect = headers.expect;
      if (expect === undefined) deps.onRequest(call, false);
      else if (expect.toLowerCase() === '100-continue') deps.onRequest(call, true);
      else call.respondEnded({ ':status': 417 }, 417);
    },
  );

  return {
    onConnection: (socket: Socket): void => {
      socket.on('error', noop);
      accepting = socket;
      server.emit('connection', socket);
      accepting = undefined;
    },
    goAway: (): void => {
      closing = true;
      for (const session of sessions.keys()) session.close();
    },
    close: (): void => {
      closing = true;
      for (const session of sessions.keys()) session.destroy();
    },
    get sessions(): number {
      return sessions.size;
    },
  };
};

const noop = (): void => {};

const readAheadAgain = (state: { readingMore: boolean }): void => {
  state.readingMore = false;
};

/**
 * Puts the preface check in front of `server`'s HTTP/1 connection handling: a connection goes to
 * `h2` when its first bytes are the HTTP/2 preface, else to node's HTTP/1.1 server, which reads
 * the bytes again (see the top of this file). Other 'connection' listeners (the connection budget)
 * keep running first.
 */
export const detectPreface = (server: Server, h2: Http2Front, headersTimeoutMs: number): void => {
  const http1 = server.listeners('connection')[0] as (socket: Socket) => void;
  server.off('connection', http1);
  server.on('connection', (socket: Socket) => {
    let seen: Buffer | undefined;
    const previousTimeout = socket.timeout ?? 0;
    const silent = (): void => {
      socket.destroy();
    };
    if (headersTimeoutMs > 0) {
      socket.setTimeout(headersTimeoutMs);
      socket.once('timeout', silent);
    }
    const onData = (chunk: Buffer): void => {
      const bytes = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(bytes.length, PREFACE.length);
      const prefix = bytes.compare(PREFACE, 0, n, 0, n) === 0;
      if (prefix && n < PREFACE.length) {
        seen = bytes; // a prefix of the preface: wait for the rest
        return;
      }
      socket.off('data', onData);
      socket.off('timeout', silent);
      socket.setTimeout(previousTimeout);
      if (prefix) {
        // node's HTTP/2 session reads what the socket holds before its own reads.
        socket.pause();
        socket.unshift(bytes);
        h2.onConnection(socket);
      } else {
        // The parser takes the socket over (it reads it natively from now on) and gets these
        // bytes as its own 'data' listener would. Nothing of the stream's own may read after it:
        // unshifting would let the deferred 'resume', and the read-ahead that this first read
        // schedules (`readingMore`, node's lib/internal/streams/readable.js) would, restart
        // reading after a held request paused its socket (hold-queue.ts).
        const state = (socket as Socket & { _readableState: { readingMore: boolean } })._readableState;
        state.readingMore = true;
        process.nextTick(readAheadAgain, state);
        http1.call(server, socket);
        socket.emit('data', bytes);
      }
    };
    socket.on('data', onData);
    socket.on('error', noop);
  });
};
