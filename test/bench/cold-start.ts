// The activator benchmark's cold-start phase against a real API server (called by
// test/bench/activator.bench.ts): first held request → the controller's scale write.
//
// Setup: etcd + kube-apiserver started here (test/env/kube.ts, binaries from ~/.cache/ebb/bin),
// the CRD, and in namespace `bench-cold` K + 1 apps `cold-<i>`: a Deployment at 0 replicas, its
// Service (port 80 `http` → 8080, no endpoint: there is no kubelet) and a ScaledObject with one
// http trigger (host cold-<i>.bench.test, holdTimeout 120 s). The `ebb` child
// (test/activator/bench-processes.ts) runs `ebb activator`'s own wiring, runActivatorController
// from src/cli/activator-with-controller.ts: controller and activator in one process, as the command does. Runs
// start once every app is routed, read at 0 by the controller and polled at least once: the
// steady state of an app asleep at zero (an http object is polled every second; each such poll
// reads 0 and writes nothing).
//
// One run per app (K measured, after one warm-up run that is logged but not counted):
//   t0     the client (this process) writes the request on an already open connection
//   poke   the activator pokes the controller (the child wraps Controller.poke)
//   write  the controller's PATCH of /scale to 1 has been answered by the API server: the
//          child wraps its ScaleTarget.scale (the object the Controller holds) and takes the
//          time as the promise resolves — the same instrumentation as
//          test/integration/activator.test.ts. This is the headline figure
//          (`cold_start_scale_write_p99_ms`): the API server's answer to the PATCH is exactly
//          "the write was accepted" (committed to etcd), with nothing of the bench's after it.
//          ControllerObserver has no scale-write hook (`polled` comes after the status write),
//          hence the wrapper rather than an observer.
//   watch  a Deployment watch in this process receives the MODIFIED event with replicas 1: the
//          write as any other client sees it (plus the watch cache's fan-out and this process's
//          JSON parse); reported beside it as a cross-check (`cold_start_scale_write_watch_p99_ms`).
// Clocks: process.hrtime.bigint() (CLOCK_MONOTONIC) in both processes. The held request is then
// aborted (it is never answered; these requests are not in the other phases' counts).
// K defaults to 100 (`--scale-writes`): with 30 runs the nearest-rank p99 is simply the maximum.
// EBB_BENCH_RUNS=1 logs every run's figures.
// Each run must cost exactly one poke and one scale write (0 → 1, issued after that poke) and
// the other apps none; anything else fails the bench.
//
// Why a fresh app per run rather than patching one Deployment back to 0 between runs: an http
// object is polled every second (src/controller/tracked.ts), and for the concurrency window's
// length after a run (60 s) those polls still see activity and would write 1 again, racing the
// next request; and the activator pokes once per cold start, starting a new one only when the
// Service's endpoints go from ready to none (src/activator/hold-queue.ts), which a Service that
// never gets an endpoint never does. A fresh app asleep at zero is the real cold start.
import { connect, type Socket } from 'node:net';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import type { Child, EbbProbe, StartChild } from '../activator/bench-processes.ts';
import { createHttpApp, createScaledObject, installCrd } from '../controller/cluster.ts';
import { startKube } from '../env/kube.ts';
import { pool, sleep } from './common.ts';

const NS = 'bench-cold';
const TIMEOUT_MS = 30_000;

export interface ScaleWriteRuns {
  /** t0 → the PATCH answered, ms, ascending. */
  readonly write: Float64Array;
  /** t0 → the watch event with replicas 1, ms, ascending. */
  readonly watch: Float64Array;
  /** Parts, ms, ascending: t0 → poke; poke → PATCH sent (the poll); PATCH round trip. */
  readonly poke: Float64Array;
  readonly poll: Float64Array;
  readonly patch: Float64Array;
  /** The warm-up run (not counted): t0 → PATCH answered, ms. */
  readonly warmUpMs: number;
  /** Scale writes and pokes over all runs, warm-up included (each must equal runs + 1). */
  readonly writes: number;
  readonly pokes: number;
}

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;
const sorted = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();
const appName = (i: number): string => `cold-${i}`;

const within = <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cold start: no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
};

/** Probes the child about app `name` every 5 ms until `ok`; fails naming `what` after 30 s. */
const until = async (
  ebb: Child,
  name: string,
  what: string,
  ok: (p: EbbProbe) => boolean,
): Promise<EbbProbe> => {
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    ebb.send({ type: 'probe', name });
    const p = (await ebb.next('probe')).probe;
    if (ok(p)) return p;
    if (performance.now() > deadline)
      throw new Error(`cold start ${name}: ${what} not reached: ${JSON.stringify(p)}`);
    await sleep(5);
  }
};

const createApp = async (kc: KubeConfig, name: string): Promise<void> => {
  await createHttpApp(kc, NS, name);
  await createScaledObject(kc, NS, name, {
    spec: { pollingInterval: 30, cooldownPeriod: 300 },
    triggers: [
      {
        type: 'http',
        metadata: { hosts: `${name}.bench.test`, service: name, port: '80', holdTimeout: '120s' },
      },
    ],
  });
};

/** Names of the ScaledObjects whose first poll is done (it writes the Active condition). */
const polledOnce = async (kc: KubeConfig): Promise<Set<string>> => {
  const list = (await kc
    .makeApiClient(CustomObjectsApi)
    .listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL })) as {
    items: { metadata: { name: string }; status?: { conditions?: { type: string }[] } }[];
  };
  return new Set(
    list.items
      .filter((o) => o.status?.conditions?.some((c) => c.type === 'Active'))
      .map((o) => o.metadata.name),
  );
};

/** Opens a connection to the activator; `answered` holds whatever came back (nothing must). */
const open = (port: number): Promise<{ socket: Socket; answered: () => string }> =>
  new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, answered: () => got }));
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      got += c;
    });
    socket.once('error', reject);
  });

export const coldStartScaleWrites = async (
  start: StartChild,
  k: number,
  log: (msg: string) => void,
): Promise<ScaleWriteRuns> => {
  const kube = await startKube();
  let ebb: Child | undefined;
  let watching: AbortController | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    await installCrd(kc);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
    const names = Array.from({ length: k + 1 }, (_, i) => appName(i));
    await pool(names, 8, (name) => createApp(kc, name));
    ebb = await start('ebb', ['--kubeconfig', kube.kubeconfigPath, '--namespace', NS]);
    const child = ebb;

    // Every change of a Deployment's spec.replicas, with the time its event arrived here.
    const seen = new Map<string, { replicas: number; at: bigint }[]>();
    watching = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      {},
      (_phase, obj: { metadata?: { name?: string }; spec?: { replicas?: number } }) => {
        const at = process.hrtime.bigint();
        const name = obj.metadata?.name ?? '';
        const replicas = obj.spec?.replicas;
        const changes = seen.get(name) ?? [];
        seen.set(name, changes);
        if (typeof replicas === 'number' && changes.at(-1)?.replicas !== replicas)
          changes.push({ replicas, at });
      },
      () => {},
    );
    const watched = async (name: string, replicas: number): Promise<bigint> => {
      const deadline = performance.now() + TIMEOUT_MS;
      for (;;) {
        const hit = seen.get(name)?.find((s) => s.replicas === replicas);
        if (hit !== undefined) return hit.at;
        if (performance.now() > deadline)
          throw new Error(`cold start ${name}: the watch saw no replicas=${replicas}`);
        await sleep(2);
      }
    };

    // Every app routed, read at 0 by the controller, polled at least once; nothing written yet.
    for (const name of names) {
      await until(child, name, 'routed at replicas 0', (p) => p.routed && p.replicas === 0);
      await watched(name, 0);
    }
    const firstPolls = performance.now() + TIMEOUT_MS;
    while ((await polledOnce(kc)).size < names.length) {
      if (performance.now() > firstPolls) throw new Error('cold start: not every ScaledObject was polled');
      await sleep(50);
    }
    await sleep(1500); // a full polling period (1 s for http objects) at 0: all asleep
    const idle = await until(child, appName(0), 'no write yet', () => true);
    if (idle.writes !== 0 || idle.pokes !== 0)
      throw new Error(`cold start: ${idle.writes} scale writes and ${idle.pokes} pokes before any request`);
    log(
      `cold start (real API server ${kube.version}): ebb activator child pid ${child.proc.pid}, ${k} runs + 1 warm-up`,
    );

    const parts: Record<'write' | 'watch' | 'poke' | 'poll' | 'patch', number[]> = {
      write: [],
      watch: [],
      poke: [],
      poll: [],
      patch: [],
    };
    let warmUpMs = Number.NaN;
    for (let run = 0; run <= k; run++) {
      const name = appName(run);
      const client = await open(child.port);
      const t0 = process.hrtime.bigint();
      client.socket.write(`GET /cold HTTP/1.1\r\nHost: ${name}.bench.test\r\n\r\n`);
      const poked = await within(child.next('poked'), 'poke');
      const scaled = await within(child.next('scaled'), 'scale write');
      const watchAt = await watched(name, 1);
      if (poked.key !== `${NS}/${name}` || scaled.target !== name || scaled.replicas !== 1 || !scaled.ok)
        throw new Error(
          `cold start ${name}: poked ${poked.key}, wrote ${scaled.target}=${scaled.replicas} ok ${scaled.ok}`,
        );
      if (scaled.sentAt < poked.at) throw new Error(`cold start ${name}: the write was sent before the poke`);
      if (client.answered() !== '')
        throw new Error(
          `cold start ${name}: answered while it should be held: ${client.answered().slice(0, 120)}`,
        );
      const write = nsToMs(scaled.doneAt - t0);
      if (run === 0) warmUpMs = write;
      else {
        parts.write.push(write);
        parts.watch.push(nsToMs(watchAt - t0));
        parts.poke.push(nsToMs(poked.at - t0));
        parts.poll.push(nsToMs(scaled.sentAt - poked.at));
        parts.patch.push(nsToMs(scaled.doneAt - scaled.sentAt));
      }
      client.socket.destroy();
      const p = await until(child, name, 'no held request', (x) => x.held === 0);
      if (p.writes !== run + 1 || p.pokes !== run + 1)
        throw new Error(
          `cold start: ${p.writes} scale writes and ${p.pokes} pokes after ${run + 1} cold starts`,
        );
    }
    await sleep(1500); // a late second write or poke would show here (every object polls each second)
    const last = await until(child, appName(0), 'the end', () => true);
    if (last.writes !== k + 1 || last.pokes !== k + 1)
      throw new Error(
        `cold start: ${last.writes} scale writes and ${last.pokes} pokes for ${k + 1} cold starts`,
      );
    if (process.env.EBB_BENCH_RUNS !== undefined)
      for (const [key, xs] of Object.entries(parts)) log(`${key}: ${xs.map((x) => x.toFixed(2)).join(' ')}`);
    return {
      write: sorted(parts.write),
      watch: sorted(parts.watch),
      poke: sorted(parts.poke),
      poll: sorted(parts.poll),
      patch: sorted(parts.patch),
      warmUpMs,
      writes: last.writes,
      pokes: last.pokes,
    };
  } finally {
    watching?.abort();
    ebb?.proc.kill();
    await kube.stop();
  }
};
