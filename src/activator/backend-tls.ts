// TLS to endpoints whose Service port says so (appProtocol `https` or `kubernetes.io/wss`:
// ports.ts appProtocolOf): HTTP/1.1 over TLS (ALPN `http/1.1`), one keep-alive node:https agent
// per endpoint, sized and retired like the HTTP one (endpoints.ts); the agent resumes TLS
// sessions, so a new connection to the same endpoint rarely pays a full handshake.
//
// Which certificate an endpoint must present:
//   name   the Service's DNS name `<service>.<namespace>.svc`, sent as SNI (RFC 6066 §3) and
//          checked against the certificate's DNS subjectAltNames (RFC 6125, node's
//          checkServerIdentity): pods are dialled by address, but the certificate names the
//          Service (OpenShift's service CA and cert-manager's in-cluster issuers put this name in
//          it). The cluster domain (`.cluster.local`) is not tried: it differs per cluster.
//   trust  the PEM bundle of --backend-ca-file (the cluster's service CA) instead of node's
//          default CAs (Envoy's `trusted_ca` and nginx's `proxy_ssl_trusted_certificate` replace
//          the defaults the same way); without it node's default set (Mozilla's, plus
//          NODE_EXTRA_CA_CERTS; node's --use-system-ca for the operating system's store).
//   off    --backend-tls-insecure: any certificate for any name is accepted (Envoy's
//          `trust_chain_verification: ACCEPT_UNTRUSTED`; nginx's default `proxy_ssl_verify off`),
//          encrypted but not authenticated; off by default and a warning in the log at start.
//   floor  TLS 1.2 (RFC 9325 §3.1.1), as the activator's own TLS listener.
// A handshake that fails (the certificate refused, no common protocol, not TLS at all) is an
// upstream failure: 502 UpstreamTlsFailed naming the endpoint, the name checked and OpenSSL's
// reason (nginx answers 502 too), not retried: another try meets the same certificate.
import { X509Certificate } from 'node:crypto';
import type { AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ServiceRef } from './ports.ts';

/** How endpoints that speak TLS are verified (the activator's `backendTls` option). */
export interface BackendTls {
  /** PEM CA certificates trusted instead of node's defaults; undefined: node's defaults. */
  readonly ca?: string | undefined;
  /** Accept any certificate for any name (--backend-tls-insecure). */
  readonly insecure?: boolean | undefined;
}

/** The name an endpoint's certificate must carry: its Service's `<name>.<namespace>.svc`. */
export const serviceServerName = (service: ServiceRef): string => `${service.name}.${service.namespace}.svc`;

/** A keep-alive agent for one TLS endpoint of `service`, on the HTTP agent's `base` options. */
export const backendTlsAgent = (base: AgentOptions, service: ServiceRef, tls: BackendTls): HttpsAgent =>
  new HttpsAgent({
    ...base,
    servername: serviceServerName(service),
    ALPNProtocols: ['http/1.1'],
    minVersion: 'TLSv1.2',
    rejectUnauthorized: tls.insecure !== true,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
  });

/**
 * OpenSSL's certificate verification results as node reports them (err.code; node's
 * crypto_common.cc X509 error table). ERR_TLS_* and ERR_SSL_* codes are TLS failures too, and
 * EPROTO: OpenSSL's record layer refusing the peer's bytes (a peer that does not speak TLS).
 */
const VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** Whether an upstream error code is a failed TLS handshake (not a connection failure). */
export const isTlsFailure = (code: string): boolean =>
  code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code === 'EPROTO' || VERIFY_CODES.has(code);

/**
 * The certificates of a PEM CA bundle, checked: at least one, each one parseable. Returns the
 * bundle, or a message naming `source` and what is wrong.
 */
export const checkCaBundle = (pem: string, source: string): { ca: string } | { problem: string } => {
  // A fresh /g expression per call (read once at start): a shared one would keep lastIndex.
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    return { problem: `${source}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it` };
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return {
        problem: `${source}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }
  return { ca: blocks.join('\n') };
};
