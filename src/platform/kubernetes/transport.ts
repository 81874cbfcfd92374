// How bytes reach one API server as one user: one pooled undici Agent (keep-alive) with the
// cluster's TLS options, or a ProxyAgent for `proxy-url`, and the user's Authorization header on
// each request. One pool for every request and watch: a TLS handshake per request (what
// client-node's applySecurityAuthentication did, a new Agent each time) cost hundreds of MB and
// most of the CPU at 10,000 objects.
// The pool is rebuilt (requests in flight finish on the old one) when it is DISPATCHER_TTL_MS old,
// so rotated client-certificate and CA files are picked up, and at once when an exec plugin hands
// out a new client certificate.
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher, fetch, ProxyAgent, type RequestInit, type Response } from 'undici';
import type { Clock } from '../../clock.ts';
import { type ExecCredential, ExecCredentialSource } from './exec-credential.ts';
import { TokenFile } from './in-cluster.ts';
import type { RestConfig } from './kubeconfig.ts';
import { KubeconfigError, type Pem } from './kubeconfig-fields.ts';

/** How long one connection pool is used before a fresh one picks up rotated certificate files. */
export const DISPATCHER_TTL_MS = 10 * 60_000;
/** TCP keep-alive probes after 30 s idle, as client-go's dialer (cloud load balancers drop at 60 s). */
const KEEP_ALIVE_INITIAL_DELAY_MS = 30_000;

export type { Response } from 'undici';

export interface TransportRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export class ApiTransport {
  private dispatcher: Dispatcher | undefined;
  private dispatcherSince = 0;
  /** The exec plugin's client certificate the current pool was built with. */
  private dispatcherCert: ExecCredential['clientCert'];
  private readonly tokenFile: TokenFile | undefined;
  /** The exec plugin, when the user has one. */
  readonly exec: ExecCredentialSource | undefined;
  private readonly basic: string | undefined;

  constructor(
    readonly config: RestConfig,
    private readonly clock: Clock,
  ) {
    const auth = config.auth;
    this.tokenFile = auth.kind === 'tokenFile' ? new TokenFile(auth.path, clock) : undefined;
    this.basic =
      auth.kind === 'basic'
        ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
        : undefined;
    this.exec =
      auth.kind === 'exec' ? new ExecCredentialSource(auth.exec, clock, clusterInfo(config)) : undefined;
  }

  /** Sends one request with the user's credentials; a 401 to an exec credential drops it. */
  async fetch(url: string, req: TransportRequest): Promise<Response> {
    const credential = this.exec === undefined ? undefined : await this.exec.get();
    const authorization = this.authorization(credential);
    if (authorization !== undefined) req.headers.Authorization = authorization;
    const init: RequestInit = {
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      dispatcher: this.pool(credential?.clientCert),
      ...(req.signal === undefined ? {} : { signal: req.signal }),
    };
    const response = await fetch(url, init);
    // client-go: a 401 to the plugin's credential makes the next request run the plugin again.
    if (response.status === 401 && credential !== undefined) this.exec?.refused(credential);
    return response;
  }

  /** Closes the pool (after requests in flight). */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close().catch(() => {});
  }

  private authorization(credential: ExecCredential | undefined): string | undefined {
    const auth = this.config.auth;
    switch (auth.kind) {
      case 'token':
        return `Bearer ${auth.token}`;
      case 'tokenFile':
        return `Bearer ${this.tokenFile?.current() ?? ''}`;
      case 'basic':
        return this.basic;
      case 'exec':
        return credential?.token === undefined ? undefined : `Bearer ${credential.token}`;
      case 'none':
        return undefined;
    }
  }

  private pool(cert: ExecCredential['clientCert']): Dispatcher {
    const now = this.clock.now();
    if (
      this.dispatcher === undefined ||
      now - this.dispatcherSince > DISPATCHER_TTL_MS ||
      cert !== this.dispatcherCert
    ) {
      const old = this.dispatcher;
      this.dispatcher = this.buildPool(cert);
      this.dispatcherSince = now;
      this.dispatcherCert = cert;
      void old?.close().catch(() => {});
    }
    return this.dispatcher;
  }

  private buildPool(cert: ExecCredential['clientCert']): Dispatcher {
    const tls = this.config.tls;
    const where = this.config.source;
    const options = {
      ...(tls.ca === undefined ? {} : { ca: readPem(tls.ca, where, 'certificate-authority') }),
      ...(cert !== undefined
        ? { cert: cert.cert, key: cert.key }
        : {
            ...(tls.cert === undefined ? {} : { cert: readPem(tls.cert, where, 'client-certificate') }),
            ...(tls.key === undefined ? {} : { key: readPem(tls.key, where, 'client-key') }),
          }),
      rejectUnauthorized: !tls.insecure,
      ...(tls.serverName === undefined || tls.serverName === '' ? {} : { servername: tls.serverName }),
    };
    const connect = { keepAlive: true, keepAliveInitialDelay: KEEP_ALIVE_INITIAL_DELAY_MS };
    if (this.config.proxyUrl !== undefined)
      return new ProxyAgent({ uri: this.config.proxyUrl, requestTls: options, connect });
    return new Agent({ connect: { ...options, ...connect } });
  }
}

const readPem = (pem: Pem, source: string, field: string): Buffer => {
  if ('data' in pem) return pem.data;
  try {
    return readFileSync(pem.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new KubeconfigError(source, field, `cannot read ${pem.file} (${code})`);
  }
};

/** spec.cluster of KUBERNETES_EXEC_INFO (client-go's clientauthentication Cluster). */
const clusterInfo = (config: RestConfig) => {
  const ca = config.tls.ca;
  return {
    server: config.server,
    ...(ca !== undefined && 'data' in ca ? { 'certificate-authority-data': ca.data.toString('base64') } : {}),
    ...(config.tls.insecure ? { 'insecure-skip-tls-verify': true } : {}),
    ...(config.tls.serverName === undefined ? {} : { 'tls-server-name': config.tls.serverName }),
    ...(config.proxyUrl === undefined ? {} : { 'proxy-url': config.proxyUrl }),
  };
};
