// The kubeconfig loader (src/platform/kubernetes/kubeconfig.ts) on files this test writes:
// client-go's precedence and merge, relative paths, -data vs file fields, in-cluster from a temp
// ServiceAccount directory, one row per bad field with the error it must name, and a property
// test that no document crashes it (a RestConfig or a KubeconfigError, nothing else).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  configFromDocument,
  KubeconfigError,
  loadKubeConfig,
} from '../../src/platform/kubernetes/kubeconfig.ts';

const root = mkdtempSync(join(tmpdir(), 'ebb-kubeconfig-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh directory under the test's temp dir. */
const dir = (): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const write = (path: string, doc: unknown): string => {
  writeFileSync(path, typeof doc === 'string' ? doc : stringify(doc));
  return path;
};

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One context `ctx` → cluster `c` (server) and user `u` (user fields). */
const kubeconfig = (
  server: string,
  user: Record<string, unknown> = { token: 't' },
  cluster: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'c', cluster: { server, ...cluster } }],
  users: [{ name: 'u', user }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'ns1' } }],
  'current-context': 'ctx',
});

const NO_ENV = { env: {}, home: '/nonexistent-home', serviceAccountDir: '/nonexistent-sa' };

describe('where the kubeconfig comes from (client-go precedence)', () => {
  it('the --kubeconfig path wins over $KUBECONFIG and ~/.kube/config', () => {
    const d = dir();
    const flag = write(join(d, 'flag'), kubeconfig('https://flag:6443'));
    const env = write(join(d, 'env'), kubeconfig('https://env:6443'));
    const config = loadKubeConfig({ ...NO_ENV, path: flag, env: { KUBECONFIG: env } });
    expect(config.server).toBe('https://flag:6443');
    expect(config.context).toBe('ctx');
    expect(config.namespace).toBe('ns1');
    expect(config.auth).toEqual({ kind: 'token', token: 't' });
  });

  it('a --kubeconfig path that does not exist is an error naming it', () => {
    const missing = join(dir(), 'nope');
    expect(() => loadKubeConfig({ ...NO_ENV, path: missing })).toThrow(`${missing}: cannot read it (ENOENT)`);
  });

  it('$KUBECONFIG files merge first-wins per name and for current-context; missing files are skipped', () => {
    const d = dir();
    const a = write(join(d, 'a'), {
      clusters: [{ name: 'c', cluster: { server: 'https://a:6443' } }],
      contexts: [{ name: 'ctx-a', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx-a',
    });
    const b = write(join(d, 'b'), {
      clusters: [
        { name: 'c', cluster: { server: 'https://b:6443' } },
        { name: 'only-b', cluster: { server: 'https://only-b:6443' } },
      ],
      users: [{ name: 'u', user: { username: 'admin', password: 'secret' } }],
      contexts: [{ name: 'ctx-b', context: { cluster: 'only-b', user: 'u' } }],
      'current-context': 'ctx-b',
    });
    const config = loadKubeConfig({
      ...NO_ENV,
      env: { KUBECONFIG: [join(d, 'missing'), a, b].join(delimiter) },
    });
    expect(config.context).toBe('ctx-a');
    expect(config.server).toBe('https://a:6443');
    expect(config.auth).toEqual({ kind: 'basic', username: 'admin', password: 'secret' });
    expect(config.source).toBe([a, b].join(delimiter));
  });

  it('~/.kube/config when neither is given', () => {
    const home = dir();
    mkdirSync(join(home, '.kube'));
    write(join(home, '.kube', 'config'), kubeconfig('https://home:6443'));
    expect(loadKubeConfig({ ...NO_ENV, home }).server).toBe('https://home:6443');
  });

  it('in-cluster last: $KUBERNETES_SERVICE_HOST/_PORT, token and ca.crt of the ServiceAccount dir', () => {
    const sa = dir();
    writeFileSync(join(sa, 'token'), 'sa-token\n');
    writeFileSync(join(sa, 'ca.crt'), PEM);
    writeFileSync(join(sa, 'namespace'), 'ebb-system');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const config = loadKubeConfig({ ...NO_ENV, env, serviceAccountDir: sa });
    expect(config).toMatchObject({
      server: 'https://[fd00::1]:443',
      context: 'in-cluster',
      namespace: 'ebb-system',
      auth: { kind: 'tokenFile', path: join(sa, 'token') },
      tls: { ca: { file: join(sa, 'ca.crt') }, insecure: false },
    });
    expect(
      loadKubeConfig({ ...NO_ENV, env: { ...env, POD_NAMESPACE: 'mine' }, serviceAccountDir: sa }).namespace,
    ).toBe('mine');
  });

  it('nothing found: an error naming what is missing, never a made-up localhost cluster', () => {
    expect(() => loadKubeConfig(NO_ENV)).toThrow(/KUBERNETES_SERVICE_HOST\/_PORT: not set/);
    const sa = dir();
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(() => loadKubeConfig({ ...NO_ENV, env, serviceAccountDir: sa })).toThrow(
      `in-cluster: ${join(sa, 'token')}: does not exist`,
    );
  });
});

describe('fields', () => {
  it('relative paths resolve against the kubeconfig file directory', () => {
    const d = dir();
    const file = write(
      join(d, 'config'),
      kubeconfig(
        'https://x:6443',
        { tokenFile: 'secrets/token', 'client-certificate': 'crt.pem', 'client-key': '/abs/key.pem' },
        { 'certificate-authority': '../ca.pem' },
      ),
    );
    const config = loadKubeConfig({ ...NO_ENV, path: file });
    expect(config.auth).toEqual({ kind: 'tokenFile', path: join(d, 'secrets', 'token') });
    expect(config.tls.ca).toEqual({ file: join(d, '..', 'ca.pem') });
    expect(config.tls.cert).toEqual({ file: join(d, 'crt.pem') });
    expect(config.tls.key).toEqual({ file: '/abs/key.pem' });
  });

  it('-data fields are decoded inline; tls-server-name, insecure and proxy-url are kept', () => {
    const config = configFromDocument(
      kubeconfig(
        'https://x:6443/prefix/',
        { 'client-certificate-data': b64(PEM), 'client-key-data': b64(PEM), 'client-key': 'ignored.pem' },
        { 'tls-server-name': 'kubernetes.default', 'proxy-url': 'http://proxy:3128' },
      ),
      'f',
    );
    expect(config.server).toBe('https://x:6443/prefix');
    expect(config.tls.cert).toEqual({ data: Buffer.from(PEM) });
    expect(config.tls.key).toEqual({ data: Buffer.from(PEM) });
    expect(config.tls.serverName).toBe('kubernetes.default');
    expect(config.proxyUrl).toBe('http://proxy:3128');
    expect(config.auth).toEqual({ kind: 'none' });
    const insecure = configFromDocument(
      kubeconfig('https://x', {}, { 'insecure-skip-tls-verify': true }),
      'f',
    );
    expect(insecure.tls.insecure).toBe(true);
  });

  it('an exec user becomes an exec credential source with its env, args and a resolved command', () => {
    const config = configFromDocument(
      kubeconfig('https://x', {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './bin/plugin',
          args: ['--a'],
          env: [{ name: 'K', value: 'v' }],
          interactiveMode: 'Never',
        },
      }),
      '/etc/kube/config',
    );
    expect(config.auth).toMatchObject({
      kind: 'exec',
      exec: { command: '/etc/kube/bin/plugin', args: ['--a'], env: { K: 'v' } },
    });
  });

  // One row per bad field: the message names the file and the field.
  const bad: readonly { readonly label: string; readonly doc: unknown; readonly error: string }[] = [
    { label: 'not a map', doc: ['x'], error: 'f: not a kubeconfig' },
    { label: 'clusters not a list', doc: { clusters: 'x' }, error: 'f: clusters: a list expected' },
    {
      label: 'entry without name',
      doc: { users: [{ user: {} }] },
      error: 'f: users[0].name: a non-empty string',
    },
    { label: 'no current-context', doc: { clusters: [] }, error: 'f: current-context: not set' },
    {
      label: 'unknown context',
      doc: { 'current-context': 'x' },
      error: 'f: current-context: no context named "x"',
    },
    {
      label: 'unknown cluster',
      doc: { contexts: [{ name: 'x', context: { cluster: 'nope' } }], 'current-context': 'x' },
      error: 'f: contexts[0].context.cluster: no cluster named "nope"',
    },
    {
      label: 'unknown user',
      doc: {
        clusters: [{ name: 'c', cluster: { server: 'https://x' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'nope' } }],
        'current-context': 'x',
      },
      error: 'f: contexts[0].context.user: no user named "nope"',
    },
    { label: 'no server', doc: kubeconfig(''), error: 'f: clusters[0].cluster.server: not set' },
    {
      label: 'server not a URL',
      doc: kubeconfig('x y'),
      error: 'clusters[0].cluster.server: "x y" is not a URL',
    },
    { label: 'server not http', doc: kubeconfig('ftp://x'), error: 'server: "ftp://" is not supported' },
    {
      label: 'server a number',
      doc: kubeconfig(6443 as unknown as string),
      error: 'server: a string expected',
    },
    {
      label: 'socks proxy',
      doc: kubeconfig('https://x', {}, { 'proxy-url': 'socks5://p:1080' }),
      error: 'clusters[0].cluster.proxy-url: "socks5://" is not supported',
    },
    {
      label: 'CA data not base64',
      doc: kubeconfig('https://x', {}, { 'certificate-authority-data': 'not base64!' }),
      error: 'f: clusters[0].cluster.certificate-authority-data: not base64',
    },
    {
      label: 'CA data not PEM',
      doc: kubeconfig('https://x', {}, { 'certificate-authority-data': b64('hello') }),
      error: 'certificate-authority-data: does not decode to PEM',
    },
    {
      label: 'CA file and data',
      doc: kubeconfig(
        'https://x',
        {},
        { 'certificate-authority': 'a', 'certificate-authority-data': b64(PEM) },
      ),
      error: 'clusters[0].cluster.certificate-authority: and certificate-authority-data are both set',
    },
    {
      label: 'CA with insecure',
      doc: kubeconfig('https://x', {}, { 'certificate-authority': 'a', 'insecure-skip-tls-verify': true }),
      error: 'clusters[0].cluster.insecure-skip-tls-verify: a certificate authority together with',
    },
    {
      label: 'insecure a string',
      doc: kubeconfig('https://x', {}, { 'insecure-skip-tls-verify': 'yes' }),
      error: 'insecure-skip-tls-verify: true or false expected, got "yes"',
    },
    {
      label: 'auth-provider',
      doc: kubeconfig('https://x', { 'auth-provider': { name: 'gcp' } }),
      error: 'f: users[0].user.auth-provider: auth-provider plugins (gcp, azure, oidc) were removed',
    },
    {
      label: 'cert without key',
      doc: kubeconfig('https://x', { 'client-certificate': 'c.pem' }),
      error: 'users[0].user.client-key: must be set together with the other',
    },
    {
      label: 'token and basic',
      doc: kubeconfig('https://x', { token: 't', username: 'a', password: 'b' }),
      error: 'f: users[0].user: token/tokenFile, username/password and exec: set one',
    },
    {
      label: 'username without password',
      doc: kubeconfig('https://x', { token: undefined, username: 'a' }),
      error: 'users[0].user.password: basic auth needs username and password',
    },
    {
      label: 'exec without apiVersion',
      doc: kubeconfig('https://x', { exec: { command: 'p' } }),
      error: 'users[0].user.exec.apiVersion: undefined: client.authentication.k8s.io/v1 or',
    },
    {
      label: 'exec v1 without interactiveMode',
      doc: kubeconfig('https://x', { exec: { command: 'p', apiVersion: 'client.authentication.k8s.io/v1' } }),
      error: 'users[0].user.exec.interactiveMode: required by v1',
    },
    {
      label: 'exec interactive Always',
      doc: kubeconfig('https://x', {
        exec: { command: 'p', apiVersion: 'client.authentication.k8s.io/v1beta1', interactiveMode: 'Always' },
      }),
      error: 'exec.interactiveMode: Always needs a terminal',
    },
    {
      label: 'exec env entry',
      doc: kubeconfig('https://x', {
        exec: { command: 'p', apiVersion: 'client.authentication.k8s.io/v1beta1', env: [{ name: 'A' }] },
      }),
      error: 'users[0].user.exec.env[0]: a {name, value} pair of strings expected',
    },
  ];
  it.each(bad)('refuses $label, naming the field', ({ doc, error }) => {
    let thrown: unknown;
    try {
      configFromDocument(doc, 'f');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(KubeconfigError);
    expect((thrown as Error).message).toContain(error);
  });

  it('a file that is not YAML is an error naming the file', () => {
    const file = write(join(dir(), 'config'), 'clusters: [\n  - {');
    expect(() => loadKubeConfig({ ...NO_ENV, path: file })).toThrow(`${file}: not YAML`);
  });
});

describe('hostile documents', () => {
  // Values of the shapes a kubeconfig holds, in the places the loader reads them.
  const value = fc.oneof(
    fc.constantFrom(
      'https://x:6443',
      'http://x',
      '',
      'a',
      'Never',
      'client.authentication.k8s.io/v1',
      b64(PEM),
    ),
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  );
  const keys = [
    'server',
    'certificate-authority',
    'certificate-authority-data',
    'insecure-skip-tls-verify',
    'tls-server-name',
    'proxy-url',
    'token',
    'tokenFile',
    'username',
    'password',
    'client-certificate-data',
    'client-key-data',
    'auth-provider',
    'exec',
    'command',
    'apiVersion',
    'args',
    'env',
    'interactiveMode',
    'cluster',
    'user',
  ];
  const entry = fc.dictionary(
    fc.constantFrom(...keys),
    fc.oneof(value, fc.dictionary(fc.constantFrom(...keys), value)),
  );
  const named = (inner: string) =>
    fc.array(
      fc.record({ name: fc.oneof(fc.constantFrom('c', 'u', 'x'), value), [inner]: fc.oneof(entry, value) }),
      {
        maxLength: 3,
      },
    );
  const doc = fc.oneof(
    fc.record(
      {
        clusters: fc.oneof(named('cluster'), value),
        users: fc.oneof(named('user'), value),
        contexts: fc.oneof(named('context'), value),
        'current-context': fc.oneof(fc.constant('x'), value),
      },
      { requiredKeys: [] },
    ),
    fc.anything(),
  );

  it('never crash the loader: a RestConfig or a KubeconfigError', () => {
    fc.assert(
      fc.property(doc, (d) => {
        try {
          const config = configFromDocument(d, 'f');
          expect(config.server).toMatch(/^https?:\/\//);
        } catch (err) {
          if (!(err instanceof KubeconfigError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
