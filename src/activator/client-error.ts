// What the activator answers to requests that never become requests it can route.
//
// CONNECT (node's 'connect'): the activator is a reverse proxy, no tunnel: 501 (RFC 9110 §9.1;
// nginx answers 405), X-Ebb-Reason UnsupportedMethod.
//
// Bytes node's HTTP parser refuses (node's 'clientError'): the parser is strict (llhttp without
// the lenient flags), so CL with TE, two Content-Lengths, a Transfer-Encoding not ending in
// chunked, bad chunk sizes, obs-fold, bare CR/LF and whitespace before a colon all end here,
// before anything is routed or forwarded. The answer is node's status (431 for a head too large,
// 413 for chunk extensions too large, 408 for a head that timed out, else 400) with X-Ebb-Reason
// MalformedRequest and a body naming the parser's reason; then the connection is closed, since
// its framing is lost.
//
// It is written when no response is pending on the connection, or when the pending one belongs
// to the request whose body failed to parse (its request is incomplete) and nothing of it was
// sent: closing the connection then also ends that request's hold or upstream exchange (the
// endpoint sees an aborted request, never a complete one). With an earlier pipelined request
// still waiting, the client would take the 400 for that one's answer, so the connection is cut
// instead (node's own handler writes the 400 there too).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MalformedRequest, UnsupportedMethod } from '../api/reasons.ts';
import { rawErrorBytes, writeRawError } from './exchange.ts';
import type { ActivatorObserver } from './observer.ts';

interface ParserError extends Error {
  readonly code?: string;
  /** llhttp's own words, e.g. "Transfer-Encoding can't be present with Content-Length". */
  readonly reason?: string;
}

const STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/** node keeps the response in progress on its socket here (no public accessor). */
type HttpSocket = Duplex & { readonly _httpMessage?: ServerResponse | null };

const noop = (): void => {};

/** Answers CONNECT and unparsable requests on `server`, each reported to `observer` as unrouted. */
export const answerUnroutable = (server: Server, observer: ActivatorObserver): void => {
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', noop);
    observer.requestDone('', 501, 0);
    writeRawError(socket, 501, UnsupportedMethod, 'CONNECT is not supported: the activator is no tunnel');
  });
  server.on('clientError', (err: ParserError, socket: HttpSocket) => {
    const status = answerClientError(err, socket);
    if (status !== 0) observer.requestDone('', status, 0);
  });
};

/** Answers (or cuts) the connection whose bytes failed to parse; the status sent, 0 for none. */
export const answerClientError = (err: ParserError, socket: HttpSocket): number => {
  if (socket.writableEnded) return 0;
  const code = err.code ?? '';
  const pending = socket._httpMessage ?? null;
  if (
    !socket.writable ||
    code === 'ECONNRESET' ||
    (pending !== null && (pending.headersSent || pending.req.complete))
  ) {
    socket.destroy();
    return 0;
  }
  const status = STATUS[code] ?? 400;
  const why = (err.reason ?? err.message).replace(/[\r\n]+/g, ' ');
  socket.end(rawErrorBytes(status, MalformedRequest, `malformed request: ${why} (${code || 'parse error'})`));
  socket.once('finish', () => socket.destroy());
  return status;
};
