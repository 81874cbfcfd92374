// ebb's own kubeconfig loader, with client-go's rules (tools/clientcmd: ClientConfigLoadingRules,
// ConfirmUsable; rest.InClusterConfig). @kubernetes/client-node's KubeConfig cost ~75 MB RSS at
// import (it loads every generated API and model); this is the part of it ebb uses.
// - Where: the --kubeconfig file (must exist); else every file of $KUBECONFIG (missing ones
//   skipped, as client-go does), merged first-wins per map key and for current-context; else
//   ~/.kube/config; else in-cluster (in-cluster.ts).
// - What: the current context's cluster and user, checked field by field (client-go validates the
//   context in use only). Relative paths resolve against the directory of the file that named them.
// - Errors: a KubeconfigError naming the file and the field; never a made-up default cluster.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { isMap } from '../../api/parse.ts';
import { type ExecConfig, parseExecConfig } from './exec-credential.ts';
import { inClusterConfig, SERVICE_ACCOUNT_DIR } from './in-cluster.ts';
import { Fields, KubeconfigError, type Named, type Pem } from './kubeconfig-fields.ts';

export { KubeconfigError, type Pem } from './kubeconfig-fields.ts';

export interface TlsConfig {
  readonly ca?: Pem | undefined;
  readonly cert?: Pem | undefined;
  readonly key?: Pem | undefined;
  /** `insecure-skip-tls-verify`. */
  readonly insecure: boolean;
  /** `tls-server-name`: the SNI and the name the certificate must carry. */
  readonly serverName?: string | undefined;
}

export type UserAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  /** Re-read every minute (bound ServiceAccount tokens rotate). */
  | { readonly kind: 'tokenFile'; readonly path: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'exec'; readonly exec: ExecConfig };

/** Everything the transport needs to reach one API server as one user. */
export interface RestConfig {
  /** `https://host:port` (a path prefix kept, no trailing slash). */
  readonly server: string;
  /** The context's name (`in-cluster` in a pod). */
  readonly context: string;
  /** Where it came from, for messages: the file(s), or `in-cluster`. */
  readonly source: string;
  readonly namespace?: string | undefined;
  readonly tls: TlsConfig;
  /** `proxy-url`: an http(s) proxy every request goes through (CONNECT). */
  readonly proxyUrl?: string | undefined;
  readonly auth: UserAuth;
}

export interface LoadOptions {
  /** `--kubeconfig`; when given it must be readable, nothing else is tried. */
  readonly path?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** The ServiceAccount directory for in-cluster (tests point it at a temp dir). */
  readonly serviceAccountDir?: string;
}

interface Merged {
  readonly clusters: Map<string, Named>;
  readonly users: Map<string, Named>;
  readonly contexts: Map<string, Named>;
  currentContext?: { readonly name: string; readonly file: string };
}

/** Loads with client-go's precedence; throws KubeconfigError. */
export const loadKubeConfig = (opts: LoadOptions = {}): RestConfig => {
  const env = opts.env ?? process.env;
  if (opts.path !== undefined && opts.path !== '') return fromFiles([opts.path], true);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (listed.length > 0) return fromFiles(listed, false);
  const home = join(opts.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home], true);
  return inClusterConfig(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
};

/** Reads and merges `files` (first wins); `required`: a missing file is an error. */
const fromFiles = (files: readonly string[], required: boolean): RestConfig => {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  const read: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !required) continue;
      throw new KubeconfigError(file, '', `cannot read it (${code ?? String(err)})`);
    }
    mergeDocument(merged, parseYaml(text, file), file);
    read.push(file);
  }
  const source = read.length === 0 ? files.join(delimiter) : read.join(delimiter);
  if (read.length === 0) throw new KubeconfigError(source, '', 'none of these files exists');
  return resolveContext(merged, source);
};

/** One kubeconfig document (already parsed, e.g. YAML), as if read from `file`. */
export const configFromDocument = (doc: unknown, file: string): RestConfig => {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  mergeDocument(merged, doc, file);
  return resolveContext(merged, file);
};

const parseYaml = (text: string, file: string): unknown => {
  try {
    return parse(text, { maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw new KubeconfigError(
      file,
      '',
      `not YAML: ${err instanceof Error ? err.message.split('\n')[0] : ''}`,
    );
  }
};

/** client-go's merge: a name already present (from an earlier file) is kept. */
const mergeDocument = (into: Merged, doc: unknown, file: string): void => {
  if (doc === null || doc === undefined) return; // an empty file: nothing to merge
  if (!isMap(doc)) throw new KubeconfigError(file, '', 'not a kubeconfig (a YAML map expected)');
  const lists: [keyof Omit<Merged, 'currentContext'>, string][] = [
    ['clusters', 'cluster'],
    ['users', 'user'],
    ['contexts', 'context'],
  ];
  for (const [list, inner] of lists) {
    const entries = doc[list];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw new KubeconfigError(file, list, 'a list expected');
    entries.forEach((entry: unknown, i) => {
      const field = `${list}[${i}]`;
      if (!isMap(entry) || typeof entry.name !== 'string' || entry.name === '')
        throw new KubeconfigError(file, `${field}.name`, 'a non-empty string expected');
      const value = entry[inner] ?? {};
      if (!isMap(value)) throw new KubeconfigError(file, `${field}.${inner}`, 'a map expected');
      if (!into[list].has(entry.name))
        into[list].set(entry.name, { value, field: `${field}.${inner}`, file });
    });
  }
  const current = doc['current-context'];
  if (current !== undefined && current !== null && current !== '') {
    if (typeof current !== 'string') throw new KubeconfigError(file, 'current-context', 'a string expected');
    into.currentContext ??= { name: current, file };
  }
};

const resolveContext = (merged: Merged, source: string): RestConfig => {
  const current = merged.currentContext;
  if (current === undefined) throw new KubeconfigError(source, 'current-context', 'not set');
  const ctx = merged.contexts.get(current.name);
  if (ctx === undefined)
    throw new KubeconfigError(current.file, 'current-context', `no context named "${current.name}"`);
  const c = new Fields(ctx);
  const clusterName = c.string('cluster');
  const cluster = clusterName === undefined ? undefined : merged.clusters.get(clusterName);
  if (cluster === undefined)
    throw new KubeconfigError(ctx.file, `${ctx.field}.cluster`, `no cluster named "${clusterName ?? ''}"`);
  const userName = c.string('user');
  const user = userName === undefined || userName === '' ? undefined : merged.users.get(userName);
  if (userName !== undefined && userName !== '' && user === undefined)
    throw new KubeconfigError(ctx.file, `${ctx.field}.user`, `no user named "${userName}"`);
  const k = new Fields(cluster);
  const u = user === undefined ? undefined : new Fields(user);
  if (k.has('certificate-authority') && k.has('certificate-authority-data'))
    throw k.error('certificate-authority', 'and certificate-authority-data are both set; set one');
  if (
    k.boolean('insecure-skip-tls-verify') &&
    (k.has('certificate-authority') || k.has('certificate-authority-data'))
  )
    throw k.error(
      'insecure-skip-tls-verify',
      'a certificate authority together with insecure-skip-tls-verify is refused (client-go)',
    );
  return {
    server: parseServer(k),
    context: current.name,
    source,
    namespace: c.string('namespace'),
    tls: {
      ca: k.pem('certificate-authority'),
      cert: u?.pem('client-certificate'),
      key: u?.pem('client-key'),
      insecure: k.boolean('insecure-skip-tls-verify'),
      serverName: k.string('tls-server-name'),
    },
    proxyUrl: parseProxy(k),
    auth: u === undefined ? { kind: 'none' } : parseUser(u),
  };
};

const parseServer = (k: Fields): string => {
  const server = k.httpUrl('server');
  if (server === undefined) throw k.error('server', 'not set');
  return server.replace(/\/+$/, '');
};

// client-go also takes socks5:// proxies; undici's ProxyAgent speaks HTTP CONNECT only, so
// httpUrl refuses them with a message naming the field.
const parseProxy = (k: Fields): string | undefined => k.httpUrl('proxy-url');

const parseUser = (u: Fields): UserAuth => {
  if (u.has('auth-provider'))
    throw u.error(
      'auth-provider',
      'auth-provider plugins (gcp, azure, oidc) were removed from kubectl in 1.26 and ebb does not ' +
        'run them; use an exec credential plugin (gke-gcloud-auth-plugin, kubelogin) instead',
    );
  const cert = u.has('client-certificate') || u.has('client-certificate-data');
  const key = u.has('client-key') || u.has('client-key-data');
  if (cert !== key)
    throw u.error(key ? 'client-certificate' : 'client-key', 'must be set together with the other');
  const token = u.string('token');
  const tokenFile = u.path('tokenFile');
  const username = u.string('username');
  const password = u.string('password');
  const exec = u.raw('exec');
  const kinds = [token, tokenFile, username ?? password, exec].filter((v) => v !== undefined && v !== '');
  // client-go's validation: one of token, basic, exec, auth-provider per user.
  if (kinds.length > 1) throw u.error('', 'token/tokenFile, username/password and exec: set one');
  if (exec !== undefined)
    return { kind: 'exec', exec: parseExecConfig(exec, u.file, `${u.field}.exec`, u.dir) };
  if (token !== undefined && token !== '') return { kind: 'token', token };
  if (tokenFile !== undefined) return { kind: 'tokenFile', path: tokenFile };
  if (username !== undefined || password !== undefined) {
    if (username === undefined || password === undefined)
      throw u.error(
        username === undefined ? 'username' : 'password',
        'basic auth needs username and password',
      );
    return { kind: 'basic', username, password };
  }
  return { kind: 'none' };
};
