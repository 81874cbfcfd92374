// gRPC as the activator meets it: telling a gRPC call from other HTTP/2 requests, the status a
// call gets when the activator itself must fail it, and the client's `grpc-timeout`.
// Anchor: gRPC's PROTOCOL-HTTP2.md (request and response framing, grpc-timeout, grpc-message
// encoding) and http-grpc-status-mapping.md (HTTP status → gRPC status), as Envoy applies it to
// its own local replies (Grpc::Utility::httpToGrpcStatus).
//
// An answer of the activator's own to a gRPC call is "trailers-only" (PROTOCOL-HTTP2.md): one
// HEADERS frame with END_STREAM carrying `:status 200`, `content-type: application/grpc`,
// `grpc-status` and `grpc-message`, no body. An HTTP error page would reach the application as
// UNKNOWN or INTERNAL with the status text lost; this way the client library sees the code and
// ebb's reason (grpc-message `<X-Ebb-Reason>: <message>`; X-Ebb-Reason also rides along as
// trailing metadata). gRPC needs HTTP/2, so only HTTP/2 streams get this; gRPC-Web over HTTP/1.1
// (`application/grpc-web`) is not recognised and gets the HTTP answers.
import type { IncomingHttpHeaders } from 'node:http';
import { type ActivatorReason, BackendUnstable, HoldTimeout, UpstreamTimeout } from '../api/reasons.ts';
import type { H2Call } from './h2-call.ts';

/** gRPC status codes the activator sends (grpc/doc/statuscodes.md). */
export const UNKNOWN = 2;
export const DEADLINE_EXCEEDED = 4;
export const PERMISSION_DENIED = 7;
export const UNIMPLEMENTED = 12;
export const INTERNAL = 13;
export const UNAVAILABLE = 14;
export const UNAUTHENTICATED = 16;

/** Whether the client asked with gRPC's content type (`application/grpc`, `+proto`, `+json`, …),
 * not gRPC-Web (`application/grpc-web…`, which speaks HTTP/1.1 through a translating proxy). */
export const isGrpc = (contentType: string | undefined): boolean =>
  contentType?.startsWith('application/grpc') === true &&
  (contentType.length === 16 || contentType.charCodeAt(16) !== 0x2d); /* '-' of grpc-web */

/**
 * The gRPC status for an answer of the activator's own:
 *   a deadline the activator enforces ran out (HoldTimeout, BackendUnstable: the hold timeout
 *     or the client's grpc-timeout; UpstreamTimeout: no response head in time) → DEADLINE_EXCEEDED
 *   otherwise the HTTP status, per http-grpc-status-mapping.md (Envoy's httpToGrpcStatus):
 *     400 → INTERNAL, 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → UNIMPLEMENTED,
 *     429, 502, 503, 504 → UNAVAILABLE, anything else → UNKNOWN.
 * So the hold limits, drain, ScaledToZero and UpstreamFailed are UNAVAILABLE (the code clients
 * retry), NoRoute and RouteRemoved UNIMPLEMENTED, refused requests INTERNAL.
 */
export const grpcStatusFor = (status: number, reason: ActivatorReason): number => {
  if (reason === HoldTimeout || reason === BackendUnstable || reason === UpstreamTimeout)
    return DEADLINE_EXCEEDED;
  switch (status) {
    case 400:
      return INTERNAL;
    case 401:
      return UNAUTHENTICATED;
    case 403:
      return PERMISSION_DENIED;
    case 404:
      return UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return UNAVAILABLE;
    default:
      return UNKNOWN;
  }
};

const HEX = '0123456789ABCDEF';

/**
 * `grpc-message` as PROTOCOL-HTTP2.md encodes it: the UTF-8 bytes, each byte outside printable
 * ASCII (0x20–0x7E) and `%` itself written `%XX` (upper-case hex); the rest as they are.
 */
export const encodeGrpcMessage = (message: string): string => {
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
};

/**
 * Answers a gRPC call trailers-only with the status for (`status`, `reason`) and
 * `<reason>: <message>` (see the top of this file): one HEADERS frame with END_STREAM.
 */
export const writeGrpcError = (
  call: H2Call,
  status: number,
  reason: ActivatorReason,
  message: string,
): void => {
  if (call.destroyed || call.headersSent) {
    call.destroy();
    return;
  }
  const line = message.endsWith('\n') ? message.slice(0, -1) : message;
  call.respondEnded(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(grpcStatusFor(status, reason)),
      'grpc-message': encodeGrpcMessage(`${reason}: ${line}`),
      'x-ebb-reason': reason,
    },
    200,
  );
};

/** A grpc-timeout value in milliseconds by its unit (PROTOCOL-HTTP2.md: H M S m u n); NaN: no unit. */
const toMs = (digits: number, unit: string): number => {
  switch (unit) {
    case 'H':
      return digits * 3_600_000;
    case 'M':
      return digits * 60_000;
    case 'S':
      return digits * 1_000;
    case 'm':
      return digits;
    case 'u':
      return digits / 1_000;
    case 'n':
      return digits / 1_000_000;
    default:
      return Number.NaN;
  }
};

/**
 * The client's deadline from `grpc-timeout` in whole milliseconds (rounded up, at least 1), or
 * undefined when absent or malformed. The grammar (PROTOCOL-HTTP2.md):
 *   grpc-timeout = 1*8DIGIT ( "H" / "M" / "S" / "m" / "u" / "n" )
 * A malformed value (a 9th digit, a sign, a space, another unit) is ignored for the hold (the hold
 * timeout applies) and forwarded unchanged: the server answers it as it would without ebb
 * (grpc-go and grpc-js refuse it with INTERNAL); the activator does not judge for it.
 */
export const parseGrpcTimeout = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = value.length - 1;
  if (n < 1 || n > 8) return undefined;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    digits = digits * 10 + c;
  }
  const ms = toMs(digits, value.charAt(n));
  return Number.isNaN(ms) ? undefined : Math.max(1, Math.ceil(ms));
};

/** A gRPC call's grpc-timeout in ms (parseGrpcTimeout); undefined when it is no gRPC call or
 * has none (or a malformed one). */
export const grpcTimeoutOf = (headers: IncomingHttpHeaders): number | undefined => {
  if (!isGrpc(headers['content-type'])) return undefined;
  const value = headers['grpc-timeout'];
  return typeof value === 'string' ? parseGrpcTimeout(value) : undefined;
};
