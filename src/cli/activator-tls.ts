// `ebb activator --tls-port N --tls-secret ns/name …` (wiring only): the certificate store the
// activator's TLS listener serves (src/activator/certificates.ts), filled and refreshed by the
// Secrets' watch (src/platform/kubernetes/tls-secrets.ts), every refusal logged with its source
// and reason and counted (ebb_activator_tls_certificate_errors_total). The watch is a component
// listed before the activator, so the first certificates are in place before the TLS port opens.
// A Secret missing or unusable at start is an error in the log, not a failed start: the plain
// port serves on, and TLS handshakes fail (an alert) until a certificate arrives.
import { CertificateStore, type TlsSettings } from '../activator/certificates.ts';
import type { ActivatorOptions } from '../activator/server.ts';
import type { CertificateReason } from '../api/reasons.ts';
import type { Component } from '../lifecycle/components.ts';
import type { Logger } from '../logging.ts';
import type { EbbMetrics } from '../observability/metrics.ts';
import type { KubeClient } from '../platform/kubernetes/client.ts';
import { type SecretRef, TlsSecretWatch } from '../platform/kubernetes/tls-secrets.ts';

export interface ActivatorTlsOptions {
  /** The TLS listener's port (0: any free one). */
  readonly port: number;
  /** The Secrets, in priority order: the first loaded one is the default certificate. */
  readonly secrets: readonly SecretRef[];
  readonly settings: TlsSettings;
}

export interface ActivatorTls {
  /** What createActivator's `tls` takes. */
  readonly listener: NonNullable<ActivatorOptions['tls']>;
  /** The Secrets' watch. */
  readonly component: Component;
}

/** The store, its watch and the reports of both; `metrics` is read when something is reported. */
export const activatorTls = (
  client: KubeClient,
  opts: ActivatorTlsOptions,
  log: Logger,
  metrics: () => EbbMetrics | undefined,
): ActivatorTls => {
  const sources = opts.secrets.map((s) => `${s.namespace}/${s.name}`);
  const store = new CertificateStore(opts.settings, sources);
  const refused = (source: string, reason: CertificateReason, message: string): void => {
    log.error({ source, reason }, message);
    metrics()?.tlsCertificateRefused(source, reason);
  };
  const watch = new TlsSecretWatch(
    client,
    opts.secrets,
    {
      set: (source, pem) => {
        const problem = store.set(source, pem);
        if (problem !== undefined)
          refused(problem.source, problem.reason, `${problem.message}; the previous certificate is kept`);
        else log.info({ source }, 'TLS certificate loaded');
      },
      refused,
      deleted: (source) => {
        const problem = store.deleted(source);
        if (problem !== undefined) refused(problem.source, problem.reason, problem.message);
      },
    },
    log,
  );
  return {
    listener: {
      certificates: store,
      onHandshakeError: () => metrics()?.tlsHandshakeFailed(),
    },
    component: {
      name: 'TLS Secrets',
      start: async () => {
        await watch.start();
        const loaded = new Set(store.loaded().map((c) => c.source));
        const missing = sources.filter((s) => !loaded.has(s));
        if (missing.length > 0)
          log.error(
            { missing },
            loaded.size === 0
              ? 'no TLS Secret holds a usable certificate yet: TLS handshakes fail until one does'
              : 'some TLS Secrets hold no usable certificate yet',
          );
      },
      stop: () => watch.stop(),
    },
  };
};
