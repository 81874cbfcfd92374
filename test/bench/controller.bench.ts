// Controller benchmark against a real kube-apiserver + etcd (test/env's startKube, not vitest).
//
//   npm run bench                      1,000 ScaledObjects
//   npm run bench -- --objects 10000   (--duration <s>, --scaler cron|constant, --max-concurrent-polls <n>,
//                                       --polling-interval <s>, --create-concurrency <n>)
//
// N ScaledObjects with one cron trigger each at pollingInterval 1, half with the window open
// (held at 1 replica), half closed (at 0). Each targets its OWN Deployment: two ScaledObjects on
// one target are refused (ScaleTargetInUse), so sharing 50 Deployments would measure refusals,
// not polls. The controller runs in a child process so its CPU and peak RSS are its own, not
// those of the setup that created 2N objects. After a warm-up (every object polled, status
// written, writes settled) it measures for `--duration` seconds:
//   poll lateness (actual poll start − due time) p50/p99/max, CPU seconds per poll
//   (process.cpuUsage), peak RSS, and API writes per minute while nothing changes (the
//   adapter counts every request it makes, by verb).
// `--scaler constant` swaps the cron scaler for one that returns a constant (controller cost
// without cron-parser's).
// Then a hostile neighbour joins: one more ScaledObject (on its own Deployment) with a large
// formula over a trigger whose source never answers (each of its polls ends at the 10 s poll
// deadline); for another `--duration` seconds the healthy objects' lateness is measured again:
// hostile_neighbour_lateness_p99_ms (target < 100 ms). The LAST line printed is one JSON object.
// Issue 15's figures: reconcile_all_s (creation finished → every object's status written, the
// controller started after creation), rss_mb_steady (median RSS while measuring) and
// rss_mb_peak, metrics_bytes_per_object (the /metrics page ÷ objects), polls_per_cpu_second.
// bytes_per_object is the slope of rss_mb_steady between two runs (README, "Sizing").
// Heap: V8 grows the heap lazily during the warm-up's burst of status writes; with a limit
// (`NODE_OPTIONS=--max-old-space-size=288 npm run bench -- --objects 10000`, as a deployment
// would set) peak RSS stays under 400 MB at 10,000 objects; 192 is too tight (GC thrash).
// EBB_BENCH_MEMORY=1 logs RSS and heap at each stage; EBB_BENCH_LOG=info the controller's log.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { createScalerDeps } from '../../scalers/index.ts';
import { renderCrds } from '../../src/api/crd.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { runController } from '../../src/cli/controller-wiring.ts';
import { createLogger, silentLogger } from '../../src/logging.ts';
import { EbbMetrics, ebbBuildInfo } from '../../src/observability/metrics.ts';
import type { Scaler } from '../../src/scaler.ts';
import {
  closedWindow,
  createScaledObject,
  installCrd,
  openWindow,
  scaledObjectManifest,
} from '../controller/cluster.ts';
import { LARGE_FORMULA } from '../controller/fakes.ts';
import { startKube } from '../env/kube.ts';
import { idleDeployment, percentile, pool, round, sleep } from './common.ts';

const NAMESPACE = 'bench';
/** The hostile neighbour, and its trigger (whose source never answers; LARGE_FORMULA reads it). */
const HOSTILE = 'hostile';
const HOSTILE_TRIGGER = 'q';

interface Args {
  objects: number;
  duration: number;
  scaler: 'cron' | 'constant';
  maxConcurrentPolls: number;
  pollingInterval: number;
  createConcurrency: number;
  /** Wall ms when the parent finished creating the objects (the child's reconcile_all_s origin). */
  createdAt: number;
  child: boolean;
  kubeconfig: string;
}

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = {
    objects: 1000,
    duration: 30,
    scaler: 'cron',
    maxConcurrentPolls: 256,
    pollingInterval: 1,
    createConcurrency: 48,
    createdAt: 0,
    child: false,
    kubeconfig: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--objects') args.objects = Number(value);
    else if (flag === '--duration') args.duration = Number(value);
    else if (flag === '--scaler') args.scaler = value === 'constant' ? 'constant' : 'cron';
    else if (flag === '--max-concurrent-polls') args.maxConcurrentPolls = Number(value);
    else if (flag === '--kubeconfig') args.kubeconfig = value;
    else if (flag === '--polling-interval') args.pollingInterval = Number(value);
    else if (flag === '--create-concurrency') args.createConcurrency = Number(value);
    else if (flag === '--created-at') args.createdAt = Number(value);
    else if (flag === '--child') {
      args.child = true;
      continue;
    } else continue;
    i++;
  }
  if (!Number.isInteger(args.objects) || args.objects < 1)
    throw new Error('--objects must be a whole number >= 1');
  if (!(args.duration > 0)) throw new Error('--duration must be > 0');
  if (!Number.isInteger(args.pollingInterval) || args.pollingInterval < 1)
    throw new Error('--polling-interval must be a whole number of seconds >= 1');
  if (!Number.isInteger(args.createConcurrency) || args.createConcurrency < 1)
    throw new Error('--create-concurrency must be a whole number >= 1');
  return args;
};

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** A Deployment at 0 replicas named `name` (each ScaledObject needs its own target). */
const createDeployment = (apps: AppsV1Api, name: string) =>
  apps.createNamespacedDeployment({ namespace: NAMESPACE, body: idleDeployment(name) });

const createObjects = async (kc: KubeConfig, args: Args): Promise<void> => {
  const n = args.objects;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const names = Array.from({ length: n }, (_, i) => `app-${String(i).padStart(5, '0')}`);
  const started = performance.now();
  await pool(names, args.createConcurrency, async (name) => {
    await createDeployment(apps, name);
  });
  log(`${n} Deployments in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const t = performance.now();
  await pool(names, args.createConcurrency, async (name) => {
    const open = Number(name.slice(4)) % 2 === 0;
    const body = scaledObjectManifest(NAMESPACE, name, {
      triggers: [{ type: 'cron', metadata: open ? openWindow(1) : closedWindow(1) }],
      spec: { pollingInterval: args.pollingInterval },
    });
    await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: PLURAL,
      body,
    });
  });
  log(`${n} ScaledObjects in ${((performance.now() - t) / 1000).toFixed(1)} s`);
};

const installOtherCrds = async (kc: KubeConfig): Promise<void> => {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of loadAllYaml(renderCrds()) as V1CustomResourceDefinition[]) {
    if (crd.spec.names.plural === PLURAL) continue;
    await ext.createCustomResourceDefinition({ body: crd });
  }
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (const plural of ['triggerauthentications', 'clustertriggerauthentications']) {
    for (let tries = 0; ; tries++) {
      try {
        await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural, limit: 1 });
        break;
      } catch (err) {
        if (tries > 100) throw err;
        await sleep(100);
      }
    }
  }
};

/** EBB_BENCH_MEMORY=1: RSS split (anon/file) and V8 heap after a full GC, at each stage. */
const memoryReport = async (stage: string): Promise<void> => {
  if (process.env.EBB_BENCH_MEMORY === undefined) return;
  (globalThis as { gc?: () => void }).gc?.();
  const { readFileSync } = await import('node:fs');
  const status = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .filter((l) => /^(VmRSS|VmHWM|RssAnon|RssFile)/.test(l))
    .map((l) => l.replace(/\s+/g, ' '))
    .join(', ');
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round(x / 1048576);
  log(
    `memory ${stage}: ${status}; heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`,
  );
};

/** The hostile neighbour's source: never answers, ignores the abort. */
const silentScaler = (metric: Scaler['metric']): Scaler => ({
  metric,
  read: () => new Promise(() => {}),
  close: async () => {},
});

/** The controller side, in its own process: prints one JSON line of measurements. */
const child = async (args: Args): Promise<void> => {
  const lateness: number[] = [];
  /** Healthy objects' lateness while the hostile neighbour is there. */
  const neighbourLateness: number[] = [];
  let hostilePolls = 0;
  let measuring = false;
  let measuringNeighbour = false;
  const hostileKey = `${NAMESPACE}/${HOSTILE}`;
  const scalerDeps = createScalerDeps();
  const metrics = new EbbMetrics(ebbBuildInfo());
  const running = await runController({
    metrics,
    kubeconfig: args.kubeconfig,
    namespace: NAMESPACE,
    // EBB_BENCH_LOG=info (or warn, debug) shows the controller's own log on stdout.
    log:
      process.env.EBB_BENCH_LOG === undefined
        ? silentLogger
        : createLogger({ level: process.env.EBB_BENCH_LOG }),
    maxConcurrentPolls: args.maxConcurrentPolls,
    onPollStart: (key, late) => {
      if (measuring) lateness.push(late);
      if (!measuringNeighbour) return;
      if (key === hostileKey) hostilePolls++;
      else neighbourLateness.push(late);
    },
    createScaler: (resolved) => {
      if (resolved.trigger.name === HOSTILE_TRIGGER) return silentScaler(resolved.metric);
      if (args.scaler !== 'constant') return resolved.create(scalerDeps);
      return {
        metric: resolved.metric,
        read: async () => ({ ok: true, value: { value: 0, active: false } }),
        close: async () => {},
      };
    },
  });
  const controller = running.controller();
  if (controller === undefined) throw new Error('no controller');
  await memoryReport('after the ScaledObject list');
  const client = running.platform.client;
  const source = running.platform.source;
  /** Objects whose status ebb has written (a Ready condition), as the informer's cache has them. */
  const withStatus = (): number => {
    let n = 0;
    for (const key of source.keys()) {
      const status = (source.get(key) as { status?: { conditions?: unknown[] } } | undefined)?.status;
      if ((status?.conditions?.length ?? 0) > 0) n++;
    }
    return n;
  };
  let reconciledAt = Number.NaN;
  const reconcileWatch = setInterval(() => {
    if (withStatus() < args.objects) return;
    reconciledAt = Date.now();
    clearInterval(reconcileWatch);
  }, 500);

  // Warm-up: every object scheduled and polled, then writes settled for 3 s.
  const warm = performance.now();
  const progress = setInterval(() => {
    const verbs = [...client.requests].map(([v, n]) => `${v}=${n}`).join(' ');
    const m = process.memoryUsage();
    const mb = (x: number) => Math.round(x / 1048576);
    log(
      `polling ${controller.polling}, queued ${controller.pending}, polls ${controller.stats.polls}, requests ${verbs}, ` +
        `rss ${mb(m.rss)} MB heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB external ${mb(m.external)} MB buffers ${mb(m.arrayBuffers)} MB`,
    );
  }, 5000);
  while (controller.polling < args.objects || controller.pending > 0 || Number.isNaN(reconciledAt))
    await sleep(200);
  let quietSince = performance.now();
  let lastWrites = client.writes();
  while (performance.now() - quietSince < 3000 && performance.now() - warm < 300_000) {
    await sleep(250);
    const w = client.writes();
    if (w !== lastWrites) {
      lastWrites = w;
      quietSince = performance.now();
    }
  }
  clearInterval(progress);
  await memoryReport('after warm-up');
  log(`warm-up ${((performance.now() - warm) / 1000).toFixed(1)} s (${client.writes()} writes)`);

  const cpu0 = process.cpuUsage();
  const polls0 = controller.stats.polls;
  const writes0 = client.writes();
  const gets0 = client.requests.get('GET') ?? 0;
  const watches0 = client.requests.get('WATCH') ?? 0;
  const t0 = performance.now();
  measuring = true;
  const rssSamples: number[] = [];
  const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss), 1000);
  await sleep(args.duration * 1000);
  clearInterval(sampler);
  measuring = false;
  const metricsPage = Buffer.byteLength(await metrics.registry.metrics());
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const polls = controller.stats.polls - polls0;
  const writes = client.writes() - writes0;
  const gets = (client.requests.get('GET') ?? 0) - gets0;
  const watches = (client.requests.get('WATCH') ?? 0) - watches0;
  const sorted = Float64Array.from(lateness).sort();
  await memoryReport('after measuring');

  // The hostile neighbour joins; once it has been polled, the healthy objects are measured again.
  const kc = new KubeConfig();
  kc.loadFromFile(args.kubeconfig);
  await createDeployment(kc.makeApiClient(AppsV1Api), HOSTILE);
  await createScaledObject(kc, NAMESPACE, HOSTILE, {
    triggers: [{ type: 'cron', name: HOSTILE_TRIGGER, metadata: openWindow(1) }],
    spec: { advanced: { scalingModifiers: { formula: LARGE_FORMULA, target: '5' } } },
  });
  const joined = performance.now();
  while (controller.polling < args.objects + 1 && performance.now() - joined < 60_000) await sleep(100);
  if (controller.polling < args.objects + 1) log('the hostile neighbour was not admitted; see its status');
  await sleep(2000);
  log(`hostile neighbour ${hostileKey} polling; measuring ${args.duration} s`);
  measuringNeighbour = true;
  await sleep(args.duration * 1000);
  measuringNeighbour = false;
  const neighbour = Float64Array.from(neighbourLateness).sort();

  // Read before a heap snapshot, which itself needs about the heap's size again.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  if (process.env.EBB_BENCH_HEAPSNAPSHOT !== undefined) {
    const { writeHeapSnapshot } = await import('node:v8');
    log(`heap snapshot: ${writeHeapSnapshot(process.env.EBB_BENCH_HEAPSNAPSHOT)}`);
  }
  const result = {
    objects: args.objects,
    scaler: args.scaler,
    duration_s: round(seconds, 1),
    polls,
    polls_per_s: round(polls / seconds, 1),
    poll_lateness_p50_ms: round(percentile(sorted, 50)),
    poll_lateness_p99_ms: round(percentile(sorted, 99)),
    poll_lateness_max_ms: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN)),
    polling_interval_s: args.pollingInterval,
    reconcile_all_s: round((reconciledAt - args.createdAt) / 1000, 1),
    cpu_seconds_per_poll: Number(((cpu.user + cpu.system) / 1e6 / Math.max(polls, 1)).toPrecision(3)),
    polls_per_cpu_second: Math.round(polls / ((cpu.user + cpu.system) / 1e6)),
    cpu_cores_used: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
    rss_mb_steady: round(percentile(Float64Array.from(rssSamples).sort(), 50) / 1048576, 1),
    rss_mb_peak: round(peakRss / 1048576, 1),
    metrics_bytes_per_object: Math.round(metricsPage / args.objects),
    metrics_page_bytes: metricsPage,
    idle_api_writes_per_min: round((writes / seconds) * 60, 1),
    idle_api_gets_per_min: round((gets / seconds) * 60, 1),
    idle_watches_opened_per_min: round((watches / seconds) * 60, 1),
    hostile_neighbour_lateness_p99_ms: round(percentile(neighbour, 99)),
    hostile_neighbour_lateness_max_ms: round(neighbour[neighbour.length - 1] ?? Number.NaN),
    hostile_neighbour_polls: hostilePolls,
  };
  await running.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

const parent = async (args: Args): Promise<void> => {
  const kube = await startKube();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    await installCrd(kc);
    // The (Cluster)TriggerAuthentication CRDs too, as `ebb crds` and the chart install them:
    // without them ebb's informers for both get 404 and retry every 30 s (idle GETs).
    await installOtherCrds(kc);
    const creating = performance.now();
    await createObjects(kc, args);
    log(`created in ${((performance.now() - creating) / 1000).toFixed(1)} s`);
    const createdAt = Date.now();
    const self = fileURLToPath(import.meta.url);
    const childArgs = [
      ...(process.env.EBB_BENCH_MEMORY === undefined ? [] : ['--expose-gc']),
      '--import',
      'tsx',
      self,
      '--child',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--objects',
      String(args.objects),
      '--duration',
      String(args.duration),
      '--scaler',
      args.scaler,
      '--max-concurrent-polls',
      String(args.maxConcurrentPolls),
      '--polling-interval',
      String(args.pollingInterval),
      '--created-at',
      String(createdAt),
    ];
    log(
      `controller: ${args.objects} objects, pollingInterval ${args.pollingInterval} s, measuring ${args.duration} s after warm-up`,
    );
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`controller exited with ${code}`)),
      );
    });
    // The controller's own log (EBB_BENCH_LOG) to stderr; its last line is the result.
    const lines = out.trim().split('\n');
    const line = lines.pop() ?? '{}';
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
    process.stdout.write(
      `${JSON.stringify({ ...JSON.parse(line), targets: 'one Deployment per ScaledObject' })}\n`,
    );
  } finally {
    await kube.stop();
  }
};

const args = parseArgs(process.argv.slice(2));
await (args.child ? child(args) : parent(args));
