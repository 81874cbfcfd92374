// Header rewriting for the forward hop, on raw header arrays ([name, value, name, value, …] as
// node gives them) in one pass without building header objects. Removed both ways (RFC 9110
// §7.6.1): Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer,
// Transfer-Encoding, Upgrade (kept, with `Connection: upgrade`, on the Upgrade path); requests
// also lose Expect (node already answered `100 Continue` to the client). Added to requests:
// X-Forwarded-For (the client address appended to any list already there), X-Forwarded-Proto and
// X-Forwarded-Host (kept when the client — usually the ingress — sent them, else this hop's).
import type { IncomingMessage } from 'node:http';

const PASS = 0;
const DROP = 1;
const HOST = 2;
const XFF = 3;
const XFPROTO = 4;
const XFHOST = 5;
const CONTENT_LENGTH = 6;
const TRANSFER_ENCODING = 7;
const CONNECTION = 8;
const UPGRADE = 9;

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
const classify = (name: string): number => {
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

/** Tokens of a Connection header that name other headers (close/keep-alive/upgrade are not names). */
const connectionNames = (value: string): string[] | undefined => {
  let names: string[] | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    if (names === undefined) names = [t];
    else names.push(t);
  }
  return names;
};

const dropNamed = (headers: string[], names: readonly string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!names.includes(name.toLowerCase())) out.push(name, headers[i + 1] as string);
  }
  return out;
};

export interface ForwardHead {
  readonly headers: string[];
  /** The request has a body to stream (Content-Length > 0 or a Transfer-Encoding). */
  readonly hasBody: boolean;
}

/** The upstream request's headers for `req`; `upgrade` keeps Upgrade + `Connection: upgrade`. */
export const requestHeaders = (req: IncomingMessage, upgrade: boolean): ForwardHead => {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host = '';
  let xff = '';
  let sawProto = false;
  let sawXfHost = false;
  let hasBody = false;
  let chunked = false;
  let connection = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    switch (classify(name)) {
      case PASS:
        out.push(name, value);
        break;
      case HOST:
        if (host === '') {
          host = value;
          out.push(name, value);
        }
        break;
      case XFF:
        xff = xff === '' ? value : `${xff}, ${value}`;
        break;
      case XFPROTO:
        sawProto = true;
        out.push(name, value);
        break;
      case XFHOST:
        sawXfHost = true;
        out.push(name, value);
        break;
      case CONTENT_LENGTH:
        if (value !== '0') hasBody = true;
        out.push(name, value);
        break;
      case TRANSFER_ENCODING:
        hasBody = true;
        chunked = true;
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
  const client = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === '' ? client : `${xff}, ${client}`);
  if (!sawProto) out.push('x-forwarded-proto', 'http');
  if (!sawXfHost && host !== '') out.push('x-forwarded-host', host);
  // The body is re-framed on this hop: node de-chunked it, so it is chunked again.
  if (chunked) out.push('transfer-encoding', 'chunked');
  if (upgrade) out.push('connection', 'upgrade');
  const named = connection === '' ? undefined : connectionNames(connection);
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
  const named = connection === '' ? undefined : connectionNames(connection);
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
