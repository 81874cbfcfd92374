// The activator's TLS listener (`--tls-port`, off by default): a port of its own, as Envoy and
// nginx listen for TLS (`listen 443 ssl`) beside the plain one; sniffing a ClientHello on the
// plain port would cost a peek on every plain connection. After the handshake a connection is
// served exactly like one on the plain port: it is handed to the same HTTP/1.1 server
// (`emit('connection')`, as https.Server does), so routing, holding, limits, the connection
// budget and drain are the same code; only X-Forwarded-Proto says `https` (headers.ts).
//
// Certificates, SNI and reload: certificates.ts. The protocol floor and the cipher list are
// the server's, since OpenSSL fixes both before the SNI callback switches the certificate:
// `minVersion` defaults to TLS 1.2 (Envoy's default; TLS 1.0 and 1.1 are deprecated by RFC 8996
// and refused as a setting), `ciphers` to node's list. A ClientHello below the floor gets a
// protocol_version alert.
//
// ALPN: ALPN_PROTOCOLS offers `h2` first (RFC 7301; RFC 9113 §3.2); an `h2` connection goes to
// `onH2Connection` (server.ts passes the HTTP/2 session module's `onConnection`), any other to
// the HTTP/1.1 server.
import type { Server as HttpServer } from 'node:http';
import { createSecureContext, createServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { type CertificateStore, contextOptions, type TlsSettings } from './certificates.ts';

/** The protocols offered in ALPN, most preferred first. */
export const ALPN_PROTOCOLS: readonly string[] = ['h2', 'http/1.1'];

export const DEFAULT_TLS_MIN_VERSION = 'TLSv1.2';

export interface TlsListenerOptions {
  /** The activator's HTTP/1.1 server, which serves each connection after its handshake. */
  readonly http1: HttpServer;
  readonly certificates: CertificateStore;
  /** A ClientHello must complete within this (nginx's client_header_timeout covers it too). */
  readonly handshakeTimeoutMs: number;
  /** Takes connections that negotiated `h2` (only offered when ALPN_PROTOCOLS lists it). */
  readonly onH2Connection?: (socket: TLSSocket) => void;
  /** A handshake failed (wrong version, no shared cipher, a client that went away): for counting. */
  readonly onHandshakeError?: (err: Error) => void;
}

/** `--tls-min-version` and `--tls-ciphers` checked, or a message naming the flag and why. */
export const parseTlsSettings = (minVersion: string, ciphers: string | undefined): TlsSettings | string => {
  if (minVersion === 'TLSv1' || minVersion === 'TLSv1.1')
    return `--tls-min-version ${minVersion}: TLS 1.0 and 1.1 are deprecated (RFC 8996); use TLSv1.2 or TLSv1.3`;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3')
    return `--tls-min-version ${JSON.stringify(minVersion)}: must be TLSv1.2 or TLSv1.3`;
  if (ciphers !== undefined) {
    if (ciphers.trim() === '') return '--tls-ciphers: empty; leave it out for node’s default list';
    try {
      createSecureContext({ ciphers });
    } catch (err) {
      // OpenSSL's own words, e.g. "No cipher match".
      return `--tls-ciphers ${JSON.stringify(ciphers)}: not an OpenSSL cipher list this node accepts (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  return { minVersion, ciphers };
};

const noop = (): void => {};

/** The TLS listener, not yet listening (the caller picks the port). */
export const createTlsListener = (opts: TlsListenerOptions): TlsServer => {
  const { certificates } = opts;
  const settings = certificates.settings;
  const pem = certificates.defaultPem();
  const server = createServer({
    ...(pem === undefined
      ? {
          minVersion: settings.minVersion,
          ...(settings.ciphers === undefined ? {} : { ciphers: settings.ciphers }),
        }
      : contextOptions(pem, settings)),
    SNICallback: certificates.sniCallback,
    ALPNProtocols: [...ALPN_PROTOCOLS],
    handshakeTimeout: opts.handshakeTimeoutMs,
    // The server prefers its own cipher order (Mozilla's guidance, nginx's ssl_prefer_server_ciphers).
    honorCipherOrder: true,
  });
  certificates.onDefaultChange((next) => {
    if (next !== undefined) server.setSecureContext(contextOptions(next, settings));
  });
  const onH2 = opts.onH2Connection;
  server.on('secureConnection', (socket: TLSSocket) => {
    if (onH2 !== undefined && socket.alpnProtocol === 'h2') onH2(socket);
    else opts.http1.emit('connection', socket);
  });
  // Without a listener node logs nothing but the socket error would be unhandled on some paths.
  const onError = opts.onHandshakeError ?? noop;
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    socket.destroy();
    onError(err);
  });
  return server;
};
