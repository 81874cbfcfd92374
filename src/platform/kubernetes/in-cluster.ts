// In-cluster configuration (client-go's rest.InClusterConfig) and token files that rotate.
// A pod's ServiceAccount token is a bound token the kubelet rewrites before it expires (by
// default hourly); client-go re-reads the file at most once a minute (cachingTokenSource), and
// so does TokenFile here, for in-cluster and for a kubeconfig's `tokenFile` alike.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../clock.ts';
import type { RestConfig } from './kubeconfig.ts';
import { KubeconfigError } from './kubeconfig-fields.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go's cachingTokenSource period. */
export const TOKEN_FILE_REREAD_MS = 60_000;

/**
 * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (an IPv6 host in brackets), the
 * ServiceAccount's token (re-read) and ca.crt; the namespace from $POD_NAMESPACE, else the file.
 */
export const inClusterConfig = (env: NodeJS.ProcessEnv, dir: string): RestConfig => {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const source = 'in-cluster';
  if (host === '' || port === '')
    throw new KubeconfigError(
      source,
      '$KUBERNETES_SERVICE_HOST/_PORT',
      'not set: no --kubeconfig, $KUBECONFIG or ~/.kube/config, and not running in a pod',
    );
  const token = join(dir, 'token');
  const ca = join(dir, 'ca.crt');
  for (const file of [token, ca])
    if (!existsSync(file))
      throw new KubeconfigError(source, file, 'does not exist (no ServiceAccount token mounted?)');
  let namespace = env.POD_NAMESPACE;
  if (namespace === undefined || namespace === '') {
    try {
      namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
    } catch {
      namespace = undefined;
    }
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    context: 'in-cluster',
    source,
    namespace,
    tls: { ca: { file: ca }, insecure: false },
    auth: { kind: 'tokenFile', path: token },
  };
};

/** A token file read at most every TOKEN_FILE_REREAD_MS; a failed re-read keeps the last token. */
export class TokenFile {
  private token: string | undefined;
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly path: string,
    private readonly clock: Clock,
  ) {}

  /** The token; throws only when it has never been read. */
  current(): string {
    const now = this.clock.now();
    if (this.token === undefined || now - this.readAt >= TOKEN_FILE_REREAD_MS) {
      try {
        const text = readFileSync(this.path, 'utf8').trim();
        if (text === '') throw new Error('the file is empty');
        this.token = text;
        this.readAt = now;
      } catch (err) {
        // client-go keeps serving the cached token when a re-read fails (kubelet mid-rewrite).
        if (this.token === undefined)
          throw new KubeconfigError(this.path, 'tokenFile', `cannot read it (${describe(err)})`);
      }
    }
    return this.token;
  }
}

const describe = (err: unknown): string =>
  (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
