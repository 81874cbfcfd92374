// Header rewriting for the forward hop, on raw header arrays ([name, value, name, value, …] as
// node gives them) in one pass without building header objects. Removed both ways (RFC 9110
// §7.6.1): Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer,
// Transfer-Encoding, Upgrade (kept, with `Connection: upgrade`, on the Upgrade path); requests
// also lose Expect (node already answered `100 Continue` to the client).
//
// What a Connection header may not remove: a Connection option removes only end-to-end headers.
// Framing (Content-Length, Transfer-Encoding) is the parsed message's, written by the activator
// after filtering: a body is always forwarded framed (RFC 9112 §6), whatever the client or the
// endpoint named in Connection. Host is always sent (RFC 9112 §3.2). A request whose Connection
// names a header the activator sets (X-Forwarded-For/-Host/-Proto, Forwarded) is refused, as
// Envoy's sanitizeConnectionHeader does (Apache's CVE-2022-31813 let a client drop them), and so
// is one naming 10 or more options (Envoy's limit), before it is routed (connectionProblem).
//
// Added to requests: Host (the checked authority, request-target.ts), X-Forwarded-For (the
// client address appended to any list already there), X-Forwarded-Proto and X-Forwarded-Host:
// the client's kept only when it connects from a trusted proxy (forwarded.ts), else replaced by
// this hop's (`http`, or `https` on the TLS listener; the authority). A client's RFC 7239 `Forwarded` is kept from a trusted
// proxy and removed otherwise (the activator writes none, like nginx and Envoy).
import type { IncomingMessage } from 'node:http';
import type { ProxyTrust } from './forwarded.ts';
import type { H2Call } from './h2-call.ts';

export const PASS = 0;
const DROP = 1;
export const HOST = 2;
const XFF = 3;
const XFPROTO = 4;
const XFHOST = 5;
export const CONTENT_LENGTH = 6;
export const TRANSFER_ENCODING = 7;
export const CONNECTION = 8;
const UPGRADE = 9;
const FORWARDED = 10;

/** `name` equals `lower` (already lower case) ignoring ASCII case. */
const eqi = (name: string, lower: string): boolean => {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if (c !== lower.charCodeAt(i) && (c | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
};

const startsWithi = (name: string, lower: string): boolean =>
  name.length >= lower.length && eqi(name.slice(0, lower.length), lower);

/** What a header is to the proxy; dispatches on length first so most names cost one switch. */
export const classify = (name: string): number => {
  switch (name.length) {
    case 2:
      return eqi(name, 'te') ? DROP : PASS;
    case 4:
      return eqi(name, 'host') ? HOST : PASS;
    case 6:
      return eqi(name, 'expect') ? DROP : PASS;
    case 7:
      if (eqi(name, 'upgrade')) return UPGRADE;
      return eqi(name, 'trailer') ? DROP : PASS;
    case 9:
      return eqi(name, 'forwarded') ? FORWARDED : PASS;
    case 10:
      if (eqi(name, 'connection')) return CONNECTION;
      return eqi(name, 'keep-alive') ? DROP : PASS;
    case 14:
      return eqi(name, 'content-length') ? CONTENT_LENGTH : PASS;
    case 15:
      return eqi(name, 'x-forwarded-for') ? XFF : PASS;
    case 16:
      if (eqi(name, 'x-forwarded-host')) return XFHOST;
      return eqi(name, 'proxy-connection') ? DROP : PASS;
    case 17:
      if (eqi(name, 'transfer-encoding')) return TRANSFER_ENCODING;
      return eqi(name, 'x-forwarded-proto') ? XFPROTO : PASS;
    default:
      return name.length > 6 && startsWithi(name, 'proxy-') ? DROP : PASS;
  }
};

/** A Connection value that is one option and names no header: the usual case, no split. */
const namesNothing = (value: string): boolean =>
  value === '' || eqi(value, 'keep-alive') || eqi(value, 'close') || eqi(value, 'upgrade');

/** Tokens of a Connection header that name other headers (close/keep-alive/upgrade are not names). */
const connectionNames = (value: string): string[] | undefined => {
  if (namesNothing(value)) return undefined;
  let names: string[] | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    if (names === undefined) names = [t];
    else names.push(t);
  }
  return names;
};

/** Envoy refuses a Connection header with this many options or more (sanitizeConnectionHeader). */
const MAX_CONNECTION_OPTIONS = 10;

/** Headers the activator sets on the forward hop, which a Connection option may not name. */
const GENERATED: readonly string[] = [
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
];

/** Why a request's Connection header (its lines joined) is refused, or undefined. */
export const connectionProblem = (value: string): string | undefined => {
  if (namesNothing(value)) return undefined;
  let options = 0;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '') continue;
    if (GENERATED.includes(t)) return `Connection names ${t}, a header the activator sets`;
    options++;
  }
  return options >= MAX_CONNECTION_OPTIONS
    ? `Connection names ${options} options; at most ${MAX_CONNECTION_OPTIONS - 1} are accepted`
    : undefined;
};

/** Removes the end-to-end headers named in Connection; framing, Host and the proxy's own stay. */
const dropNamed = (headers: string[], names: readonly string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (classify(name) !== PASS || !names.includes(name.toLowerCase()))
      out.push(name, headers[i + 1] as string);
  }
  return out;
};

export interface ForwardHead {
  readonly headers: string[];
  /** The request has a body to stream (Content-Length > 0 or a Transfer-Encoding). */
  readonly hasBody: boolean;
}

/** A Content-Length other than zero (node's parser let only digits through). */
const nonZero = (length: string): boolean => {
  for (let i = 0; i < length.length; i++) if (length.charCodeAt(i) !== 0x30) return true;
  return false;
};

/**
 * The upstream request's headers for `req`, already checked (request-target.ts): `host` is the
 * Host to send, `authority` the one the client named ('' = none; X-Forwarded-Host then has
 * none of the activator's); `upgrade` keeps Upgrade + `Connection: upgrade` and sends no body.
 */
export const requestHeaders = (
  req: IncomingMessage | H2Call,
  upgrade: boolean,
  host: string,
  authority: string,
  trust: ProxyTrust,
): ForwardHead => {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let sawHost = false;
  let xff = '';
  /** Whether the peer is a trusted proxy; asked only when it sent a forwarding header. */
  let trusted: boolean | undefined;
  let sawProto = false;
  let sawXfHost = false;
  let hasBody = false;
  let chunked = false;
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const kind = classify(name);
    switch (kind) {
      case PASS:
        // HTTP/2 pseudo-headers (`:path`, …; an HTTP/1 name cannot begin with a colon) are not
        // fields: the request line and Host carry them on the next hop.
        if (name.charCodeAt(0) !== 0x3a) out.push(name, value);
        break;
      case HOST:
        // The first line's place and spelling, the checked authority's value (one line only).
        if (!sawHost) out.push(name, host);
        sawHost = true;
        break;
      case XFF:
        xff = xff === '' ? value : `${xff}, ${value}`;
        break;
      case XFPROTO:
      case XFHOST:
      case FORWARDED:
        trusted ??= trust.trusts(req.socket.remoteAddress);
        if (!trusted) break;
        if (kind === XFPROTO) sawProto = true;
        else if (kind === XFHOST) sawXfHost = true;
        out.push(name, value);
        break;
      case CONTENT_LENGTH:
        if (upgrade) break;
        hasBody = nonZero(value);
        out.push(name, value);
        break;
      case TRANSFER_ENCODING:
        chunked = !upgrade;
        hasBody = chunked;
        break;
      case CONNECTION:
        connection = connection === '' ? value : `${connection},${value}`;
        break;
      case UPGRADE:
        if (upgrade) out.push(name, value);
        break;
      default:
        break;
    }
  }
  if (!sawHost) out.push('host', host);
  const client = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === '' ? client : `${xff}, ${client}`);
  // `encrypted` is set on a TLSSocket only (tls.ts): this hop's own scheme.
  if (!sawProto)
    out.push(
      'x-forwarded-proto',
      (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
    );
  if (!sawXfHost && authority !== '') out.push('x-forwarded-host', authority);
  // The body is re-framed on this hop: node de-chunked it, so it is chunked again.
  if (chunked) out.push('transfer-encoding', 'chunked');
  if (upgrade) out.push('connection', 'upgrade');
  const named = connectionNames(connection);
  return { headers: named === undefined ? out : dropNamed(out, named), hasBody };
};

/**
 * The client response's headers from the upstream's: hop-by-hop ones removed (node frames the
 * body again for the client), `Connection: close` added when the activator is draining.
 */
export const responseHeaders = (raw: readonly string[], close: boolean): string[] => {
  const out: string[] = [];
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    switch (classify(name)) {
      case CONNECTION:
        connection = connection === '' ? value : `${connection},${value}`;
        break;
      case TRANSFER_ENCODING:
      case UPGRADE:
      case DROP:
        break;
      default:
        out.push(name, value);
    }
  }
  if (close) out.push('connection', 'close');
  const named = connectionNames(connection);
  return named === undefined ? out : dropNamed(out, named);
};

/** The upstream's 101 answer for the client, as raw bytes (Upgrade and Connection kept). */
export const switchingProtocolsHead = (statusMessage: string | undefined, raw: readonly string[]): string => {
  let head = `HTTP/1.1 101 ${statusMessage || 'Switching Protocols'}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const kind = classify(name);
    if (kind === DROP || kind === TRANSFER_ENCODING) continue;
    head += `${name}: ${raw[i + 1] as string}\r\n`;
  }
  return `${head}\r\n`;
};

/**
 * The upstream HTTP/1.1 request's headers for an HTTP/2 stream (requestHeaders, then RFC 9113
 * §8.2.3 and §8.1): its Cookie fields joined into one with "; ", and a body the client did not
 * size (DATA frames, no Content-Length) sent chunked. `hasBody`: the stream did not end with
 * its HEADERS frame.
 */
export const h2RequestHeaders = (
  req: H2Call,
  hasBody: boolean,
  host: string,
  authority: string,
  trust: ProxyTrust,
): ForwardHead => {
  const head = requestHeaders(req, false, host, authority, trust);
  const headers = head.headers;
  let sized = false;
  let cookie = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name === 'content-length') sized = true;
    else if (name === 'cookie') {
      if (cookie < 0) cookie = i;
      else {
        headers[cookie + 1] = `${headers[cookie + 1] as string}; ${headers[i + 1] as string}`;
        headers.splice(i, 2);
        i -= 2;
      }
    }
  }
  if (hasBody && !sized) headers.push('transfer-encoding', 'chunked');
  return { headers, hasBody: hasBody || head.hasBody };
};

const COLD_START_HEADER = 'x-ebb-cold-start';

/**
 * On a route with `coldStartHeader`, only ebb says how long a request was held: every
 * `x-ebb-cold-start` of the backend's (any case) is dropped from the flat name/value list, in
 * place, and a request held for a cold start (`coldHoldMs` >= 0) gets ebb's. The HTTP/1.1 and
 * the h2c upstream paths both answer through this.
 */
export const withColdStartHeader = (headers: string[], coldHoldMs: number): void => {
  let to = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === COLD_START_HEADER.length && name.toLowerCase() === COLD_START_HEADER) continue;
    headers[to++] = name;
    headers[to++] = headers[i + 1] as string;
  }
  headers.length = to;
  if (coldHoldMs >= 0) headers.push(COLD_START_HEADER, `${Math.round(coldHoldMs)}ms`);
};
