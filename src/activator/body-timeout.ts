// The request-body idle timeout (nginx's client_body_timeout, 60 s by default): a forwarded
// request whose body stops arriving for requestBodyTimeout — no byte read from, nor written to,
// the client's connection — is cut: the upstream request is destroyed (the endpoint sees an
// aborted request), the endpoint's slot is freed, and the client gets 408 RequestBodyTimeout with
// `Connection: close` when nothing was answered yet (RFC 9110 §15.5.9), else its connection is
// cut. Like nginx's, it is an idle limit between two reads, not a minimum rate.
//
// Cost: the timer is the client socket's own (node keeps one list per duration and re-arms the
// socket's timer on every read and write, reusing its Timeout object), armed only for a request
// whose body is still arriving when it is forwarded; a body that came with its head arms nothing.
// It covers the body only: it is disarmed when the body ends, so a slow answer stays the response
// timeout's business. A held request's body is not read at all (hold-queue.ts): the limit starts
// at the forward.
// Not on the Clock port, on purpose: an idle timer re-armed by the socket's own reads and writes is
// node's (the kernel's I/O decides when it fires), so tests of it wait for real bytes.
import type { ClientRequest } from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import { RequestBodyTimeout } from '../api/reasons.ts';
import { type Exchange, FORWARDING, writeError } from './exchange.ts';
import { H2Call } from './h2-call.ts';

/** Watches the body of `ex`, just forwarded over `up`; `finished` frees its slot (idempotent). */
export const watchBody = (
  ex: Exchange,
  up: ClientRequest | ClientHttp2Stream,
  limitMs: number,
  finished: (ex: Exchange) => void,
): void => {
  const req = ex.req;
  if (limitMs <= 0 || req.complete) return;
  // node emits 'timeout' on the request while its body is incomplete (else the socket's own
  // keep-alive handling applies).
  req.setTimeout(limitMs, () => {
    if (ex.upstream !== up || ex.state !== FORWARDING) {
      // Answered already (the endpoint answered early) and the rest of the body stalled: the
      // connection is cut, or only the stream when it shares one (HTTP/2).
      if (req instanceof H2Call) req.destroy();
      else req.socket.destroy();
      return;
    }
    ex.lastError = `request body idle for ${limitMs} ms`;
    finished(ex);
    up.destroy();
    const message = `route ${ex.route.key}: the request body stopped arriving for requestBodyTimeout ${limitMs} ms`;
    if (ex.res !== undefined) writeError(ex.res, 408, RequestBodyTimeout, message, undefined, true);
    else if (!(req instanceof H2Call)) req.socket.destroy();
  });
  req.once('end', () => {
    // Still ours to clear: once the exchange is over, node's keep-alive timer may be on the socket.
    if (ex.state !== FORWARDING) return;
    if (req instanceof H2Call)
      req.setTimeout(0); // the stream's own timer (the connection is shared)
    else req.socket.setTimeout(0);
  });
};
