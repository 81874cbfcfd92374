// A real Kubernetes control plane for integration tests: etcd + kube-apiserver (and, on request,
// kube-controller-manager), built from Go modules by build-binaries.sh and cached under
// ~/.cache/ebb/bin. Flags follow controller-runtime's envtest; everything binds 127.0.0.1.
import { spawn } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePorts,
  log,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  run,
  since,
  startProcess,
  waitUntil,
} from './proc.ts';
import type { EnvService } from './service.ts';

export const K8S_VERSION = process.env.EBB_K8S_VERSION ?? 'v1.35.4';
export const ETCD_VERSION = process.env.EBB_ETCD_VERSION ?? 'v3.6.16';

const CACHE = process.env.EBB_CACHE ?? join(homedir(), '.cache', 'ebb');
const BUILD_SCRIPT = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));
const START_TIMEOUT_MS = 120_000;

export const binaries = {
  etcd: join(CACHE, 'bin', `etcd-${ETCD_VERSION}`, 'etcd'),
  kubeApiserver: join(CACHE, 'bin', `kubernetes-${K8S_VERSION}`, 'kube-apiserver'),
  kubeControllerManager: join(CACHE, 'bin', `kubernetes-${K8S_VERSION}`, 'kube-controller-manager'),
};

/** How a test reaches the API server; plain data, so it can cross into test workers. */
export interface KubeConnection {
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of an admin in `system:masters`. */
  token: string;
  /** PEM bundle that verifies the server's self-signed serving certificate. */
  caData: string;
  /** `gitVersion` the server reports. */
  version: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Present when global-setup.ts started the `kube` service. */
    ebbKube: KubeConnection;
  }
}

export interface ControllerManager {
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface StartControllerManagerOptions {
  /** Replaces the default `--controllers` list. */
  controllers?: readonly string[];
  /** Appended to the command line (e.g. `--horizontal-pod-autoscaler-downscale-stabilization=0s`). */
  extraArgs?: readonly string[];
  /** Directory for its cert-dir and log; a temp dir (removed on stop) when omitted. */
  dir?: string;
}

export interface Kube extends KubeConnection {
  readonly etcd: ManagedProcess;
  readonly apiServer: ManagedProcess;
  /** The temp dir holding etcd data, certs, keys, kubeconfig and logs. */
  readonly dir: string;
  /** Stops and starts kube-apiserver again on the same port against the same etcd. */
  restartApiServer(): Promise<void>;
  /** Starts kube-controller-manager against this API server; stopped by `stop()` too. */
  startControllerManager(opts?: StartControllerManagerOptions): Promise<ControllerManager>;
  /** Stops everything started here and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKubeOptions {
  /** Extra kube-apiserver flags, appended. */
  apiServerArgs?: readonly string[];
  /** Also start kube-controller-manager with default options. */
  controllerManager?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Builds the binaries with build-binaries.sh when one is missing (its output goes to stderr). */
export async function ensureBinaries(): Promise<void> {
  const present = await Promise.all(Object.values(binaries).map(exists));
  if (present.every(Boolean)) return;
  const start = performance.now();
  log(`building control-plane binaries (${K8S_VERSION}, etcd ${ETCD_VERSION}) with ${BUILD_SCRIPT}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${BUILD_SCRIPT} exited with ${code}`)),
    );
  });
  log(`binaries built in ${since(start)}`);
}

interface HttpsResult {
  status: number;
  body: string;
}

function httpsGet(url: string, headers: Record<string, string> = {}): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

async function httpGet(url: string): Promise<HttpsResult> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

/** Front-proxy CA and the aggregator's client certificate, for the aggregation layer. */
async function writeFrontProxyCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = join(dir, 'front-proxy-ca.crt');
  const caKey = join(dir, 'front-proxy-ca.key');
  const cert = join(dir, 'front-proxy-client.crt');
  const key = join(dir, 'front-proxy-client.key');
  const csr = join(dir, 'front-proxy-client.csr');
  const ext = join(dir, 'front-proxy-client.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '7',
    '-subj',
    '/CN=ebb-front-proxy-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=front-proxy-client']);
  await writeFile(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '7',
    '-extfile',
    ext,
  ]);
  return { ca, cert, key };
}

async function writeServiceAccountKey(dir: string): Promise<string> {
  const privateKey = await new Promise<string>((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      },
      (error, _publicKey, pem) => (error ? reject(error) : resolve(pem)),
    ),
  );
  const path = join(dir, 'service-account.key');
  await writeFile(path, privateKey, { mode: 0o600 });
  return path;
}

function kubeconfigYaml(server: string, caData: string, token: string): string {
  const ca = Buffer.from(caData).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: ebb-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: ebb-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: ebb-test',
    '  context:',
    '    cluster: ebb-test',
    '    user: ebb-admin',
    '    namespace: default',
    'current-context: ebb-test',
    '',
  ].join('\n');
}

async function startEtcd(dir: string): Promise<{ process: ManagedProcess; url: string }> {
  const start = performance.now();
  const [clientPort, peerPort] = await freePorts(2);
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const etcd = startProcess({
    name: 'etcd',
    command: binaries.etcd,
    args: [
      '--name=ebb',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=ebb=${peer}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: join(dir, 'etcd.log'),
  });
  await waitUntil(
    async () => {
      const res = await httpGet(`${url}/health`);
      return res.status === 200 && res.body.includes('"health":"true"');
    },
    { what: `etcd ${url}/health`, timeoutMs: START_TIMEOUT_MS, process: etcd },
  );
  log(`etcd ${ETCD_VERSION} ready on ${url} in ${since(start)}`);
  return { process: etcd, url };
}

/**
 * Starts etcd and kube-apiserver in a fresh temp dir, waits for `/readyz`, writes a kubeconfig.
 * Builds the binaries first when they are missing.
 */
export async function startKube(opts: StartKubeOptions = {}): Promise<Kube> {
  await ensureBinaries();
  const dir = await makeTempDir('kube');
  const cleanup: (() => Promise<void>)[] = [];
  // etcd starts while the keys and certs are made; stopped on failure even if those fail first.
  const etcdPromise = startEtcd(dir);
  etcdPromise.catch(() => {}); // rejection surfaces at `await etcdPromise` below
  cleanup.push(() => etcdPromise.then((etcd) => etcd.process.stop()));
  try {
    const [frontProxy, saKey, [apiPort]] = await Promise.all([
      writeFrontProxyCerts(dir),
      writeServiceAccountKey(dir),
      freePorts(1),
    ]);
    const etcd = await etcdPromise;

    const token = randomBytes(24).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${token},ebb-admin,ebb-admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(dir, 'apiserver-certs');
    await mkdir(certDir);
    const server = `https://127.0.0.1:${apiPort}`;
    const args = [
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--etcd-servers=${etcd.url}`,
      `--cert-dir=${certDir}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      `--token-auth-file=${tokenFile}`,
      // Aggregation layer (the external.metrics.k8s.io adapter is an aggregated API).
      `--requestheader-client-ca-file=${frontProxy.ca}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${frontProxy.cert}`,
      `--proxy-client-key-file=${frontProxy.key}`,
      '--enable-aggregator-routing=false',
      '--profiling=false',
      // The `kubernetes` Service cannot have a 127.0.0.1 endpoint (loopback is invalid); don't retry forever.
      '--endpoint-reconciler-type=none',
      // Without it a SIGTERM waits up to --request-timeout (60 s) for open watches to end.
      '--shutdown-watch-termination-grace-period=2s',
      ...(opts.apiServerArgs ?? []),
    ];
    const apiLog = join(dir, 'kube-apiserver.log');

    const launchApiServer = async (what: string): Promise<ManagedProcess> => {
      const start = performance.now();
      const proc = startProcess({
        name: 'kube-apiserver',
        command: binaries.kubeApiserver,
        args,
        logFile: apiLog,
      });
      try {
        await waitUntil(
          async () => {
            const res = await httpsGet(`${server}/readyz`, { Authorization: `Bearer ${token}` });
            return res.status === 200;
          },
          { what: `kube-apiserver ${server}/readyz`, timeoutMs: START_TIMEOUT_MS, process: proc },
        );
      } catch (error) {
        await proc.stop();
        throw error;
      }
      log(`kube-apiserver ${K8S_VERSION} ${what} on ${server} in ${since(start)}`);
      return proc;
    };

    let apiServer = await launchApiServer('ready');
    cleanup.push(() => apiServer.stop());

    // The serving cert kube-apiserver generated in --cert-dir is a chain ending in its own CA.
    const caData = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, caData, token), { mode: 0o600 });
    const versionRes = await httpsGet(`${server}/version`, { Authorization: `Bearer ${token}` });
    const version = (JSON.parse(versionRes.body) as { gitVersion?: string }).gitVersion ?? 'unknown';

    const managers = new Set<ControllerManager>();
    let stopped = false;
    const kube: Kube = {
      kubeconfigPath,
      server,
      token,
      caData,
      version,
      dir,
      etcd: etcd.process,
      get apiServer() {
        return apiServer;
      },
      async restartApiServer() {
        const start = performance.now();
        await apiServer.stop();
        apiServer = await launchApiServer('restarted');
        log(`kube-apiserver restart (stop + start) took ${since(start)}`);
      },
      async startControllerManager(cmOpts = {}) {
        const manager = await startControllerManager({ kubeconfigPath }, { dir, ...cmOpts });
        managers.add(manager);
        return {
          process: manager.process,
          async stop() {
            managers.delete(manager);
            await manager.stop();
          },
        };
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        const start = performance.now();
        await Promise.all([...managers].map((m) => m.stop()));
        await apiServer.stop();
        await etcd.process.stop();
        await removeDir(dir);
        log(`kube stopped in ${since(start)}`);
      },
    };
    if (opts.controllerManager) await kube.startControllerManager();
    return kube;
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    // Keep the logs of a failed start for inspection.
    log(`kube failed to start; logs kept in ${dir}`);
    throw error;
  }
}

/**
 * Starts kube-controller-manager (HPA, deployment, replicaset, garbage collector, namespace
 * controllers; HPA sync every second) against the API server of `conn`. Usable from a test
 * file with the injected kubeconfig path as well as from `Kube.startControllerManager`.
 */
export async function startControllerManager(
  conn: Pick<KubeConnection, 'kubeconfigPath'>,
  opts: StartControllerManagerOptions = {},
): Promise<ControllerManager> {
  await ensureBinaries();
  const start = performance.now();
  const ownDir = opts.dir === undefined;
  const base = opts.dir ?? (await makeTempDir('kcm'));
  const [port] = await freePorts(1);
  const certDir = join(base, `kcm-certs-${port}`);
  await mkdir(certDir, { recursive: true });
  const controllers = opts.controllers ?? [
    'horizontalpodautoscaling',
    'deployment',
    'replicaset',
    'garbagecollector',
    'namespace',
  ];
  const proc = startProcess({
    name: 'kube-controller-manager',
    command: binaries.kubeControllerManager,
    args: [
      `--kubeconfig=${conn.kubeconfigPath}`,
      `--authentication-kubeconfig=${conn.kubeconfigPath}`,
      `--authorization-kubeconfig=${conn.kubeconfigPath}`,
      `--controllers=${controllers.join(',')}`,
      '--leader-elect=false',
      '--horizontal-pod-autoscaler-sync-period=1s',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      '--profiling=false',
      ...(opts.extraArgs ?? []),
    ],
    logFile: join(base, `kube-controller-manager-${port}.log`),
  });
  const stop = async () => {
    await proc.stop();
    if (ownDir) await removeDir(base);
  };
  try {
    await waitUntil(
      async () => {
        const res = await httpsGet(`https://127.0.0.1:${port}/healthz`);
        return res.status === 200;
      },
      { what: `kube-controller-manager :${port}/healthz`, timeoutMs: START_TIMEOUT_MS, process: proc },
    );
  } catch (error) {
    await proc.stop();
    throw error;
  }
  log(`kube-controller-manager ${K8S_VERSION} ready on 127.0.0.1:${port} in ${since(start)}`);
  return { process: proc, stop };
}

/**
 * The `kube` service of global-setup.ts: one control plane per run, `ebbKube` provided to test
 * files, EBB_TEST_KUBECONFIG set, and the action `kube/restart-apiserver`.
 * kube-controller-manager is not started by default (EBB_TEST_KUBE_CONTROLLER_MANAGER=1 does);
 * a test file that needs it calls `startControllerManager` from testing.ts.
 */
export const kubeService: EnvService = {
  name: 'kube',
  async start(ctx) {
    const kube = await startKube({ controllerManager: process.env.EBB_TEST_KUBE_CONTROLLER_MANAGER === '1' });
    const connection: KubeConnection = {
      kubeconfigPath: kube.kubeconfigPath,
      server: kube.server,
      token: kube.token,
      caData: kube.caData,
      version: kube.version,
    };
    ctx.provide('ebbKube', connection);
    ctx.setEnv('EBB_TEST_KUBECONFIG', kube.kubeconfigPath);
    ctx.registerAction('restart-apiserver', async () => {
      await kube.restartApiServer();
      return { server: kube.server };
    });
    return kube;
  },
};
