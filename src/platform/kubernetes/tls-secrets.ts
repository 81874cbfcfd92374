// The activator's TLS certificates from `kubernetes.io/tls` Secrets (`--tls-secret ns/name`,
// repeatable): one watch per Secret, selected by `metadata.name` (field selector), so the
// activator's Role can name each Secret in `resourceNames` and read no other (a list or watch of
// a whole namespace's Secrets would need every Secret). Each add or update hands `tls.crt` and
// `tls.key` (PEM) to `handlers.set`; whether they are a usable certificate is the activator's
// to check (src/activator/certificates.ts). A Secret without them is reported, never served.
// As for ingress-nginx and Knative's net-* controllers, the Secret's type is not checked, only
// its two keys (cert-manager writes `kubernetes.io/tls`; older tools wrote Opaque ones).

import { z } from 'zod';
import { isDnsLabel, isDnsSubdomain } from '../../api/names.ts';
import { CertificateMissing, type CertificateReason } from '../../api/reasons.ts';
import type { Logger } from '../../logging.ts';
import type { KubeClient } from './client.ts';
import { ResilientInformer } from './informer.ts';
import type { KubernetesObject } from './object.ts';

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

export interface TlsSecretHandlers {
  /** The Secret `ns/name` holds this certificate and key now (PEM). */
  set(source: string, pem: { readonly cert: string; readonly key: string }): void;
  /** The Secret cannot give a certificate (named reason); what was served before stays. */
  refused(source: string, reason: CertificateReason, message: string): void;
  /** The Secret was deleted. */
  deleted(source: string): void;
}

/** `ns/name` → a SecretRef, or why not (RFC 1123 names, as the API server checks them). */
export const parseSecretRef = (text: string): SecretRef | string => {
  const slash = text.indexOf('/');
  if (slash < 0) return `${JSON.stringify(text)}: give the Secret as namespace/name`;
  const namespace = text.slice(0, slash);
  const name = text.slice(slash + 1);
  if (!isDnsLabel(namespace))
    return `${JSON.stringify(text)}: ${JSON.stringify(namespace)} is no namespace name (RFC 1123 label)`;
  if (!isDnsSubdomain(name))
    return `${JSON.stringify(text)}: ${JSON.stringify(name)} is no Secret name (RFC 1123 subdomain)`;
  return { namespace, name };
};

const TlsSecretSchema = z.looseObject({
  data: z.record(z.string(), z.string()).nullish(),
});

const decoded = (
  data: Readonly<Record<string, string>> | null | undefined,
  key: string,
): string | undefined => {
  const b64 = data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
};

export class TlsSecretWatch {
  private readonly informers: ResilientInformer[];

  constructor(client: KubeClient, secrets: readonly SecretRef[], handlers: TlsSecretHandlers, log: Logger) {
    this.informers = secrets.map(({ namespace, name }) => {
      const source = `${namespace}/${name}`;
      const changed = (obj: KubernetesObject): void => {
        const parsed = TlsSecretSchema.safeParse(obj);
        const data = parsed.success ? parsed.data.data : undefined;
        const cert = decoded(data, 'tls.crt');
        const key = decoded(data, 'tls.key');
        if (cert === undefined || key === undefined || cert === '' || key === '')
          handlers.refused(
            source,
            CertificateMissing,
            `Secret ${source} has no ${cert ? 'tls.key' : 'tls.crt'}`,
          );
        else handlers.set(source, { cert, key });
      };
      return new ResilientInformer(client, {
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        fieldSelector: `metadata.name=${name}`,
        log,
        handlers: { add: changed, update: changed, delete: () => handlers.deleted(source) },
      });
    });
  }

  /** Resolves once every Secret was listed (present or not). */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
