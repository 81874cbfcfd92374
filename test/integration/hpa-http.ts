// HTTPS helpers of hpa.test.ts: requests to the run's kube-apiserver (admin token, its CA) and
// straight to ebb's external-metrics adapter, with or without a client certificate.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { kubeConnection } from '../env/testing.ts';

export interface HttpsReply {
  readonly status: number;
  readonly body: string;
}

export interface ClientOptions {
  /** PEM client certificate and key. */
  readonly cert?: string;
  readonly key?: string;
  readonly headers?: Record<string, string>;
}

const get = (url: string, options: ClientOptions & { ca?: string; verify: boolean }): Promise<HttpsReply> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', ...options.headers },
        rejectUnauthorized: options.verify,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        timeout: 10_000,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });

/** GET `path` on the run's kube-apiserver as its admin (system:masters). */
export const apiServerRequest = (path: string): Promise<HttpsReply> => {
  const conn = kubeConnection();
  return get(`${conn.server}${path}`, {
    ca: conn.caData,
    verify: true,
    headers: { authorization: `Bearer ${conn.token}` },
  });
};

/** GET `path` on the adapter at 127.0.0.1:`port` (its certificate is self-signed: not verified). */
export const adapterRequest = (
  port: number,
  path: string,
  options: ClientOptions = {},
): Promise<HttpsReply> => get(`https://127.0.0.1:${port}${path}`, { ...options, verify: false });

/** The aggregator's front-proxy client certificate, from the kube test env's directory. */
export const frontProxyClient = async (kubeDir: string): Promise<{ cert: string; key: string }> => ({
  cert: await readFile(join(kubeDir, 'front-proxy-client.crt'), 'utf8'),
  key: await readFile(join(kubeDir, 'front-proxy-client.key'), 'utf8'),
});

/** A self-signed client certificate named like the aggregator's (CN=front-proxy-client), from no known CA. */
export const otherClientCert = async (): Promise<{ cert: string; key: string }> => {
  const pems = await generate([{ name: 'commonName', value: 'front-proxy-client' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
};
