// The adapter's serving certificate: `tls.crt` + `tls.key` from a directory (a Secret mounted
// there, cert-manager's layout), or a self-signed one made at start. With a self-signed one the
// APIService needs `insecureSkipTLSVerify: true`, as metrics-server's and KEDA's defaults do.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { InvalidServingCert, type PlatformReason, type Result } from '../api/reasons.ts';

export interface ServingCert {
  /** PEM: the certificate (chain). */
  readonly cert: string;
  /** PEM: its private key. */
  readonly key: string;
}

/** Reads `<dir>/tls.crt` and `<dir>/tls.key`; the error names the file. */
export const loadServingCert = async (
  dir: string,
): Promise<Result<ServingCert, { reason: PlatformReason; message: string }>> => {
  const read = async (file: string): Promise<string | { reason: PlatformReason; message: string }> => {
    const path = join(dir, file);
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      return {
        reason: InvalidServingCert,
        message: `--adapter-cert-dir: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  };
  const [cert, key] = await Promise.all([read('tls.crt'), read('tls.key')]);
  if (typeof cert !== 'string') return { ok: false, error: cert };
  if (typeof key !== 'string') return { ok: false, error: key };
  return { ok: true, value: { cert, key } };
};

/** A self-signed EC P-256 certificate for `localhost`, 127.0.0.1, ::1 and `dnsNames`, valid one year. */
export const selfSignedServingCert = async (dnsNames: readonly string[] = []): Promise<ServingCert> => {
  const names = ['localhost', ...dnsNames];
  const pems = await generate([{ name: 'commonName', value: 'ebb-metrics-adapter' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
};
