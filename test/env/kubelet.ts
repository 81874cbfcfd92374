// A test "kubelet" for one Deployment: it watches the Deployment's spec.replicas on the real API
// server and runs one backend process (netns-backend.ts) per replica inside a test network
// namespace, each on its own address claimed from that namespace (netns.ts); it publishes
// the Service's EndpointSlice (discovery.k8s.io/v1, ready/serving/terminating conditions) and
// the Deployment's status (replicas, readyReplicas, ...) so /scale reports what runs.
//
// Lifecycle of a replica, as a pod's: starting (process up, not ready; an optional start delay
// holds its listen) → ready (the readiness probe GET /healthz from the host answered 200) →
// terminating on scale-down (ready=false, SIGTERM, removed once it exited). A replica that
// exits by itself (`kill()`, a crash) is published not ready and restarted, as with
// restartPolicy Always. Scale-down removes the highest ordinals first.
//
// Only addresses inside 10.213.0.0/24 that the test's namespace owns are ever published or probed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { probeH2c } from './h2-probe.ts';
import { inTestRange, type Netns } from './netns.ts';
import { log, type ManagedProcess, makeTempDir, removeDir, startProcess } from './proc.ts';

const BACKEND = fileURLToPath(new URL('./netns-backend.ts', import.meta.url));
const GRPC_BACKEND = fileURLToPath(new URL('./netns-grpc-backend.ts', import.meta.url));
const FIELD_MANAGER = 'ebb-test-kubelet';
const PROBE_INTERVAL_MS = 50;
const RESTART_DELAY_MS = 100;
const REWATCH_DELAY_MS = 250;

export interface KubeletOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly deployment: string;
  /** The Service whose EndpointSlice is published (label kubernetes.io/service-name). */
  readonly service: string;
  readonly netns: Netns;
  /** The backends' port (the Service's targetPort); default 8080. */
  readonly port?: number;
  /** The EndpointSlice port's name (the Service port's name); default `http`. */
  readonly portName?: string;
  /** Each backend waits this long before it listens: a slow-starting app. Default 0. */
  readonly startDelayMs?: number;
  /** SIGTERM grace before SIGKILL on scale-down; default 10 s. */
  readonly terminationGraceMs?: number;
  /** `grpc`: the replicas are netns-grpc-backend.ts (h2c, probed over h2c); default `http`. */
  readonly backend?: 'http' | 'grpc';
  /** The EndpointSlice port's appProtocol (as the EndpointSlice controller copies the Service's). */
  readonly appProtocol?: string;
}

export type ReplicaPhase = 'starting' | 'ready' | 'terminating' | 'crashed';

export interface ReplicaInfo {
  readonly ordinal: number;
  /** `<deployment>-<ordinal>`; the backend answers with it. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly phase: ReplicaPhase;
  readonly pid: number;
  readonly restarts: number;
}

export interface TestKubelet {
  /** The replicas now, by ordinal. */
  replicas(): ReplicaInfo[];
  /** spec.replicas as last seen. */
  readonly desired: number;
  /** Resolves when exactly `ready` replicas are ready and nothing else runs or terminates. */
  settled(ready: number, timeoutMs?: number): Promise<ReplicaInfo[]>;
  /** SIGKILLs a replica's process (a crash): published not ready, then restarted. */
  kill(ordinal: number): void;
  /** Stops watching, stops every backend, empties the EndpointSlice. */
  stop(): Promise<void>;
}

interface Replica {
  readonly ordinal: number;
  readonly name: string;
  readonly address: string;
  process: ManagedProcess;
  phase: ReplicaPhase;
  restarts: number;
}

/** The backend processes started by guard `guardPid` (its children running netns-backend.ts). */
function backendPids(guardPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== guardPid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(BACKEND) || cmdline.includes(GRPC_BACKEND)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** GET /healthz over HTTP/1.1: its status. */
const probeHttp = async (address: string, port: number): Promise<number> => {
  const res = await fetch(`http://${address}:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A coalescing runner: `kick()` runs `task` now, or once more after the current run. */
const serialized = (task: () => Promise<void>, onError: (error: unknown) => void) => {
  let running: Promise<void> | undefined;
  let again = false;
  const loop = async (): Promise<void> => {
    do {
      again = false;
      await task().catch(onError);
    } while (again);
    running = undefined;
  };
  return {
    kick(): Promise<void> {
      if (running !== undefined) {
        again = true;
        return running;
      }
      running = loop();
      return running;
    },
    idle: (): Promise<void> => running ?? Promise.resolve(),
  };
};

export async function startKubelet(opts: KubeletOptions): Promise<TestKubelet> {
  const { kc, namespace, deployment, service, netns } = opts;
  const port = opts.port ?? 8080;
  const portName = opts.portName ?? 'http';
  const grpc = opts.backend === 'grpc';
  const slicePort = {
    name: portName,
    port,
    protocol: 'TCP',
    ...(opts.appProtocol === undefined ? {} : { appProtocol: opts.appProtocol }),
  };
  const apps = kc.makeApiClient(AppsV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const dir = await makeTempDir('kubelet');
  const sliceName = `${service}-ebb-test`;
  const replicas = new Map<number, Replica>();
  let desired = 0;
  let generation = 0;
  let closing = false; // stop() began: no more starts, restarts or watches
  let stopped = false; // stop() done: no more API writes
  const errors: unknown[] = [];
  const report = (error: unknown) => {
    if (stopped) return;
    errors.push(error);
    log(`kubelet ${namespace}/${deployment}: ${error instanceof Error ? error.message : String(error)}`);
  };

  const spawnBackend = (ordinal: number, name: string, address: string): ManagedProcess => {
    if (!inTestRange(address) || !netns.replicaAddresses.includes(address)) {
      // Never reached with claimAddress(); a guard so that nothing outside the test range is ever used.
      throw new Error(`kubelet: refusing address ${address} outside the test namespace's range`);
    }
    const cmd = netns.exec(process.execPath, [
      grpc ? GRPC_BACKEND : BACKEND,
      '--name',
      name,
      '--address',
      address,
      '--port',
      String(port),
      '--start-delay-ms',
      String(opts.startDelayMs ?? 0),
    ]);
    return startProcess({
      name,
      command: cmd.command,
      args: cmd.args,
      logFile: join(dir, `${name}-${ordinal}.log`),
    });
  };

  // ---- publishing: EndpointSlice (server-side apply) and Deployment status ----

  const publish = serialized(async () => {
    if (stopped) return;
    const list = [...replicas.values()].sort((a, b) => a.ordinal - b.ordinal);
    const endpoints = list.map((r) => ({
      addresses: [r.address],
      conditions: {
        ready: r.phase === 'ready',
        serving: r.phase === 'ready' || r.phase === 'terminating',
        terminating: r.phase === 'terminating',
      },
      targetRef: { kind: 'Pod', namespace, name: r.name },
    }));
    await discovery.patchNamespacedEndpointSlice(
      {
        name: sliceName,
        namespace,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: sliceName,
            namespace,
            labels: {
              'kubernetes.io/service-name': service,
              'endpointslice.kubernetes.io/managed-by': FIELD_MANAGER,
            },
          },
          addressType: 'IPv4',
          ports: [slicePort],
          endpoints,
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    const running = list.filter((r) => r.phase !== 'terminating').length;
    const ready = list.filter((r) => r.phase === 'ready').length;
    await apps
      .patchNamespacedDeploymentStatus(
        {
          name: deployment,
          namespace,
          body: {
            status: {
              observedGeneration: generation,
              replicas: running,
              updatedReplicas: running,
              readyReplicas: ready,
              availableReplicas: ready,
              unavailableReplicas: running - ready,
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch((error: unknown) => {
        // The Deployment may be gone (test teardown); the slice is what matters then.
        if ((error as { code?: number }).code !== 404) throw error;
      });
  }, report);

  // ---- one replica ----

  const probe = async (r: Replica, proc: ManagedProcess): Promise<void> => {
    while (!closing && r.process === proc && r.phase === 'starting' && proc.exit === undefined) {
      try {
        const status = grpc ? await probeH2c(r.address, port, 1000) : await probeHttp(r.address, port);
        if (status === 200 && r.process === proc && r.phase === 'starting') {
          r.phase = 'ready';
          void publish.kick();
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  };

  /** Follows the replica's current process: readiness probe, restart when it dies by itself. */
  const follow = (r: Replica): void => {
    const proc = r.process;
    void probe(r, proc);
    void proc.exited.then(async () => {
      if (closing || r.process !== proc || r.phase === 'terminating') return;
      log(`kubelet: ${r.name} exited on its own (${JSON.stringify(proc.exit)}); restarting`);
      r.phase = 'crashed';
      void publish.kick();
      await proc.stop(0); // forget its process group
      await sleep(RESTART_DELAY_MS);
      if (closing || r.process !== proc || r.phase !== 'crashed') return;
      r.restarts++;
      r.process = spawnBackend(r.ordinal, r.name, r.address);
      r.phase = 'starting';
      follow(r);
    });
  };

  const terminations = new Set<Promise<void>>();
  const terminate = (r: Replica): void => {
    const done = (async () => {
      r.phase = 'terminating';
      await publish.kick();
      await r.process.stop(opts.terminationGraceMs ?? 10_000);
      replicas.delete(r.ordinal);
      netns.releaseAddress(r.address);
      await publish.kick();
    })().catch(report);
    terminations.add(done);
    void done.finally(() => terminations.delete(done));
  };

  // ---- reconcile spec.replicas ----

  const reconcile = serialized(async () => {
    if (closing) return;
    const active = [...replicas.values()].filter((r) => r.phase !== 'terminating');
    // Scale up into the lowest free ordinals (a terminating replica keeps its ordinal until it exits).
    for (let ordinal = 0; active.length < desired; ordinal++) {
      if (replicas.has(ordinal)) continue;
      const address = netns.claimAddress();
      if (address === undefined) {
        report(
          new Error(`no free address in ${netns.subnet} for replica ${active.length + 1} of ${desired}`),
        );
        break;
      }
      const name = `${deployment}-${ordinal}`;
      const r: Replica = {
        ordinal,
        name,
        address,
        process: spawnBackend(ordinal, name, address),
        phase: 'starting',
        restarts: 0,
      };
      replicas.set(ordinal, r);
      active.push(r);
      follow(r);
    }
    // Scale down from the highest ordinals.
    const extra = active.sort((a, b) => b.ordinal - a.ordinal).slice(0, Math.max(0, active.length - desired));
    for (const r of extra) terminate(r);
    await publish.kick();
  }, report);

  // ---- the Deployment watch ----

  const observe = (obj: { metadata?: { generation?: number }; spec?: { replicas?: number } } | undefined) => {
    desired = obj?.spec?.replicas ?? 0;
    generation = obj?.metadata?.generation ?? generation;
    void reconcile.kick();
  };

  let watch: AbortController | undefined;
  const startWatch = async (): Promise<void> => {
    if (closing) return;
    try {
      const list = await apps.listNamespacedDeployment({
        namespace,
        fieldSelector: `metadata.name=${deployment}`,
      });
      if (closing) return;
      observe(list.items[0]);
      watch = await new Watch(kc).watch(
        `/apis/apps/v1/namespaces/${namespace}/deployments`,
        { fieldSelector: `metadata.name=${deployment}`, resourceVersion: list.metadata?.resourceVersion },
        (type, obj) => observe(type === 'DELETED' ? undefined : obj),
        () => void sleep(REWATCH_DELAY_MS).then(startWatch),
      );
      if (closing) watch.abort();
    } catch (error) {
      report(error);
      await sleep(REWATCH_DELAY_MS);
      void startWatch();
    }
  };
  await startWatch();

  const snapshot = (): ReplicaInfo[] =>
    [...replicas.values()]
      .sort((a, b) => a.ordinal - b.ordinal)
      .map((r) => ({
        ordinal: r.ordinal,
        name: r.name,
        address: r.address,
        port,
        phase: r.phase,
        pid: r.process.pid,
        restarts: r.restarts,
      }));

  return {
    replicas: snapshot,
    get desired() {
      return desired;
    },
    async settled(ready, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const now = snapshot();
        if (now.length === ready && now.every((r) => r.phase === 'ready')) {
          await publish.idle();
          return now;
        }
        if (performance.now() > deadline) {
          throw new Error(
            `kubelet: ${ready} ready replicas wanted after ${timeoutMs} ms, have ${JSON.stringify(now)}; errors: ${errors.map(String).join('; ')}`,
          );
        }
        await sleep(PROBE_INTERVAL_MS);
      }
    },
    kill(ordinal) {
      const r = replicas.get(ordinal);
      if (r === undefined) throw new Error(`kubelet: no replica ${ordinal}`);
      // The backend alone dies, as a container's process would; its guard (our "kubelet"
      // side) stays to see the exit and reap it.
      const backends = backendPids(r.process.pid);
      if (backends.length === 0) throw new Error(`kubelet: ${r.name} has no backend process to kill`);
      for (const pid of backends) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          // ESRCH: it went with an earlier pid of the same backend (a wrapper and its child).
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    },
    async stop() {
      if (closing) return;
      closing = true;
      watch?.abort();
      await reconcile.idle();
      await Promise.all([...replicas.values()].map((r) => r.process.stop(2_000)));
      await Promise.all([...terminations]);
      for (const r of replicas.values()) netns.releaseAddress(r.address);
      replicas.clear();
      await publish.kick();
      stopped = true;
      await removeDir(dir);
    },
  };
}
