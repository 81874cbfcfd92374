// The checks a request passes before it is routed (RFC 9112 §2.3, §3.2–3.3, §6.1; RFC 9110
// §7.2, §7.6.1), and what routing and forwarding take from it. A refused request is answered at
// once, with its reason and `Connection: close` (nginx closes after a 400 or 501 too), and never
// reaches an endpoint.
//
//   version        HTTP/1.x only; anything else (`HTTP/2.0` on this port, HTTP/0.9)   → 505
//   framing        Transfer-Encoding not ending in chunked (§6.3: length unknown)      → 400
//                  a coding before chunked (§6.1: the server does not know it; nginx
//                  and Envoy answer the same)                                          → 501
//                  Transfer-Encoding in HTTP/1.0 (§6.1: faulty framing; nginx: 400)     → 400
//                  an Upgrade with a body (its bytes would follow the 101 as if
//                  they were the new protocol's)                                       → 400
//   Connection     naming a header the activator sets, or 10+ options (headers.ts)     → 400
//   Host           two Host lines, none on HTTP/1.1 (§3.2), or not `host[:port]`       → 400
//                  (reg-name of non-empty labels of letters, digits, `-`, `_`, one optional
//                  trailing dot; or a bracketed IPv6 address; a port of at most 5 digits
//                  ≤ 65535). An empty Host (§3.2: a target without authority) is valid.
//   target         origin-form `/path?query`: the path normalised (paths.ts);
//                  absolute-form `http(s)://authority/path` (§3.2.2): the authority,
//                    validated like Host, replaces the Host header, and the path is sent
//                    in origin-form (`/` when empty); other schemes, userinfo (RFC 9110
//                    §4.2.4) and an empty host (§4.2.1) are refused                    → 400
//                  asterisk-form `*`, for OPTIONS only (§3.2.4), routed as the host's `/`
//                    route and forwarded as `OPTIONS *`                                → 400 otherwise
//                  authority-form is CONNECT's, answered in server.ts                  → 501
// A request with no authority (HTTP/1.0 without Host, or an empty Host) is routed by host ''
// (only a `*` route takes it) and forwarded as HTTP/1.1 with its route's Service as Host,
// `<service>.<namespace>.svc[:port]`, as nginx's `proxy_pass` sends `Host: $proxy_host` (Envoy
// fills in `default_host_for_http_10`).
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import {
  type ActivatorReason,
  InvalidConnectionHeader,
  InvalidFraming,
  InvalidHost,
  InvalidRequestTarget,
  UnsupportedHttpVersion,
  UnsupportedMethod,
  UnsupportedTransferCoding,
} from '../api/reasons.ts';
import type { RouteSpec } from '../routing/routes.ts';
import type { H2Call } from './h2-call.ts';
import {
  CONNECTION,
  CONTENT_LENGTH,
  classify,
  connectionProblem,
  HOST,
  TRANSFER_ENCODING,
} from './headers.ts';
import { normalizeTarget, quote } from './paths.ts';

/** Why a request is answered by the activator itself instead of being routed. */
export interface Refusal {
  readonly status: number;
  readonly reason: ActivatorReason;
  /** One line naming what was wrong. */
  readonly message: string;
}

/** What routing and forwarding take from a checked request (filled in place: no allocation). */
export class RequestTarget {
  /** The routing key: lower case, without port and trailing dot; '' when the request names no host. */
  host = '';
  /** The Host the endpoint receives, as the client wrote it (the target's authority in
   * absolute-form); '' when the request named none. */
  authority = '';
  /** The origin-form target the routes match and the endpoint receives: normalised path + query,
   * or `*` for `OPTIONS *`. */
  target = '/';
}

const refuse = (status: number, reason: ActivatorReason, message: string): Refusal => ({
  status,
  reason,
  message,
});

/**
 * Checks `req` (see the top of this file) and fills `out`; returns why it is refused, if it is.
 * `upgrade`: it came as an Upgrade (node's 'upgrade' event).
 */
export const checkRequest = (
  req: IncomingMessage,
  upgrade: boolean,
  out: RequestTarget,
): Refusal | undefined => {
  if (req.httpVersionMajor !== 1)
    return refuse(505, UnsupportedHttpVersion, `HTTP/${req.httpVersion} is not supported here; use HTTP/1.1`);
  const raw = req.rawHeaders;
  let hosts = 0;
  let host = '';
  let te = '';
  let connection = '';
  let bodyLength = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    switch (classify(name)) {
      case HOST:
        if (hosts++ === 0) host = raw[i + 1] as string;
        break;
      case TRANSFER_ENCODING:
        te = te === '' ? (raw[i + 1] as string) : `${te}, ${raw[i + 1] as string}`;
        break;
      case CONNECTION:
        connection = connection === '' ? (raw[i + 1] as string) : `${connection}, ${raw[i + 1] as string}`;
        break;
      case CONTENT_LENGTH:
        bodyLength = raw[i + 1] as string;
        break;
    }
  }
  if (te !== '') {
    if (req.httpVersionMinor === 0)
      return refuse(
        400,
        InvalidFraming,
        'Transfer-Encoding in an HTTP/1.0 request is faulty framing (RFC 9112 §6.1)',
      );
    if (te !== 'chunked') {
      const codings = te.toLowerCase().split(',');
      if (codings[codings.length - 1]?.trim() !== 'chunked')
        return refuse(
          400,
          InvalidFraming,
          `Transfer-Encoding ${quote(te)} does not end in chunked: the body length is unknown (RFC 9112 §6.3)`,
        );
      if (codings.length > 1)
        return refuse(
          501,
          UnsupportedTransferCoding,
          `Transfer-Encoding ${quote(te)}: only chunked is supported (RFC 9112 §6.1)`,
        );
    }
  }
  if (upgrade && (te !== '' || hasDigitsOtherThanZero(bodyLength)))
    return refuse(400, InvalidFraming, 'an Upgrade request with a body is not supported');
  if (connection !== '') {
    const problem = connectionProblem(connection);
    if (problem !== undefined) return refuse(400, InvalidConnectionHeader, problem);
  }
  if (hosts > 1)
    return refuse(400, InvalidHost, `${hosts} Host header lines; exactly one is allowed (RFC 9112 §3.2)`);
  if (hosts === 0 && req.httpVersionMinor !== 0)
    return refuse(400, InvalidHost, 'an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)');
  const hostKey = authorityKey(host);
  if (typeof hostKey !== 'string') return refuse(400, InvalidHost, `Host ${quote(host)}: ${hostKey.problem}`);
  out.host = hostKey;
  out.authority = host;
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 0x2f /* / */) return normalized(url, out);
  if (url === '*') {
    if (req.method !== 'OPTIONS')
      return refuse(
        400,
        InvalidRequestTarget,
        `request target * is for OPTIONS only, not ${req.method} (RFC 9112 §3.2.4)`,
      );
    out.target = '*';
    return undefined;
  }
  return absoluteForm(url, out);
};

/**
 * The checks of an HTTP/2 stream (RFC 9113 §8.3), filling `out` like checkRequest. nghttp2 has
 * already refused what makes a stream malformed (missing pseudo-headers, connection-specific
 * fields, §8.2.2; a Content-Length the DATA frames contradict, §8.1.1):
 *   CONNECT (no :path; the activator is no tunnel)                                    → 501
 *   :scheme other than http/https                                                    → 400
 *   :authority and Host naming different hosts (§8.3.1), two Host fields, or a bad
 *     authority (as Host above)                                                        → 400
 *   :path: `*` for OPTIONS only, else origin-form, normalised as HTTP/1.1's            → 400
 */
export const checkH2Request = (req: H2Call, out: RequestTarget): Refusal | undefined => {
  const raw = req.rawHeaders;
  let authority: string | undefined;
  let host: string | undefined;
  let hosts = 0;
  let scheme = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name === ':authority') authority = raw[i + 1] as string;
    else if (name === ':scheme') scheme = raw[i + 1] as string;
    else if (name === 'host' && hosts++ === 0) host = raw[i + 1] as string;
  }
  if (req.method === 'CONNECT')
    return refuse(501, UnsupportedMethod, 'CONNECT is not supported: the activator is no tunnel');
  if (scheme !== 'http' && scheme !== 'https')
    return refuse(400, InvalidRequestTarget, `:scheme ${quote(scheme)} is not http or https`);
  if (hosts > 1)
    return refuse(400, InvalidHost, `${hosts} Host fields; at most one is allowed (RFC 9113 §8.3.1)`);
  if (authority !== undefined && host !== undefined && authority !== host)
    return refuse(
      400,
      InvalidHost,
      `Host ${quote(host)} differs from :authority ${quote(authority)} (RFC 9113 §8.3.1)`,
    );
  const named = authority ?? host ?? '';
  const key = authorityKey(named);
  if (typeof key !== 'string') return refuse(400, InvalidHost, `:authority ${quote(named)}: ${key.problem}`);
  out.host = key;
  out.authority = named;
  const path = req.url ?? '';
  if (path.charCodeAt(0) === 0x2f /* / */) return normalized(path, out);
  if (path === '*' && req.method === 'OPTIONS') {
    out.target = '*';
    return undefined;
  }
  return refuse(
    400,
    InvalidRequestTarget,
    `:path ${quote(path)} is neither /path nor * for OPTIONS (RFC 9113 §8.3.1)`,
  );
};

const normalized = (target: string, out: RequestTarget): Refusal | undefined => {
  const t = normalizeTarget(target);
  if (typeof t !== 'string') return t;
  out.target = t;
  return undefined;
};

/** `http://authority/path?query` (RFC 9112 §3.2.2), scheme in any case. */
const absoluteForm = (url: string, out: RequestTarget): Refusal | undefined => {
  const sep = url.indexOf('://');
  if (sep < 0)
    return refuse(
      400,
      InvalidRequestTarget,
      `request target ${quote(url)} is none of /path, http://host/path and * (RFC 9112 §3.2)`,
    );
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https')
    return refuse(
      400,
      InvalidRequestTarget,
      `request target ${quote(url)}: scheme ${quote(scheme)} is not http or https`,
    );
  const start = sep + 3;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    end++;
  }
  const authority = url.slice(start, end);
  if (authority.includes('@'))
    return refuse(400, InvalidRequestTarget, `request target ${quote(url)} has userinfo (RFC 9110 §4.2.4)`);
  if (authority === '')
    return refuse(
      400,
      InvalidRequestTarget,
      `request target ${quote(url)} has an empty host (RFC 9110 §4.2.1)`,
    );
  const key = authorityKey(authority);
  if (typeof key !== 'string')
    return refuse(400, InvalidRequestTarget, `request target ${quote(url)}: ${key.problem}`);
  out.host = key;
  out.authority = authority;
  const rest = url.slice(end);
  return normalized(rest === '' || rest.charCodeAt(0) !== 0x2f ? `/${rest}` : rest, out);
};

const hasDigitsOtherThanZero = (length: string): boolean => {
  for (let i = 0; i < length.length; i++) if (length.charCodeAt(i) !== 0x30) return true;
  return false;
};

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * The routing key of `host[:port]` (lower case, no port, no trailing dot), or why it is none.
 * `''` for an empty authority. Hosts: labels of ASCII letters, digits, `-` and `_` joined by
 * single dots, optionally one trailing dot; or `[IPv6]`. Port: up to 5 digits, at most 65535.
 */
export const authorityKey = (a: string): string | { readonly problem: string } => {
  const n = a.length;
  if (n === 0) return '';
  let end = n;
  let upper = false;
  if (a.charCodeAt(0) === 0x5b /* [ */) {
    const close = a.indexOf(']');
    if (close < 0 || !isIPv6(a.slice(1, close))) return { problem: 'not an IPv6 address in brackets' };
    end = close + 1;
    upper = true;
    if (end < n && a.charCodeAt(end) !== 0x3a) return { problem: 'text after the ] that is not a :port' };
  } else {
    let labelStart = 0;
    for (let i = 0; i < n; i++) {
      const c = a.charCodeAt(i);
      if (c === 0x3a /* : */) {
        end = i;
        break;
      }
      if (c === 0x2e /* . */) {
        if (i === labelStart) return { problem: 'empty label in host name' };
        labelStart = i + 1;
      } else if (c >= 0x41 && c <= 0x5a) upper = true;
      else if (!((c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x2d || c === 0x5f))
        return { problem: `${quote(a[i] ?? '')} is not allowed in a host name` };
    }
    if (end === 0) return { problem: 'empty host name' };
  }
  if (end < n) {
    const digits = n - end - 1;
    if (digits > 5) return { problem: 'port is not a number 0-65535' };
    for (let i = end + 1; i < n; i++)
      if (!isDigit(a.charCodeAt(i))) return { problem: 'port is not a number 0-65535' };
    if (digits > 0 && Number(a.slice(end + 1)) > 65_535) return { problem: 'port is not a number 0-65535' };
  }
  const keyEnd = a.charCodeAt(end - 1) === 0x2e ? end - 1 : end;
  const key = keyEnd === n ? a : a.slice(0, keyEnd);
  return upper ? key.toLowerCase() : key;
};

/** The Host for a request that named none: the route's Service, as cluster DNS names it. */
export const serviceAuthority = (spec: RouteSpec): string => {
  const slash = spec.key.indexOf('/');
  const namespace = slash < 0 ? 'default' : spec.key.slice(0, slash);
  return `${spec.service}.${namespace}.svc${spec.port === 80 ? '' : `:${spec.port}`}`;
};
