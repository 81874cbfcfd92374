// Forwarding one exchange to one endpoint over the endpoint's keep-alive agent. Bodies stream
// both ways with backpressure (pipe): nothing is buffered beyond the streams' own high-water
// marks, a streamed response (no Content-Length: SSE, chunked) has its head flushed at once and
// every chunk written as it arrives, and nothing is compressed. An Upgrade (WebSocket) gets the
// upstream's 101 relayed and the two raw sockets joined into a tunnel (upgrades.ts: how it ends).
//
// Failures, by what had happened when they struck:
//   the connect failed for want of file descriptors (EMFILE, ENFILE: nothing sent) →
//     hooks.outOfDescriptors: back to the head of its queue, the endpoint not blamed;
//   connection refused (nothing sent; the body is only piped once connected) → hooks.retry with
//     `refused`: the endpoint cools down and the request goes back to the head of its queue,
//     so it is retried on another endpoint, or on this one after the pause, within holdTimeout;
//   a reused keep-alive socket reset before any byte came back, for a request without a body →
//     retried the same way (the endpoint is not blamed), at most twice;
//   anything else before the response head → 502 naming the route, endpoint and error
//     (UpstreamTlsFailed for a failed TLS handshake with an https endpoint: backend-tls.ts);
//   no response head (or 101) within responseTimeout of the forward (the route's, else the
//     activator's) → the upstream request is cut and the client gets 504 naming the route, the
//     endpoint and the limit (a backend that accepts and never answers holds no client forever);
//   the client's body stops arriving for requestBodyTimeout → the upstream request is cut and the
//     client gets 408 (body-timeout.ts);
//   after the response head was sent → the client connection is destroyed (its framing cannot
//     be ended cleanly, and a truncated body must not look complete).
import { type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import { UpstreamFailed, UpstreamTimeout, UpstreamTlsFailed } from '../api/reasons.ts';
import { isTlsFailure, serviceServerName } from './backend-tls.ts';
import { watchBody } from './body-timeout.ts';
import type { EndpointState } from './endpoints.ts';
import { type Exchange, FORWARDING, replyError } from './exchange.ts';
import type { ProxyTrust } from './forwarded.ts';
import { H2Call } from './h2-call.ts';
import { forwardH2 } from './h2-upstream.ts';
import {
  h2RequestHeaders,
  requestHeaders,
  responseHeaders,
  switchingProtocolsHead,
  withColdStartHeader,
} from './headers.ts';
import { serviceAuthority } from './request-target.ts';
import type { ResponseDeadlines } from './response-deadlines.ts';
import { joinTunnel } from './upgrades.ts';

export interface ForwardHooks {
  /** The exchange is over on its endpoint: release the slot and the counts (idempotent). */
  finished(ex: Exchange): void;
  /** Send the exchange again (`refused`: the endpoint refused the connection). */
  retry(ex: Exchange, refused: boolean): void;
  /** The upstream connect failed with EMFILE/ENFILE: send it again later (descriptors.ts). */
  outOfDescriptors(ex: Exchange): void;
  /** Whether responses should close their client connection (the activator is draining). */
  draining(): boolean;
  /** The response-head wait when the route sets none; 0 = no limit. */
  readonly responseTimeoutMs: number;
  /** Whose X-Forwarded-Proto/-Host and Forwarded are passed on. */
  readonly trust: ProxyTrust;
  /** An upgraded connection's idle limit when the route sets none; 0 = no limit. */
  readonly upgradeIdleTimeoutMs: number;
  /** A forwarded body's idle limit when the route sets none; 0 = no limit (body-timeout.ts). */
  readonly requestBodyTimeoutMs: number;
  /** Where a forward waits for its response head (finished and retry take it out). */
  readonly responseDeadlines: ResponseDeadlines;
}

const MAX_STALE_SOCKET_RETRIES = 2;

interface ErrnoLike {
  readonly code?: string;
  readonly message: string;
}

const noop = (): void => {};

/** Sends `ex` to `ep`; the caller has counted it on `ep` and set nothing else. */
export const forward = (ex: Exchange, ep: EndpointState, hooks: ForwardHooks): void => {
  const upgrade = ex.res === undefined;
  let hasBody = false;
  if (ex.headers === undefined) {
    // A request that named no host is sent with its route's Service as Host (request-target.ts).
    const host = ex.authority === '' ? serviceAuthority(ex.route.spec) : ex.authority;
    const call = ex.h2;
    const head =
      call === undefined
        ? requestHeaders(ex.req, upgrade, host, ex.authority, hooks.trust)
        : h2RequestHeaders(call, !call.stream.endAfterHeaders, host, ex.authority, hooks.trust);
    ex.headers = head.headers;
    hasBody = head.hasBody;
    ex.hasBody = hasBody;
  } else hasBody = ex.hasBody;
  if (ep.h2 !== undefined && !upgrade) {
    forwardH2(ex, ep, ep.h2, hooks);
    return;
  }
  ex.state = FORWARDING;
  ex.endpoint = ep;
  ex.attempts++;
  const up = request({
    agent: ep.agent,
    protocol: ep.scheme,
    host: ep.address,
    port: ep.port,
    method: ex.req.method ?? 'GET',
    path: ex.target,
    headers: ex.headers,
    setHost: false,
  });
  ex.upstream = up;
  /** Whether any of the request body was read into the upstream request (no retry after that). */
  let sent = false;
  const limitMs = ex.route.spec.responseTimeoutMs ?? hooks.responseTimeoutMs;
  // Left when the head arrives (below, forwardUpgrade) or the forward ends (finished, retry).
  if (limitMs > 0) hooks.responseDeadlines.add(ex, limitMs);

  up.on('error', (err: ErrnoLike) => {
    if (ex.upstream !== up || ex.state !== FORWARDING) return;
    const code = err.code ?? '';
    if (!sent && (code === 'EMFILE' || code === 'ENFILE')) {
      ex.lastError = `${code} connecting to ${ep.id}: the activator is out of file descriptors`;
      hooks.outOfDescriptors(ex);
      return;
    }
    if (!sent && (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')) {
      ex.lastError = `${code} from ${ep.id}`;
      hooks.retry(ex, true);
      return;
    }
    if (
      !sent &&
      up.reusedSocket &&
      (code === 'ECONNRESET' || code === 'EPIPE') &&
      ex.attempts <= MAX_STALE_SOCKET_RETRIES
    ) {
      ex.lastError = `${code} on a reused connection to ${ep.id}`;
      hooks.retry(ex, false);
      return;
    }
    failed(ex, ep, err, hooks);
  });

  if (upgrade) {
    forwardUpgrade(ex, ep, up, hooks);
    up.end();
    return;
  }

  up.on('response', (ures: IncomingMessage) => {
    if (ex.upstream !== up || ex.state !== FORWARDING) {
      ures.destroy();
      return;
    }
    hooks.responseDeadlines.remove(ex);
    ep.owner.trouble.clear(); // the backend answers: whatever flapped before is over
    const res = ex.res;
    if (res === undefined) return;
    ep.refusals = 0;
    const headers = responseHeaders(ures.rawHeaders, res instanceof H2Call ? false : hooks.draining());
    if (ex.route.spec.coldStartHeader === true) withColdStartHeader(headers, ex.coldHoldMs);
    if (res instanceof H2Call) {
      // HTTP/2 has no status text, nor Connection (drain is a GOAWAY: h2.ts); a field it forbids
      // (RFC 9113 §8.2.2) that got past the filter fails this answer only.
      try {
        res.writeHead(ures.statusCode ?? 502, headers);
      } catch (err) {
        ures.destroy();
        failed(ex, ep, err as ErrnoLike, hooks);
        return;
      }
    } else res.writeHead(ures.statusCode ?? 502, ures.statusMessage, headers);
    // A streamed answer (SSE, chunked) shows its head at once; a sized one goes with its body.
    if (!hasContentLength(ures.rawHeaders)) res.flushHeaders();
    ures.on('error', noop);
    ures.on('close', () => {
      if (ures.complete) return;
      // The endpoint died mid-answer: the client must not take a truncated body for a whole one.
      res.destroy();
      hooks.finished(ex);
    });
    // The body, chunk by chunk as it comes, pausing the endpoint while the client is behind:
    // what pipe() does, without its seven listeners per response (the client leaving is handled
    // by its 'close': the upstream request is destroyed).
    ures.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        ures.pause();
        res.once('drain', () => ures.resume());
      }
    });
    ures.on('end', () => {
      hooks.finished(ex);
      res.end();
    });
  });

  if (!hasBody) {
    up.end();
    return;
  }
  // The body is only read once connected: a refused connection can be retried elsewhere.
  up.once('socket', (socket: Socket) => {
    const start = (): void => {
      if (ex.upstream !== up || ex.state !== FORWARDING) return;
      sent = true;
      if (ex.expectContinue) ex.res?.writeContinue();
      watchBody(ex, up, ex.route.spec.requestBodyTimeoutMs ?? hooks.requestBodyTimeoutMs, hooks.finished);
      ex.req.pipe(up);
    };
    if (socket.connecting) socket.once('connect', start);
    else start();
  });
};

/** A Content-Length among raw headers (`ures.headers` would build a header object per response). */
const hasContentLength = (raw: readonly string[]): boolean => {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return true;
  }
  return false;
};

/** `ex` got no response head within `limitMs` (ResponseDeadlines calls it, already unlinked). */
export const responseTimedOut = (ex: Exchange, limitMs: number, hooks: ForwardHooks): void => {
  const ep = ex.endpoint;
  const up = ex.upstream;
  if (ep === undefined || up === undefined || ex.state !== FORWARDING) return;
  ex.lastError = `no response from ${ep.id} within ${limitMs} ms`;
  hooks.finished(ex);
  up.destroy();
  replyError(
    ex,
    504,
    UpstreamTimeout,
    `route ${ex.route.key}: endpoint ${ep.id} sent no response within responseTimeout ${limitMs} ms`,
  );
};

const failed = (ex: Exchange, ep: EndpointState, err: ErrnoLike, hooks: ForwardHooks): void => {
  const why = err.code === undefined ? err.message : `${err.message} (${err.code})`;
  hooks.finished(ex);
  if (ep.scheme === 'https:' && isTlsFailure(err.code ?? '')) {
    const name = serviceServerName(ep.owner.service);
    replyError(
      ex,
      502,
      UpstreamTlsFailed,
      `route ${ex.route.key}: TLS handshake with endpoint ${ep.id} as ${name} failed: ${why}`,
    );
    return;
  }
  replyError(
    ex,
    502,
    UpstreamFailed,
    `route ${ex.route.key}: endpoint ${ep.id} failed before answering: ${why}`,
  );
};

/** The Upgrade path: relay the 101 and join the raw sockets, or relay a refusal as it is. */
const forwardUpgrade = (
  ex: Exchange,
  ep: EndpointState,
  up: ReturnType<typeof request>,
  hooks: ForwardHooks,
): void => {
  up.on('upgrade', (ures: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    const client = ex.socket;
    if (ex.upstream !== up || ex.state !== FORWARDING || client.destroyed) {
      upstream.destroy();
      hooks.finished(ex);
      return;
    }
    hooks.responseDeadlines.remove(ex);
    ep.refusals = 0;
    // The server read the client until now (to see it leave while held); the pipe reads from here on.
    client.removeAllListeners('data');
    client.removeAllListeners('end');
    upstream.on('error', noop);
    client.on('error', noop);
    ex.rawStatus = 101;
    client.write(switchingProtocolsHead(ures.statusMessage, ures.rawHeaders));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (ex.head !== undefined && ex.head.length > 0) upstream.write(ex.head);
    upstream.setNoDelay(true);
    // The tunnel holds its endpoint slot until it ends (upgrades.ts: FIN, close or idle).
    const idleMs = ex.route.spec.upgradeIdleTimeoutMs ?? hooks.upgradeIdleTimeoutMs;
    joinTunnel(client, upstream, idleMs, () => hooks.finished(ex));
  });
  up.on('response', (ures: IncomingMessage) => {
    // The endpoint answered without switching protocols: relay that answer and close.
    const client = ex.socket;
    if (ex.upstream !== up || ex.state !== FORWARDING || client.destroyed) {
      ures.destroy();
      hooks.finished(ex);
      return;
    }
    hooks.responseDeadlines.remove(ex);
    ex.rawStatus = ures.statusCode ?? 502;
    let head = `HTTP/1.1 ${ures.statusCode ?? 502} ${ures.statusMessage ?? ''}\r\n`;
    const headers = responseHeaders(ures.rawHeaders, true);
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    client.write(`${head}\r\n`);
    ures.on('error', noop);
    ures.on('close', () => hooks.finished(ex));
    ures.pipe(client);
  });
};
