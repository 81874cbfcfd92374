// The TLS listener's certificates (tls.ts): one per source (a `kubernetes.io/tls` Secret,
// `namespace/name`, or a local file pair), each checked when it is set, and the SNI map built
// from all of them at that moment, so a handshake costs one Map lookup (two with a wildcard),
// never a certificate parse.
//
// Which certificate a ClientHello gets (RFC 6066 §3 server_name, names matched as RFC 6125 §6.4):
//   1. the certificate whose subjectAltName lists the server name exactly (DNS names compare
//      case-insensitively, so the map holds lower case);
//   2. else one listing `*.` + the name without its first label (a wildcard is the whole
//      left-most label and matches exactly one label: `*.example.com` serves `a.example.com`,
//      not `example.com` nor `a.b.example.com`; `*.com`-like wildcards of one label are ignored);
//   3. else, and for a ClientHello without server_name (a client dialling an IP address), the
//      default certificate: the first source in the configured order that is loaded. nginx does
//      the same (its default_server's certificate); RFC 6066 lets the server go on or send
//      unrecognized_name, and going on lets the client decide (a verifying client refuses the
//      name mismatch itself; health checks and IP clients still connect).
// Two sources naming the same host: the earlier one in the configured order wins.
// The common name is not used (RFC 6125 §6.4.4: only without any DNS subjectAltName, and
// certificates without one are no longer issued by public CAs): such a certificate can only be
// the default.
//
// A source whose new certificate is refused (no PEM, key not the certificate's, expired or not
// yet valid) keeps its previous certificate; the problem is reported (logged and counted by the
// wiring) with the source's name and reason. A deleted source keeps its certificate too (a
// Secret being recreated must not take the listener down). Connections keep the context they
// were opened with: a change applies to new handshakes only.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import {
  CertificateExpired,
  CertificateKeyMismatch,
  CertificateNotYetValid,
  type CertificateReason,
  CertificateSourceDeleted,
  CertificateUnparseable,
} from '../api/reasons.ts';
import { realClock } from '../clock.ts';

/** The protocol floor and cipher list every context gets (parsed by tls-settings.ts). */
export interface TlsSettings {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's); undefined: node's default. */
  readonly ciphers?: string | undefined;
}

/** A certificate (chain, leaf first) and its private key, both PEM. */
export interface CertificatePem {
  readonly cert: string;
  readonly key: string;
}

export interface CertificateProblem {
  readonly source: string;
  readonly reason: CertificateReason;
  readonly message: string;
}

/** What a source serves now, for logs and readiness. */
export interface LoadedCertificate {
  readonly source: string;
  readonly names: readonly string[];
  readonly notAfter: Date;
  readonly fingerprint256: string;
}

interface Entry extends LoadedCertificate {
  readonly pem: CertificatePem;
  readonly context: SecureContext;
}

type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/** The secure-context options for `pem` under `settings` (the server's default context too). */
export const contextOptions = (pem: CertificatePem, settings: TlsSettings): SecureContextOptions => ({
  cert: pem.cert,
  key: pem.key,
  minVersion: settings.minVersion,
  ...(settings.ciphers === undefined ? {} : { ciphers: settings.ciphers }),
});

/** `DNS:` entries of a subjectAltName string, lower case; quoted (escaped) entries are no host names. */
const dnsNames = (subjectAltName: string | undefined): string[] => {
  if (subjectAltName === undefined) return [];
  const names: string[] = [];
  for (const part of subjectAltName.split(', ')) {
    if (!part.startsWith('DNS:')) continue;
    const name = part.slice(4).toLowerCase();
    if (/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/.test(name))
      names.push(name.endsWith('.') ? name.slice(0, -1) : name);
  }
  return names;
};

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class CertificateStore {
  private readonly entries = new Map<string, Entry>();
  private byName = new Map<string, SecureContext>();
  private fallback: Entry | undefined;
  private readonly listeners: ((pem: CertificatePem | undefined) => void)[] = [];

  /**
   * `order`: the sources by priority (the first loaded one is the default); sources set that are
   * not in it come after, in the order first set. `wallNow` dates the validity check.
   */
  constructor(
    readonly settings: TlsSettings,
    private readonly order: readonly string[] = [],
    private readonly wallNow: () => number = realClock.wallNow,
  ) {}

  /** Checks `pem` and serves it for `source` from the next handshake on; else keeps the old one. */
  set(source: string, pem: CertificatePem): CertificateProblem | undefined {
    const checked = this.check(source, pem);
    if ('reason' in checked) return checked;
    const old = this.entries.get(source);
    if (old !== undefined && old.fingerprint256 === checked.fingerprint256 && old.pem.key === pem.key)
      return undefined; // a resync of the same Secret: nothing to rebuild
    this.entries.set(source, checked);
    this.rebuild();
    return undefined;
  }

  /** The source is gone: its last certificate stays (see the top of this file). */
  deleted(source: string): CertificateProblem | undefined {
    if (!this.entries.has(source)) return undefined;
    return {
      source,
      reason: CertificateSourceDeleted,
      message: `${source} was deleted; its last certificate is served until it comes back`,
    };
  }

  /** The certificates loaded now, in priority order. */
  loaded(): LoadedCertificate[] {
    return this.ranked().map(({ source, names, notAfter, fingerprint256 }) => ({
      source,
      names,
      notAfter,
      fingerprint256,
    }));
  }

  /** The default certificate's PEM, undefined while none is loaded. */
  defaultPem(): CertificatePem | undefined {
    return this.fallback?.pem;
  }

  /** Hears each change of the default certificate (the server's own context, tls.ts). */
  onDefaultChange(listener: (pem: CertificatePem | undefined) => void): void {
    this.listeners.push(listener);
  }

  /** node's SNICallback: the context for `servername` (see the top of this file). */
  readonly sniCallback: SniCallback = (servername, cb) => {
    if (this.fallback === undefined) {
      cb(new Error('no TLS certificate is loaded'));
      return;
    }
    const name = servername.toLowerCase();
    let ctx = this.byName.get(name);
    if (ctx === undefined) {
      const dot = name.indexOf('.');
      if (dot > 0) ctx = this.byName.get(`*${name.slice(dot)}`);
    }
    // undefined: node uses the server's own context, the default certificate.
    cb(null, ctx);
  };

  private check(source: string, pem: CertificatePem): Entry | CertificateProblem {
    const problem = (reason: CertificateReason, text: string): CertificateProblem => ({
      source,
      reason,
      message: `${source}: ${text}`,
    });
    let leaf: X509Certificate;
    let key: KeyObject;
    try {
      leaf = new X509Certificate(pem.cert);
    } catch (err) {
      return problem(CertificateUnparseable, `the certificate is not PEM X.509 (${message(err)})`);
    }
    try {
      key = createPrivateKey(pem.key);
    } catch (err) {
      return problem(CertificateUnparseable, `the private key is not PEM (${message(err)})`);
    }
    if (!leaf.checkPrivateKey(key))
      return problem(
        CertificateKeyMismatch,
        `the private key does not belong to the certificate (${leaf.subject})`,
      );
    const now = this.wallNow();
    if (leaf.validToDate.getTime() < now)
      return problem(CertificateExpired, `the certificate expired at ${leaf.validToDate.toISOString()}`);
    if (leaf.validFromDate.getTime() > now)
      return problem(
        CertificateNotYetValid,
        `the certificate is valid from ${leaf.validFromDate.toISOString()}`,
      );
    let context: SecureContext;
    try {
      context = createSecureContext(contextOptions(pem, this.settings));
    } catch (err) {
      return problem(CertificateUnparseable, message(err));
    }
    return {
      source,
      names: dnsNames(leaf.subjectAltName),
      notAfter: leaf.validToDate,
      fingerprint256: leaf.fingerprint256,
      pem,
      context,
    };
  }

  private ranked(): Entry[] {
    const first: Entry[] = [];
    for (const source of this.order) {
      const e = this.entries.get(source);
      if (e !== undefined) first.push(e);
    }
    for (const [source, e] of this.entries) if (!this.order.includes(source)) first.push(e);
    return first;
  }

  private rebuild(): void {
    const ranked = this.ranked();
    const byName = new Map<string, SecureContext>();
    for (const e of ranked)
      for (const name of e.names) {
        // `*.com`: a wildcard over a single remaining label serves nothing (RFC 6125 §7.2).
        if (name.startsWith('*.') && !name.slice(2).includes('.')) continue;
        if (!byName.has(name)) byName.set(name, e.context);
      }
    this.byName = byName;
    const before = this.fallback;
    this.fallback = ranked[0];
    if (this.fallback !== before) for (const l of this.listeners) l(this.fallback?.pem);
  }
}
